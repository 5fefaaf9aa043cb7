// Which Prometheus (and promtool) a run uses: Debian's 2.42 from PATH (the default, no Go needed), or 3.x built by
// `scripts/ensure-tools --prometheus 3` with `go install` into a cache folder outside the checkout. Chosen by
// `--prometheus 2|3` on verify-alerts, stack and tune-thresholds, and by ALERTPROOF_PROMETHEUS for tests.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { PROMETHEUS_MAJORS, type PrometheusMajor } from '../alerts/engine.ts';

export { PROMETHEUS_MAJORS, type PrometheusMajor };
export const PROMETHEUS_ENV = 'ALERTPROOF_PROMETHEUS';

/** The Prometheus 3 release CI proves (stack/prometheus3.json, read by scripts/ensure-tools and the compose test too). */
export const PROMETHEUS_3_VERSION: string = (JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'prometheus3.json'), 'utf8')) as { version: string }).version;

/** The cache folder ensure-tools builds into (the same path in scripts/ensure-tools). */
export function prometheus3Dir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(cache, 'alertproof', `prometheus-${PROMETHEUS_3_VERSION}`);
}

/** `--prometheus` (or ALERTPROOF_PROMETHEUS) parsed; default 2. Throws one line naming the bad value. */
export function prometheusMajor(choice: string | undefined = process.env[PROMETHEUS_ENV]): PrometheusMajor {
  const v = (choice ?? '').trim() || '2';
  const major = PROMETHEUS_MAJORS.find((m) => m === v);
  if (major) return major;
  throw new Error(`--prometheus / ${PROMETHEUS_ENV} must be 2 (Debian's 2.42) or 3 (${PROMETHEUS_3_VERSION}, built with Go), got "${choice}"`);
}

export interface PrometheusTools {
  major: PrometheusMajor;
  /** Command or absolute path. */
  prometheus: string;
  promtool: string;
}

/** The binaries for a major version, without building anything (3: the cache paths, which may not exist yet). */
export function prometheusTools(major: PrometheusMajor = prometheusMajor()): PrometheusTools {
  if (major === '2') return { major, prometheus: 'prometheus', promtool: 'promtool' };
  const dir = prometheus3Dir();
  return { major, prometheus: path.join(dir, 'prometheus'), promtool: path.join(dir, 'promtool') };
}

/** The binaries of `tools` given as paths that do not exist (2.x's are commands on PATH, never missing here). */
export function missingBinaries(tools: PrometheusTools): string[] {
  return [tools.prometheus, tools.promtool].filter((f) => path.isAbsolute(f) && !fs.existsSync(f));
}

/** prometheusTools, throwing one line naming the fix when the 3.x binaries are not built (never builds). */
export function requirePrometheusTools(major: PrometheusMajor = prometheusMajor()): PrometheusTools {
  const tools = prometheusTools(major);
  const missing = missingBinaries(tools);
  if (missing.length) throw new Error(`${missing.join(' and ')} not found: Prometheus ${PROMETHEUS_3_VERSION} is not built; run scripts/ensure-tools --prometheus 3 (needs Go), or choose --prometheus 2`);
  return tools;
}

/**
 * prometheusTools, after making sure they exist: for 3, runs `scripts/ensure-tools --prometheus 3` when the cache lacks
 * them (a one-time Go build of about 5 minutes, its progress on stderr). Throws one line when they cannot be had.
 */
export function ensurePrometheusTools(major: PrometheusMajor = prometheusMajor()): PrometheusTools {
  const tools = prometheusTools(major);
  if (major === '2') return tools;
  const present = (): boolean => missingBinaries(tools).length === 0;
  if (!present()) {
    const script = path.resolve(import.meta.dirname, '../scripts/ensure-tools');
    const r = spawnSync('bash', [script, '--prometheus', '3'], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0 || !present()) {
      throw new Error(`Prometheus ${PROMETHEUS_3_VERSION} is not available (${tools.prometheus}); scripts/ensure-tools --prometheus 3 builds it with Go (see its message above)`);
    }
  }
  return tools;
}

/** What a running Prometheus says it is (/api/v1/status/buildinfo), for logs and reports. */
export interface PrometheusBuild {
  version: string;
  revision?: string;
  goVersion?: string;
}

export async function prometheusBuild(url: string): Promise<PrometheusBuild> {
  const res = await fetch(`${url}/api/v1/status/buildinfo`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${url}/api/v1/status/buildinfo answered HTTP ${res.status}`);
  const body = (await res.json()) as { data?: { version?: string; revision?: string; goVersion?: string } };
  if (!body.data?.version) throw new Error(`${url}/api/v1/status/buildinfo has no version`);
  return { version: body.data.version, revision: body.data.revision || undefined, goVersion: body.data.goVersion };
}

/** The major of a reported version ("3.16.0" -> "3"), when it is one alertproof proves on. */
export function majorOf(version: string): PrometheusMajor | undefined {
  const m = /^(\d+)\./.exec(version);
  return PROMETHEUS_MAJORS.find((x) => x === m?.[1]);
}
