// The Prometheus rule engines alertproof proves its alerts on, and what differs between them that the budget models.
// Debian's 2.42 evaluates range selectors left-closed ([t-w, t]); 3.x left-open ((t-w, t]), so a window of w over
// scrapes s apart holds w/s samples in 3.x and, when a sample lands exactly w before the evaluation, w/s + 1 in 2.x.

export const PROMETHEUS_MAJORS = ['2', '3'] as const;
export type PrometheusMajor = (typeof PROMETHEUS_MAJORS)[number];

export type RangeSemantics = 'left-closed' | 'left-open';
export const RANGE_SEMANTICS: Record<PrometheusMajor, RangeSemantics> = { '2': 'left-closed', '3': 'left-open' };

/**
 * Seconds after the first bad sample until a range window of `windowS` holds only bad samples, worst case (samples on
 * the evaluation grid, as in promtool tests and as scrape and evaluation offsets can fall live). Left-closed, the last
 * good sample, one scrape before the first bad one, leaves the window only when it is more than windowS old: windowS.
 * Left-open, it leaves when it is exactly windowS old: windowS - scrapeS.
 */
export function windowFillS(windowS: number, scrapeS: number, semantics: RangeSemantics): number {
  return semantics === 'left-closed' ? windowS : Math.max(0, windowS - scrapeS);
}

/** The most samples a range window of `windowS` can hold with scrapes `scrapeS` apart. */
export function samplesInWindow(windowS: number, scrapeS: number, semantics: RangeSemantics): number {
  const whole = Math.floor(windowS / scrapeS);
  return semantics === 'left-closed' ? whole + 1 : whole;
}
