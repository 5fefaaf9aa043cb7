// Soak: the baseline mix for a long time (LOAD_DURATION, default 30 min) to expose leaks, growth and drift, judged by the baseline SLO.
import type { Options } from 'k6/options';
import { config } from './lib/env.ts';
import { flowScenarios } from './lib/mix.ts';
import { BASELINE_SLO } from './lib/slo.ts';
import { SUMMARY_TREND_STATS, summaryFor } from './lib/summary.ts';

export { setup } from './lib/setup.ts';
export { orders, pnl, positions, runs, signals, subscriptions } from './lib/flows.ts';

export const options: Options = {
  scenarios: flowScenarios(config, { duration: config.duration ?? '30m', gracefulStop: '10s' }),
  thresholds: BASELINE_SLO,
  summaryTrendStats: [...SUMMARY_TREND_STATS],
};

export const handleSummary = summaryFor('soak');
