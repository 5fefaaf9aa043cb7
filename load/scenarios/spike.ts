// Spike: baseline mix, with orders jumping to 10x for 15 s and back; shows whether the order path absorbs a burst and recovers.
import type { Scenario } from '../runner/engine.ts';
import type { LoadConfig, LoadService } from '../lib/config.ts';
import { flowMix } from '../lib/mix.ts';
import { prepareStack } from '../lib/setup.ts';

const SPIKE_FACTOR = 10;

export function spike(cfg: LoadConfig): Scenario<LoadService> {
  const base = cfg.rates.orders;
  const peak = base * SPIKE_FACTOR;
  return {
    name: 'spike',
    description: `baseline mix; orders ${base}/s -> ${peak}/s within 2 s, held 15 s, back within 2 s, then 21 s of recovery`,
    flows: flowMix(cfg, 60, cfg.rates, {
      orders: {
        executor: 'ramping-arrival-rate',
        startRate: base,
        stages: [
          { target: base, durationS: 20 },
          { target: peak, durationS: 2 },
          { target: peak, durationS: 15 },
          { target: base, durationS: 2 },
          { target: base, durationS: 21 },
        ],
        // Room for the burst at ~0.5 s per order under stress; fewer would turn a slow-down into dropped iterations.
        maxInFlight: Math.max(cfg.maxInFlight, Math.ceil(peak)),
      },
    }),
    // During a spike some slowness is expected; errors are not.
    thresholds: {
      http_req_failed: ['rate<0.02'],
      checks: ['rate>0.98'],
      'http_req_duration{flow:orders,name:place_order}': ['p(99)<1500'],
    },
    setup: prepareStack(cfg),
  };
}
