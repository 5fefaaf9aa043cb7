// Spike: the baseline mix for 60 s, with orders jumping from their rate to 10x within 2 s, held 15 s, back within 2 s, then 21 s of recovery; shows whether the order path absorbs a burst and recovers (fixed shape, LOAD_DURATION ignored).
import type { Options } from 'k6/options';
import { config } from './lib/env.ts';
import { flowScenarios } from './lib/mix.ts';
import { SUMMARY_TREND_STATS, summaryFor } from './lib/summary.ts';

export { setup } from './lib/setup.ts';
export { orders, pnl, positions, runs, signals, subscriptions } from './lib/flows.ts';

const SPIKE_FACTOR = 10;
const base = config.rates.orders;
const peak = base * SPIKE_FACTOR;

export const options: Options = {
  scenarios: flowScenarios(config, {
    duration: '60s',
    gracefulStop: '10s',
    ramps: {
      orders: {
        startRatePerS: base,
        stages: [
          { targetPerS: base, duration: '20s' },
          { targetPerS: peak, duration: '2s' },
          { targetPerS: peak, duration: '15s' },
          { targetPerS: base, duration: '2s' },
          { targetPerS: base, duration: '21s' },
        ],
        // Room for the burst at ~0.5 s per order under stress; fewer would turn a slow-down into dropped iterations.
        maxVUs: Math.max(config.maxInFlight, Math.ceil(peak)),
      },
    },
  }),
  // During a spike some slowness is expected; errors are not.
  thresholds: {
    http_req_failed: ['rate<0.02'],
    checks: ['rate>0.98'],
    'http_req_duration{flow:orders,name:place_order}': ['p(99)<1500'],
  },
  summaryTrendStats: [...SUMMARY_TREND_STATS],
};

export const handleSummary = summaryFor('spike');
