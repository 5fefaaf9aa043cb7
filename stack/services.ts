// Runs one of our Node services as a child process on a port chosen up front, so restarts come back on the same URL.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ManagedProcess, ProcessOwner } from './processes.ts';
import { freePort, waitForHttp } from './ports.ts';
import { startAlone } from './start-gate.ts';

export type ServiceName = 'fake-alpaca' | 'market-data' | 'signal-service' | 'execution-gateway' | 'orchestrator';

export const SERVICE_NAMES: readonly ServiceName[] = ['fake-alpaca', 'market-data', 'signal-service', 'execution-gateway', 'orchestrator'];

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ServiceHandle {
  name: ServiceName;
  url: string;
  /** fake-alpaca only: its fault admin API (and its own /metrics). */
  adminUrl?: string;
  process: ManagedProcess;
  /** SIGTERM (graceful shutdown), SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** Starts it again with the same env and port(s); resolves when /health answers. */
  start(): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Resolves once the server is stopped and can answer nothing (see ManagedProcess.pause). */
  pause(): Promise<void>;
  /** Resolves once the server runs again. */
  resume(): Promise<void>;
}

export interface ServiceOptions {
  name: ServiceName;
  /** Service-specific env (DATABASE_URL, ...); HOST, PORT (and ADMIN_PORT for fake-alpaca) are set here. */
  env: Record<string, string>;
  host?: string;
  timeoutMs?: number;
}

interface Listening {
  url: string;
  adminUrl?: string;
}

export async function startService(owner: ProcessOwner, opts: ServiceOptions): Promise<ServiceHandle> {
  const host = opts.host ?? '127.0.0.1';
  const port = await freePort(host);
  const adminPort = opts.name === 'fake-alpaca' ? await freePort(host) : undefined;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'info',
    ...opts.env,
    HOST: host,
    PORT: String(port),
    ...(adminPort === undefined ? {} : { ADMIN_PORT: String(adminPort) }),
  };
  const spec = {
    name: opts.name,
    command: process.execPath,
    args: ['--import', 'tsx', path.join('services', opts.name, 'main.ts')],
    cwd: ROOT,
    env,
  };
  let proc!: ManagedProcess;
  let listening!: Listening;
  const launch = async (): Promise<void> => {
    // Loading the service is the CPU-heavy part; once it listens, the next start in the queue may begin.
    listening = await startAlone(() => {
      proc = owner.spawn(spec);
      return waitForListening(proc, opts.name, opts.timeoutMs ?? 30_000);
    });
    // fake-alpaca's main listener wants broker credentials on every path; its /health lives on the admin listener.
    await waitForHttp(`${listening.adminUrl ?? listening.url}/health`, {
      what: opts.name,
      isAlive: () => proc.running,
      describe: () => proc.tail(),
      timeoutMs: opts.timeoutMs,
    });
  };
  await launch();
  return {
    name: opts.name,
    get url() {
      return listening.url;
    },
    get adminUrl() {
      return listening.adminUrl;
    },
    get process() {
      return proc;
    },
    stop: () => proc.stop(),
    async start() {
      if (proc.running) return;
      await launch();
    },
    kill: () => proc.kill(),
    pause: () => proc.pause(),
    resume: () => proc.resume(),
  };
}

/** Waits for the one JSON line services/kit/main.ts prints: {"msg":"listening","service","url",...}. */
export function waitForListening(proc: ManagedProcess, name: string, timeoutMs: number): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const finish = (err: Error | undefined, value?: Listening): void => {
      clearTimeout(timer);
      unsubscribe();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(
      () => finish(new Error(`${name} printed no {"msg":"listening"} line within ${timeoutMs} ms; its log tail:\n${proc.tail()}`)),
      timeoutMs,
    );
    const unsubscribe = proc.onLine((line) => {
      if (!line.startsWith('{') || !line.includes('"listening"')) return;
      try {
        const parsed = JSON.parse(line) as { msg?: unknown; url?: unknown; adminUrl?: unknown };
        if (parsed.msg !== 'listening' || typeof parsed.url !== 'string') return;
        finish(undefined, { url: parsed.url, ...(typeof parsed.adminUrl === 'string' ? { adminUrl: parsed.adminUrl } : {}) });
      } catch {
        // A log line that merely mentions "listening" is not the announcement.
      }
    });
    void proc.exited().then((code) => {
      finish(new Error(`${name} exited with code ${code} before listening; its log tail:\n${proc.tail()}`));
    });
  });
}
