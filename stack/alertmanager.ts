// Ephemeral Alertmanager 0.25: temp storage, clustering off, loopback port chosen up front (kept across restarts).
import type { ProcessOwner } from './processes.ts';
import { startHttpDaemon, type HttpDaemonHandle, type HttpDaemonOptions } from './http-daemon.ts';

export interface AlertmanagerHandle extends HttpDaemonHandle {
  /** Re-reads the config; rejects with Alertmanager's own error when it is invalid. */
  reload(): Promise<void>;
  /** Starts it again on the same port and storage dir (silences and notification log survive). */
  start(): Promise<void>;
}

export interface AlertmanagerOptions extends HttpDaemonOptions {
  /** Chosen by the caller when Prometheus' config must name it before Alertmanager starts. */
  port?: number;
}

export function startAlertmanager(owner: ProcessOwner, opts: AlertmanagerOptions): Promise<AlertmanagerHandle> {
  return startHttpDaemon(owner, {
    ...opts,
    what: 'alertmanager',
    command: 'prometheus-alertmanager',
    args: ({ dataDir, listenAddress }) => [
      `--config.file=${opts.configFile}`,
      `--storage.path=${dataDir}`,
      `--web.listen-address=${listenAddress}`,
      // An empty cluster address disables gossip: no extra port, no waiting for peers before notifying.
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
  });
}
