// Smoke: every flow for a few seconds at about one iteration per second; proves the stack and the flows work, for CI.
import type { Scenario } from '../runner/engine.ts';
import type { LoadConfig, LoadService } from '../lib/config.ts';
import { flowMix } from '../lib/mix.ts';
import { prepareStack } from '../lib/setup.ts';

export function smoke(cfg: LoadConfig): Scenario<LoadService> {
  return {
    name: 'smoke',
    description: 'every flow at ~1 iteration/s for 5 s; correctness, not capacity',
    flows: flowMix(cfg, 5, { runs: 0.5, orders: 1, signals: 1, subscriptions: 0.4, positions: 1, pnl: 1 }),
    // Correctness thresholds only: a few samples say nothing about latency percentiles beyond "not absurd".
    thresholds: {
      http_req_failed: ['rate<0.01'],
      checks: ['rate>0.99'],
      http_req_duration: ['p(95)<2000'],
    },
    gracefulStopS: 5,
    setup: prepareStack(cfg),
  };
}
