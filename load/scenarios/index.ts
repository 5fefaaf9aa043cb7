// The scenario catalogue by name, for the CLI and the alert harness.
import type { Scenario } from '../runner/engine.ts';
import type { LoadConfig, LoadService } from '../lib/config.ts';
import { baseline } from './baseline.ts';
import { smoke } from './smoke.ts';
import { soak } from './soak.ts';
import { spike } from './spike.ts';
import { stress } from './stress.ts';

export const SCENARIOS = { smoke, baseline, spike, stress, soak } satisfies Record<string, (cfg: LoadConfig) => Scenario<LoadService>>;
export type ScenarioName = keyof typeof SCENARIOS;

export function isScenarioName(name: string): name is ScenarioName {
  return Object.hasOwn(SCENARIOS, name);
}
