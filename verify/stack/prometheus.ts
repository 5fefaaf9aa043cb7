// Ephemeral Prometheus 2.42: temp TSDB, loopback port chosen up front (kept across restarts), lifecycle API for reloads.
import type { ManagedProcess, ProcessOwner } from './processes.ts';
import { freePort, waitForHttp } from './ports.ts';

export interface PrometheusHandle {
  host: string;
  port: number;
  url: string;
  configFile: string;
  process: ManagedProcess;
  /** Re-reads the config and rule files; rejects with Prometheus' own error when they are invalid. */
  reload(): Promise<void>;
  stop(): Promise<void>;
  /** Starts it again on the same port and TSDB dir. */
  start(): Promise<void>;
  pause(): void;
  resume(): void;
}

export interface PrometheusOptions {
  /** A rendered config (see render.ts); rule_files paths in it must be absolute. */
  configFile: string;
  host?: string;
  /** Chosen by the caller when the port must be known before start (e.g. rendered into another config). */
  port?: number;
  timeoutMs?: number;
}

export async function startPrometheus(owner: ProcessOwner, opts: PrometheusOptions): Promise<PrometheusHandle> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  const dataDir = owner.tempDir('prometheus-data');
  const url = `http://${host}:${port}`;
  const args = [
    `--config.file=${opts.configFile}`,
    `--storage.tsdb.path=${dataDir}`,
    `--web.listen-address=${host}:${port}`,
    '--web.enable-lifecycle',
    '--web.enable-remote-write-receiver',
    '--storage.tsdb.retention.time=1d',
    // Alerts reach Alertmanager on the first evaluation they fire, then every resend delay (default 1 m). An alert
    // sent before Prometheus has discovered Alertmanager (its SD applies updates every 5 s) is lost until the resend,
    // which alone would break the one-minute budget; 5 s keeps a lost send within one evaluation.
    '--rules.alert.resend-delay=5s',
    '--log.level=warn',
  ];
  const spawnIt = (): ManagedProcess => owner.spawn({ name: `prometheus-${port}`, command: 'prometheus', args });
  let proc = spawnIt();
  const ready = (): Promise<void> =>
    waitForHttp(`${url}/-/ready`, { what: 'prometheus', isAlive: () => proc.running, describe: () => proc.tail(), timeoutMs: opts.timeoutMs });
  await ready();
  return {
    host,
    port,
    url,
    configFile: opts.configFile,
    get process() {
      return proc;
    },
    reload: () => postReload('prometheus', url, opts.configFile),
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
