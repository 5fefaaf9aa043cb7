// Owns every child process and temp dir the stack starts; a reaper process cleans up even if we are SIGKILLed.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const REAPER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'reaper.sh');
const TAIL_LINES = 40;

export interface SpawnSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
}

export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exitPromise: Promise<number | null> = Promise.resolve(null);
  private readonly tailLines: string[] = [];
  private readonly lineListeners = new Set<(line: string) => void>();
  private stopping = false;
  exitCode: number | null = null;

  constructor(
    private readonly owner: ProcessOwner,
    readonly spec: SpawnSpec,
    private readonly logFile: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitCode === null && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) throw new Error(`${this.spec.name} is already running (pid ${this.pid})`);
    const log = fs.openSync(this.logFile, 'a');
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: this.spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      uid: this.spec.uid,
      gid: this.spec.gid,
    });
    this.child = child;
    this.exitCode = null;
    this.stopping = false;
    // One partial-line buffer per stream: a chunk boundary may split a line (e.g. a JSON "listening" line).
    const lineReader = (): ((chunk: Buffer) => void) => {
      let partial = '';
      return (chunk) => {
        fs.writeSync(log, chunk);
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) this.addLine(line);
      };
    };
    child.stdout?.on('data', lineReader());
    child.stderr?.on('data', lineReader());
    if (child.pid !== undefined) this.owner.registerGroup(child.pid);
    this.exitPromise = new Promise((resolve) => {
      child.once('error', (err) => {
        this.tailLines.push(`spawn error: ${err.message}`);
        this.exitCode = -1;
        fs.closeSync(log);
        resolve(-1);
      });
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : -1);
        if (child.pid !== undefined) this.owner.unregisterGroup(child.pid);
        // stdout/stderr may still hold buffered output; close the log after they end.
        setImmediate(() => fs.closeSync(log));
        resolve(this.exitCode);
      });
    });
  }

  private addLine(line: string): void {
    if (line.trim() === '') return;
    this.tailLines.push(line);
    if (this.tailLines.length > TAIL_LINES) this.tailLines.shift();
    for (const listener of this.lineListeners) listener(line);
  }

  /** Calls listener with every complete line the process prints from now on; returns the unsubscribe function. */
  onLine(listener: (line: string) => void): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  /** Last lines the process printed, for error messages. */
  tail(): string {
    return this.tailLines.join('\n');
  }

  /** Resolves with the exit code once the process has exited. */
  exited(): Promise<number | null> {
    return this.exitPromise;
  }

  get wasStopped(): boolean {
    return this.stopping;
  }

  signal(sig: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined || !this.running) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // The group is already gone.
    }
  }

  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  /** SIGTERM the process group, SIGKILL after timeoutMs; resolves once it has exited. */
  async stop(timeoutMs = 5000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.signal('SIGCONT');
    this.signal(signal);
    const killer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    await this.exitPromise;
    clearTimeout(killer);
  }

  /** SIGKILL, as a crash would. */
  async kill(): Promise<void> {
    await this.stop(0, 'SIGKILL');
  }
}

export class ProcessOwner {
  private readonly reaper: ChildProcess;
  private readonly processes: ManagedProcess[] = [];
  private readonly dirs = new Set<string>();
  private stopped = false;
  private readonly signalHandler = (sig: NodeJS.Signals): void => {
    void this.stopAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  readonly runDir: string;

  private readonly onSpawn: ((proc: ManagedProcess) => void) | undefined;

  /** onSpawn sees every process right after it started (its group is already registered with the reaper). */
  constructor(opts: { keepLogs?: boolean; handleSignals?: boolean; onSpawn?: (proc: ManagedProcess) => void } = {}) {
    this.onSpawn = opts.onSpawn;
    this.reaper = spawn('bash', [REAPER], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    this.reaper.unref();
    (this.reaper.stdin as Socket | null)?.unref();
    this.runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-'));
    fs.chmodSync(this.runDir, 0o755);
    if (!opts.keepLogs) this.registerDir(this.runDir);
    if (opts.handleSignals !== false) {
      process.on('SIGINT', this.signalHandler);
      process.on('SIGTERM', this.signalHandler);
    }
  }

  private send(line: string): void {
    this.reaper.stdin?.write(`${line}\n`);
  }

  registerGroup(pgid: number): void {
    this.send(`pgid ${pgid}`);
  }

  unregisterGroup(pgid: number): void {
    this.send(`unpgid ${pgid}`);
  }

  registerDir(dir: string): void {
    this.dirs.add(dir);
    this.send(`dir ${dir}`);
  }

  /** A fresh directory under this run's folder, removed on stop. */
  tempDir(name: string): string {
    const dir = fs.mkdtempSync(path.join(this.runDir, `${name}-`));
    return dir;
  }

  spawn(spec: SpawnSpec): ManagedProcess {
    if (this.stopped) throw new Error('process owner already stopped');
    const proc = new ManagedProcess(this, spec, path.join(this.runDir, `${spec.name}.log`));
    this.processes.push(proc);
    proc.start();
    this.onSpawn?.(proc);
    return proc;
  }

  get reaperPid(): number | undefined {
    return this.reaper.pid;
  }

  /** Stops every process (newest first), removes temp dirs, and lets the reaper exit. Safe to call twice. */
  async stopAll(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    process.off('SIGINT', this.signalHandler);
    process.off('SIGTERM', this.signalHandler);
    for (const proc of [...this.processes].reverse()) await proc.stop();
    for (const dir of this.dirs) fs.rmSync(dir, { recursive: true, force: true });
    this.reaper.stdin?.end();
  }
}
