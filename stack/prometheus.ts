// Ephemeral Prometheus (Debian's 2.42, or 3.x: stack/prometheus-version.ts): temp TSDB, loopback port chosen up front (kept across restarts), lifecycle API for reloads.
import type { ProcessOwner } from './processes.ts';
import { startHttpDaemon, type HttpDaemonHandle, type HttpDaemonOptions } from './http-daemon.ts';
import { prometheusBuild, prometheusMajor, requirePrometheusTools, type PrometheusBuild, type PrometheusMajor } from './prometheus-version.ts';

export { postReload } from './http-daemon.ts';

/**
 * --rules.alert.resend-delay: how often Prometheus re-sends what fires. Each alert it sends is valid for
 * 4 x max(resend delay, evaluation interval), so it also bounds how long Alertmanager heartbeats for a dead Prometheus.
 */
export const RESEND_DELAY_S = 5;

export interface PrometheusHandle extends HttpDaemonHandle {
  /** Re-reads the config and rule files; rejects with Prometheus' own error when they are invalid. */
  reload(): Promise<void>;
  /** Starts it again on the same port and TSDB dir. */
  start(): Promise<void>;
  /** What the running server reports (/api/v1/status/buildinfo). */
  build: PrometheusBuild;
}

export interface PrometheusOptions extends HttpDaemonOptions {
  /** A rendered config (see render.ts); rule_files paths in it must be absolute. */
  configFile: string;
  /** Chosen by the caller when the port must be known before start (e.g. rendered into another config). */
  port?: number;
  /** Which Prometheus runs; default ALERTPROOF_PROMETHEUS or 2. */
  major?: PrometheusMajor;
}

export async function startPrometheus(owner: ProcessOwner, opts: PrometheusOptions): Promise<PrometheusHandle> {
  const { prometheus: command } = requirePrometheusTools(opts.major ?? prometheusMajor());
  const daemon = await startHttpDaemon(owner, {
    ...opts,
    what: 'prometheus',
    command,
    args: ({ dataDir, listenAddress }) => [
      `--config.file=${opts.configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=${listenAddress}`,
      '--web.enable-lifecycle',
      '--web.enable-remote-write-receiver',
      '--storage.tsdb.retention.time=1d',
      // Alerts reach Alertmanager on the first evaluation they fire, then every resend delay (default 1 m). An alert
      // sent before Prometheus has discovered Alertmanager (its SD applies updates every 5 s) is lost until the resend,
      // which alone would break the one-minute budget; 5 s keeps a lost send within one evaluation.
      `--rules.alert.resend-delay=${RESEND_DELAY_S}s`,
      '--log.level=warn',
    ],
  });
  return Object.assign(daemon, { build: await prometheusBuild(daemon.url) });
}
