// Ephemeral Alertmanager 0.25: temp storage, clustering off, loopback port chosen up front (kept across restarts).
import type { ManagedProcess, ProcessOwner } from './processes.ts';
import { freePort, waitForHttp } from './ports.ts';
import { postReload } from './prometheus.ts';

export interface AlertmanagerHandle {
  host: string;
  port: number;
  url: string;
  configFile: string;
  process: ManagedProcess;
  /** Re-reads the config; rejects with Alertmanager's own error when it is invalid. */
  reload(): Promise<void>;
  stop(): Promise<void>;
  /** Starts it again on the same port and storage dir (silences and notification log survive). */
  start(): Promise<void>;
  pause(): void;
  resume(): void;
}

export interface AlertmanagerOptions {
  /** A rendered config (see render.ts). */
  configFile: string;
  host?: string;
  /** Chosen by the caller when Prometheus' config must name it before Alertmanager starts. */
  port?: number;
  timeoutMs?: number;
}

export async function startAlertmanager(owner: ProcessOwner, opts: AlertmanagerOptions): Promise<AlertmanagerHandle> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  const dataDir = owner.tempDir('alertmanager-data');
  const url = `http://${host}:${port}`;
  const args = [
    `--config.file=${opts.configFile}`,
    `--storage.path=${dataDir}`,
    `--web.listen-address=${host}:${port}`,
    // An empty cluster address disables gossip: no extra port, no waiting for peers before notifying.
    '--cluster.listen-address=',
    '--log.level=warn',
  ];
  const spawnIt = (): ManagedProcess => owner.spawn({ name: `alertmanager-${port}`, command: 'prometheus-alertmanager', args });
  let proc = spawnIt();
  const ready = (): Promise<void> =>
    waitForHttp(`${url}/-/ready`, { what: 'alertmanager', isAlive: () => proc.running, describe: () => proc.tail(), timeoutMs: opts.timeoutMs });
  await ready();
  return {
    host,
    port,
    url,
    configFile: opts.configFile,
    get process() {
      return proc;
    },
    reload: () => postReload('alertmanager', url, opts.configFile),
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
