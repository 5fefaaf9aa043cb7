// Baseline: the steady realistic mix that runs underneath every alert fault and that the threshold tuner measures.
import type { Scenario } from '../runner/engine.ts';
import type { LoadConfig, LoadService } from '../lib/config.ts';
import { flowMix } from '../lib/mix.ts';
import { prepareStack } from '../lib/setup.ts';
import { BASELINE_SLO } from '../lib/slo.ts';

/** Default length when run alone; the alert harness runs it open-ended by passing its own durationS and calling stop(). */
export const BASELINE_DURATION_S = 60;

export function baseline(cfg: LoadConfig): Scenario<LoadService> {
  return {
    name: 'baseline',
    // Rates and their justification live in lib/config.ts (BASELINE_RATES), overridable per flow from the environment.
    description: `constant arrival rates per flow (${Object.entries(cfg.rates).map(([f, r]) => `${f} ${r}/s`).join(', ')})`,
    flows: flowMix(cfg, BASELINE_DURATION_S),
    thresholds: BASELINE_SLO,
    setup: prepareStack(cfg),
  };
}
