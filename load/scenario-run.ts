// Runs one of the load scenarios (the k6 scripts in load/scenarios/) against a stack's services through the runtime:
// what `npm run load`, the alert harness, the tuner, verify-dashboards and the benchmarks share.
import path from 'node:path';
import { runScript, type LoadRun, type RunOptions } from './runtime/client.ts';
import { loadConfig, SERVICES, URL_ENV, type LoadConfig, type ServiceUrls } from './scenarios/lib/config.ts';

export const SCENARIO_NAMES = ['smoke', 'baseline', 'spike', 'stress', 'soak'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name);
}

export function scenarioScript(name: ScenarioName): string {
  return path.join(import.meta.dirname, 'scenarios', `${name}.ts`);
}

/** The -e values that point a scenario at these services. */
export function serviceEnv(urls: ServiceUrls): Record<string, string> {
  return Object.fromEntries(SERVICES.map((s) => [URL_ENV[s].name, urls[s]]));
}

/** The configuration the script will parse from the same environment (rates, symbols), for the caller's own logs. */
export function scenarioConfig(urls: ServiceUrls, env: Record<string, string | undefined> = process.env): LoadConfig {
  return loadConfig({ ...env, ...serviceEnv(urls) });
}

export interface ScenarioRunOptions extends Omit<RunOptions, 'script' | 'env'> {
  urls: ServiceUrls;
  /** More -e values, e.g. LOAD_DURATION. */
  env?: Record<string, string>;
}

export function runScenario(name: ScenarioName, opts: ScenarioRunOptions): LoadRun {
  const { urls, env, ...rest } = opts;
  return runScript({ ...rest, script: scenarioScript(name), env: { ...serviceEnv(urls), ...env } });
}

/** The stack's service URLs, or an error naming what it did not start. */
export function stackUrls(services: Partial<Record<string, string>>): ServiceUrls {
  const missing = SERVICES.filter((s) => !services[s]);
  if (missing.length > 0) throw new Error(`the load needs ${missing.join(', ')}, which this stack does not list`);
  return Object.fromEntries(SERVICES.map((s) => [s, services[s]!])) as ServiceUrls;
}
