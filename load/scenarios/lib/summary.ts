// The scenarios' k6 handleSummary(): the compact text on stdout and the whole summary data as JSON under LOAD_REPORT_DIR.
import { config } from './env.ts';
import { textSummary, type SummaryData } from './text-summary.ts';

/** Trend statistics every summary carries: the SLO thresholds read p(95) and p(99), the tuner reads the rest. */
export const SUMMARY_TREND_STATS: readonly string[] = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];

/**
 * handleSummary for one scenario: writes <LOAD_REPORT_DIR>/<ISO time, ":" and "." as "-">-<scenario>.json. k6 does not
 * create the directory (grafana/k6#3084), so it must exist; reports/load is where the alert harness and tuner look.
 */
export function summaryFor(scenario: string): (data: SummaryData) => Record<string, string> {
  return (data) => {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    return {
      stdout: textSummary(data),
      [`${config.reportDir}/${stamp}-${scenario}.json`]: JSON.stringify(data, null, 2),
    };
  };
}
