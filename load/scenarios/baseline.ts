// Baseline: the steady realistic mix (each flow at its constant BASELINE_RATES arrival rate, lib/config.ts) that runs underneath every alert fault and that the threshold tuner measures; 60 s unless LOAD_DURATION says otherwise.
import type { Options } from 'k6/options';
import { config } from './lib/env.ts';
import { flowScenarios } from './lib/mix.ts';
import { BASELINE_SLO } from './lib/slo.ts';
import { SUMMARY_TREND_STATS, summaryFor } from './lib/summary.ts';

export { setup } from './lib/setup.ts';
export { orders, pnl, positions, runs, signals, subscriptions } from './lib/flows.ts';

export const options: Options = {
  // The alert harness runs it open-ended: a long LOAD_DURATION, ended by the runtime's stop().
  scenarios: flowScenarios(config, { duration: config.duration ?? '60s', gracefulStop: '10s' }),
  thresholds: BASELINE_SLO,
  summaryTrendStats: [...SUMMARY_TREND_STATS],
};

export const handleSummary = summaryFor('baseline');
