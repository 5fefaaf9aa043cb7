// Smoke: every flow at ~1 iteration/s for 5 s (LOAD_DURATION overrides), proving the stack and the flows work, for CI; correctness, not capacity.
import type { Options } from 'k6/options';
import { config } from './lib/env.ts';
import { flowScenarios } from './lib/mix.ts';
import { SUMMARY_TREND_STATS, summaryFor } from './lib/summary.ts';

export { setup } from './lib/setup.ts';
export { orders, pnl, positions, runs, signals, subscriptions } from './lib/flows.ts';

export const options: Options = {
  scenarios: flowScenarios(config, {
    duration: config.duration ?? '5s',
    gracefulStop: '5s',
    // Fixed, not LOAD_RATE_*: a smoke run checks that each flow works, at the slowest rates that still run each a few times.
    rates: { runs: 0.5, orders: 1, signals: 1, subscriptions: 0.4, positions: 1, pnl: 1 },
  }),
  // Correctness thresholds only: a few samples say nothing about latency percentiles beyond "not absurd".
  thresholds: {
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
    http_req_duration: ['p(95)<2000'],
  },
  summaryTrendStats: [...SUMMARY_TREND_STATS],
};

export const handleSummary = summaryFor('smoke');
