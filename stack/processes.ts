// Owns every child process and temp dir the stack starts; a reaper process cleans up even if we are SIGKILLed.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** How long a clean stop waits for the reaper to exit (it has nothing left to kill or remove by then). */
const REAPER_EXIT_WAIT_MS = 5000;
const REAPER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'reaper.sh');
const TAIL_LINES = 40;
/** How long pause() and resume() wait for the whole process group to reach the wanted state. */
const SETTLE_TIMEOUT_MS = 5000;
const SETTLE_POLL_MS = 2;

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
  private readonly exitListeners = new Set<(code: number, stopped: boolean) => void>();
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
    // The log is closed once the child and every holder of its stdout and stderr are gone ('close'), never at 'exit':
    // output still buffered then, or printed later by a process the child left behind in its group, would be written
    // to a closed descriptor (EBADF, which crashed a mutation run) or to whatever file reused its number.
    let logOpen = true;
    const closeLog = (): void => {
      if (!logOpen) return;
      logOpen = false;
      fs.closeSync(log);
    };
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
        if (logOpen) fs.writeSync(log, chunk);
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
        closeLog();
        resolve(-1);
      });
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : -1);
        if (child.pid !== undefined) this.owner.unregisterGroup(child.pid);
        for (const listener of this.exitListeners) listener(this.exitCode, this.stopping);
        resolve(this.exitCode);
      });
      child.once('close', closeLog);
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

  /** Calls listener at every exit of the process (each start is a new child): stopped = stop() or kill() asked for it. */
  onExit(listener: (code: number, stopped: boolean) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
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

  /**
   * SIGSTOPs the group; resolves once every thread of every process in it is stopped. kill(2) returns before the
   * threads have entered the group stop (measured up to 13 ms later for Alertmanager), and a request sent in that
   * window is still served.
   */
  async pause(): Promise<void> {
    await this.signalAndSettle('SIGSTOP', 'stopped');
  }

  /** SIGCONTs the group; resolves once no thread in it is stopped any more. */
  async resume(): Promise<void> {
    await this.signalAndSettle('SIGCONT', 'running');
  }

  private async signalAndSettle(sig: NodeJS.Signals, want: 'stopped' | 'running'): Promise<void> {
    const pgid = this.child?.pid;
    if (pgid === undefined || !this.running) return;
    this.signal(sig);
    await settleThreads(pgid, { group: true, want, after: sig, what: this.spec.name, alive: () => this.running });
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

/**
 * Resolves once every thread of the process (or of every process in its group) is stopped, or once none is
 * ('running'). kill(2) returns before the threads have entered the group stop, and a request sent in that window is
 * still served. An exited process has nothing left to stop or continue.
 */
export async function settleThreads(
  pid: number,
  opts: { group: boolean; want: 'stopped' | 'running'; after: string; what: string; alive?: () => boolean },
): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const threads = opts.group ? groupThreads(pid) : processThreads(pid);
    const behind = threads.filter((t) => (opts.want === 'stopped' ? !STOPPED_OR_DEAD.has(t.state) : t.state === 'T'));
    if (behind.length === 0 || opts.alive?.() === false) return;
    if (Date.now() >= deadline) {
      const list = behind.map((t) => `${t.pid}/${t.tid} state ${t.state}`).join(', ');
      throw new Error(
        `${opts.what} (${opts.group ? 'process group' : 'pid'} ${pid}) not ${opts.want} ${SETTLE_TIMEOUT_MS} ms after ${opts.after}; threads behind: ${list}; ` +
          `is a thread stuck in uninterruptible I/O (state D) or the process traced?`,
      );
    }
    await sleep(SETTLE_POLL_MS);
  }
}

/** Every thread of one process. */
function processThreads(pid: number): ThreadState[] {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // exited
  }
  return tids.flatMap((tid) => {
    const t = readStat(`/proc/${pid}/task/${tid}/stat`);
    return t === undefined ? [] : [{ pid, tid: Number(tid), state: t.state }];
  });
}

/** Thread states from /proc/<pid>/task/<tid>/stat that can serve nothing: stopped, zombie, dead. */
const STOPPED_OR_DEAD = new Set(['T', 'Z', 'X']);

interface ThreadState {
  pid: number;
  tid: number;
  state: string;
}

/** Every thread of every process in process group pgid, read from /proc (children may have been reparented, so all of /proc is scanned). */
function groupThreads(pgid: number): ThreadState[] {
  const threads: ThreadState[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(`/proc/${entry}/stat`);
    if (stat === undefined || stat.pgrp !== pgid) continue;
    let tids: string[];
    try {
      tids = fs.readdirSync(`/proc/${entry}/task`);
    } catch {
      continue; // exited while we looked
    }
    for (const tid of tids) {
      const t = readStat(`/proc/${entry}/task/${tid}/stat`);
      if (t !== undefined) threads.push({ pid: Number(entry), tid: Number(tid), state: t.state });
    }
  }
  return threads;
}

/** State and process group from a /proc stat line ("pid (comm) state ppid pgrp ..."); comm may hold spaces and parentheses. */
function readStat(file: string): { state: string; pgrp: number } | undefined {
  let line: string;
  try {
    line = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined; // exited while we looked
  }
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, pgrp: Number(fields[2]) };
}

export class ProcessOwner {
  private readonly reaper: ChildProcess;
  private readonly processes: ManagedProcess[] = [];
  private readonly dirs = new Set<string>();
  /** The stop in progress or done (stopAll). */
  private stopping: Promise<void> | undefined;
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
    if (opts.handleSignals !== false) signalled.add(this);
    installSignalHandlers();
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
    if (this.stopping) throw new Error('process owner already stopped');
    const proc = new ManagedProcess(this, spec, path.join(this.runDir, `${spec.name}.log`));
    this.processes.push(proc);
    proc.start();
    this.onSpawn?.(proc);
    return proc;
  }

  get reaperPid(): number | undefined {
    return this.reaper.pid;
  }

  /**
   * Stops every process (newest first), removes temp dirs, and lets the reaper exit; a second call (a Ctrl-C during a
   * stop) waits for the stop already running.
   */
  stopAll(): Promise<void> {
    this.stopping ??= this.stopEverything();
    return this.stopping;
  }

  private async stopEverything(): Promise<void> {
    signalled.delete(this);
    if (signalled.size === 0) uninstallSignalHandlers();
    for (const proc of [...this.processes].reverse()) await proc.stop();
    for (const dir of this.dirs) {
      fs.rmSync(dir, { recursive: true, force: true });
      this.send(`undir ${dir}`);
    }
    // A clean stop leaves the reaper nothing to do; waiting for it to exit means nothing of ours outlives stopAll
    // (on a loaded machine its last `rm -rf` of an already-removed dir could otherwise still be running).
    const reaperGone = this.reaper.exitCode !== null || this.reaper.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => this.reaper.once('exit', () => resolve()));
    this.reaper.stdin?.end();
    // The timer keeps the event loop alive while we wait (the reaper itself is unref'd), and goes once it has exited.
    const waited = new AbortController();
    await Promise.race([reaperGone, sleep(REAPER_EXIT_WAIT_MS, undefined, { signal: waited.signal }).catch(() => undefined)]);
    waited.abort();
  }
}

/**
 * Owners that stop on Ctrl-C or SIGTERM. One handler for all of them: several owners live at once (the stacks of a
 * sharded run), and the process may exit only after every one has stopped, not after the first.
 */
const signalled = new Set<ProcessOwner>();
const onSignal = (sig: NodeJS.Signals): void => {
  void Promise.allSettled([...signalled].map((o) => o.stopAll())).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
};

function installSignalHandlers(): void {
  if (signalled.size === 0 || process.listeners('SIGINT').includes(onSignal)) return;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function uninstallSignalHandlers(): void {
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}
