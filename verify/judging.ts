// The harness's allowances, each derived from what Prometheus actually runs with (its rendered config's scrape and
// evaluation intervals) or from the harness's own poll period, never written as a bare constant elsewhere.
import type { Timing } from '../alerts/budget.ts';
import type { AlertCatalog } from './alert-catalog.ts';

/** How often the harness polls Prometheus' alerts and its scenario loops check for progress. */
export const POLL_MS = 1000;

export interface Judging {
  /**
   * How far an alert's activeAt may precede the fault and still be the fault's: activeAt is the timestamp of the
   * evaluation tick, and Prometheus runs a tick up to one evaluation interval after its timestamp (later, and the
   * tick counts as missed), so an evaluation that ran after the fault can carry a timestamp one interval before it.
   */
  skewMs: number;
  /**
   * How long "no alert active and every target up" must hold before the stack counts as quiet: long enough that at
   * least one evaluation and one scrape happened inside it, plus one poll.
   */
  quietStreakMs: number;
  /** The flat fault-to-notification deadline (alerts.json budgetS). */
  deadlineS: number;
  /** Each alert's own budget: its static worst case plus the poll allowance. */
  budgetS: ReadonlyMap<string, number>;
  /** Added to each static worst case: one harness poll, the fault driver's own round trip after the inject timestamp. */
  allowanceS: number;
  alwaysFiring: readonly string[];
}

export function judgingFor(timing: Timing, catalog: AlertCatalog): Judging {
  const allowanceS = POLL_MS / 1000;
  return {
    skewMs: timing.evalS * 1000,
    quietStreakMs: Math.max(timing.scrapeS, timing.evalS) * 1000 + POLL_MS,
    deadlineS: catalog.budgetS,
    budgetS: new Map([...catalog.worstCaseS].map(([name, s]) => [name, Math.round((s + allowanceS) * 100) / 100])),
    allowanceS,
    alwaysFiring: catalog.alwaysFiring,
  };
}
