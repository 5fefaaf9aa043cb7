// Stress: orders ramp from the baseline rate upward while the rest of the mix stays at baseline, to find the knee where p99 or errors break.
import type { Scenario } from '../runner/engine.ts';
import type { LoadConfig, LoadService } from '../lib/config.ts';
import { flowMix } from '../lib/mix.ts';
import { prepareStack } from '../lib/setup.ts';

/** Highest order rate offered; far above what 2 cores sustain through Postgres, Redis and the broker, so the knee falls inside the ramp. */
const PEAK_ORDERS_PER_S = 80;
const RAMP_S = 120;

export function stress(cfg: LoadConfig): Scenario<LoadService> {
  return {
    name: 'stress',
    description: `baseline mix; orders ramp linearly ${cfg.rates.orders}/s -> ${PEAK_ORDERS_PER_S}/s over ${RAMP_S} s; reports the knee`,
    flows: flowMix(cfg, RAMP_S, cfg.rates, {
      orders: {
        executor: 'ramping-arrival-rate',
        startRate: cfg.rates.orders,
        stages: [{ target: PEAK_ORDERS_PER_S, durationS: RAMP_S }],
        // A generous cap: drops should mean the service is saturated, not that the runner was stingy.
        maxInFlight: 400,
      },
    }),
    // Stress is expected to break; its result is the knee, so no threshold fails the run.
    thresholds: {},
    knee: { flow: 'orders', p99Ms: 500, maxErrorRate: 0.01, windowS: 5 },
    gracefulStopS: 15,
    setup: prepareStack(cfg),
  };
}
