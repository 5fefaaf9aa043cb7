// Stress: the baseline mix for 120 s while orders ramp linearly from their rate to LOAD_STRESS_PEAK (per second), to find the knee where p99 or errors break (fixed shape, LOAD_DURATION ignored); the CLI reports the knee.
import type { Options } from 'k6/options';
import { config } from './lib/env.ts';
import { flowScenarios } from './lib/mix.ts';
import { SUMMARY_TREND_STATS, summaryFor } from './lib/summary.ts';

export { setup } from './lib/setup.ts';
export { orders, pnl, positions, runs, signals, subscriptions } from './lib/flows.ts';

/** Length of the ramp (and of the other flows' constant rates), in seconds. */
const RAMP_S = 120;

export const options: Options = {
  scenarios: flowScenarios(config, {
    duration: `${RAMP_S}s`,
    gracefulStop: '15s',
    ramps: {
      orders: {
        startRatePerS: config.rates.orders,
        stages: [{ targetPerS: config.stressPeakOrdersPerS, duration: `${RAMP_S}s` }],
        // A generous cap: drops should mean the service is saturated, not that the load generator was stingy.
        maxVUs: 400,
      },
    },
  }),
  // Stress is expected to break; its result is the knee, so no threshold fails the run.
  summaryTrendStats: [...SUMMARY_TREND_STATS],
};

/**
 * Where the order flow breaks: the first run of sustainWindows consecutive windowS-second windows whose p99 exceeds
 * p99Ms or whose error rate exceeds maxErrorRate; scheduleEndS (the ramp's length) leaves out the drain after it.
 * Plain data: k6 ignores it, the CLI reads it.
 */
export const knee = { flow: 'orders', p99Ms: 500, maxErrorRate: 0.01, windowS: 5, sustainWindows: 2, scheduleEndS: RAMP_S };

export const handleSummary = summaryFor('stress');
