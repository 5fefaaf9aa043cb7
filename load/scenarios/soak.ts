// Soak: the baseline mix for a long time (LOAD_DURATION or --duration, default 30 min) to expose leaks, growth and drift.
import type { Scenario } from '../runner/engine.ts';
import type { LoadConfig, LoadService } from '../lib/config.ts';
import { flowMix } from '../lib/mix.ts';
import { prepareStack } from '../lib/setup.ts';
import { BASELINE_SLO } from '../lib/slo.ts';

const DEFAULT_SOAK_S = 30 * 60;

export function soak(cfg: LoadConfig): Scenario<LoadService> {
  const durationS = cfg.durationS ?? DEFAULT_SOAK_S;
  return {
    name: 'soak',
    description: `baseline mix for ${durationS} s`,
    flows: flowMix(cfg, durationS),
    thresholds: BASELINE_SLO,
    setup: prepareStack(cfg),
  };
}
