// Runs a Prometheus-style daemon (Prometheus, Alertmanager): temp data dir, loopback port chosen up front (kept across restarts), /-/ready and /-/reload.
import type { ManagedProcess, ProcessOwner } from './processes.ts';
import { freePort, waitForHttp } from './ports.ts';

export interface HttpDaemonHandle {
  host: string;
  port: number;
  url: string;
  configFile: string;
  process: ManagedProcess;
  /** Re-reads the config; rejects with the daemon's own error when it is invalid. */
  reload(): Promise<void>;
  stop(): Promise<void>;
  /** Starts it again on the same port and data dir. */
  start(): Promise<void>;
  /** Resolves once the server is stopped and can answer nothing (see ManagedProcess.pause). */
  pause(): Promise<void>;
  /** Resolves once the server runs again. */
  resume(): Promise<void>;
}

export interface HttpDaemonOptions {
  /** A rendered config (see render.ts). */
  configFile: string;
  host?: string;
  /** Chosen by the caller when the port must be known before start. */
  port?: number;
  timeoutMs?: number;
}

export interface HttpDaemonSpec extends HttpDaemonOptions {
  /** Names the process, its data dir and its errors. */
  what: string;
  /** A data dir prepared by the caller (e.g. backfilled blocks); default a fresh temp dir of the owner. */
  dataDir?: string;
  command: string;
  /** The full command line; the data dir and listen address are only known here. */
  args(where: { dataDir: string; listenAddress: string }): string[];
}

export async function startHttpDaemon(owner: ProcessOwner, spec: HttpDaemonSpec): Promise<HttpDaemonHandle> {
  const host = spec.host ?? '127.0.0.1';
  const port = spec.port ?? (await freePort(host));
  const dataDir = spec.dataDir ?? owner.tempDir(`${spec.what}-data`);
  const url = `http://${host}:${port}`;
  const args = spec.args({ dataDir, listenAddress: `${host}:${port}` });
  const spawnIt = (): ManagedProcess => owner.spawn({ name: `${spec.what}-${port}`, command: spec.command, args });
  let proc = spawnIt();
  const ready = (): Promise<void> =>
    waitForHttp(`${url}/-/ready`, { what: spec.what, isAlive: () => proc.running, describe: () => proc.tail(), timeoutMs: spec.timeoutMs });
  await ready();
  return {
    host,
    port,
    url,
    configFile: spec.configFile,
    get process() {
      return proc;
    },
    reload: () => postReload(spec.what, url, spec.configFile),
    stop: () => proc.stop(),
    async start() {
      if (proc.running) return;
      proc = spawnIt();
      await ready();
    },
    pause: () => proc.pause(),
    resume: () => proc.resume(),
  };
}

/** POST /-/reload, shared by Prometheus and Alertmanager (both answer 200, or 500 with the parse error). */
export async function postReload(what: string, url: string, configFile: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${url}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new Error(`${what} reload failed: ${url} not reachable (${err instanceof Error ? err.message : String(err)}); is it running or paused?`);
  }
  const body = (await res.text()).trim();
  if (!res.ok) throw new Error(`${what} rejected the reloaded config ${configFile} (HTTP ${res.status}): ${body}; fix the file and reload again`);
}
