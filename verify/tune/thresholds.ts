// Threshold recommendation: 2x baseline snapped to a bucket boundary (latency) or a round step (rates), checked by replaying the
// alert's own sliding window over the baseline, with the detection time each threshold implies.
import { budgetRow, harnessRoute, loadTiming, type Timing } from '../../alerts/budget.ts';
import { CATALOG } from '../../alerts/catalog/index.ts';
import { ruleFor } from '../../alerts/generate.ts';
import { seconds, type AlertDef, type Tuning } from '../../alerts/model.ts';
import { snapUp125 } from './buckets.ts';
import { bucketize, exactQuantile, histogramQuantile } from './fit.ts';

export interface TunableAlert {
  name: string;
  def: AlertDef;
  tuning: Tuning;
  kind: 'latency' | 'ratio' | 'count';
  /** Histogram the latency alert reads (without _bucket). */
  metric?: string;
}

/** Every alert with a threshold in thresholds.yaml, classified by what its threshold measures. */
export function tunableAlerts(thresholds: Record<string, Tuning>): TunableAlert[] {
  const out: TunableAlert[] = [];
  for (const def of CATALOG) {
    const tuning = thresholds[def.name];
    if (tuning?.threshold === undefined) continue;
    const expr = def.expr(tuning);
    const histogram = /^histogram_quantile\([^,]+,\s*sum by \(le\) \(rate\(([a-z_:]+)_bucket\[/.exec(expr);
    if (histogram) out.push({ name: def.name, def, tuning, kind: 'latency', metric: histogram[1]! });
    // A ratio threshold lies in (0, 1) and is compared with a quotient; everything else is a count or level.
    else out.push({ name: def.name, def, tuning, kind: tuning.threshold > 0 && tuning.threshold < 1 && expr.includes('/') ? 'ratio' : 'count' });
  }
  return out;
}

export interface Detection {
  /** Static worst case from fault to notification (alerts/budget.ts), which must stay <= 60 s. */
  worstCaseS: number;
  /** Estimate for a step fault that makes every request slow or bad: source delay, half a scrape and evaluation, the
   * part of the window that must fill before the threshold is crossed, `for`, Alertmanager wait and delivery. */
  stepFaultS?: number;
  problems: string[];
}

/** Under the timing's range semantics (alerts/engine.ts): Prometheus 3 fills a window one scrape sooner. */
export function detectionFor(alert: TunableAlert, tuning: Tuning, timing: Timing = loadTiming()): Detection {
  const rule = ruleFor(alert.def, tuning);
  const row = budgetRow(rule, alert.def.sourceDelayS(tuning), timing, harnessRoute(rule), alert.def.singleEvent);
  const windowS = tuning.window ? seconds(tuning.window) : 0;
  const crossFraction = alert.kind === 'latency' ? 0.05 : alert.kind === 'ratio' ? tuning.threshold! : undefined;
  const stepFaultS =
    crossFraction === undefined
      ? undefined
      : row.sourceDelayS + timing.scrapeS / 2 + Math.ceil((crossFraction * windowS) / timing.scrapeS) * timing.scrapeS + timing.evalS / 2 + row.forS + row.notifyS + row.deliveryS;
  return { worstCaseS: Math.round(row.totalS * 1000) / 1000, ...(stepFaultS === undefined ? {} : { stepFaultS: Math.round(stepFaultS * 10) / 10 }), problems: row.problems };
}

export interface TimedSamples {
  values: readonly number[];
  /** Epoch ms per value. */
  times: readonly number[];
}

export interface WindowReplay {
  windows: number;
  /** Windows gated in by minRate whose p95 estimate exceeds the threshold. */
  firing: number;
  /** Largest p95 estimate over the gated windows (NaN when none was gated in). */
  maxP95: number;
}

/**
 * Replays the latency alert over the baseline: every evaluation step, the observations of the last window through the
 * buckets, p95 by histogram_quantile, gated by minRate. Prometheus' rate() extrapolation scales every bucket alike, so the
 * quantile is the same; `for` is ignored (a stricter check).
 */
export function replayLatencyWindows(samples: TimedSamples, bounds: readonly number[], tuning: Tuning, evalS: number): WindowReplay {
  const threshold = tuning.threshold ?? Infinity;
  let windows = 0;
  let firing = 0;
  let maxP95 = NaN;
  eachGatedWindow(samples, tuning, evalS, (inWindow) => {
    const p95 = histogramQuantile(0.95, bucketize(inWindow, bounds));
    if (!(p95 <= maxP95)) maxP95 = p95;
    if (p95 > threshold) firing++;
  }, () => windows++);
  return { windows, firing, maxP95 };
}

/**
 * The baseline peak of the latency alert's own quantity: the exact p95 of the observations in each window the rule
 * evaluates (gated by minRate like the rule), largest over the run. NaN when no window was gated in.
 */
export function peakWindowQuantile(samples: TimedSamples, tuning: Tuning, evalS: number, q = 0.95): number {
  let peak = NaN;
  eachGatedWindow(samples, tuning, evalS, (inWindow) => {
    const p = exactQuantile([...inWindow].sort((x, y) => x - y), q);
    if (!(p <= peak)) peak = p;
  });
  return peak;
}

/**
 * Steps through the run as the rule would, one evaluation interval at a time, and hands `fn` the observations of the
 * rule's window at each step whose rate passes its minRate gate; `onWindow` sees every step.
 */
function eachGatedWindow(samples: TimedSamples, tuning: Tuning, evalS: number, fn: (inWindow: number[]) => void, onWindow: () => void = () => undefined): void {
  const windowMs = seconds(tuning.window ?? '0s') * 1000;
  const minRate = tuning.minRate ?? 0;
  const order = samples.times.map((t, i) => [t, samples.values[i]!] as const).sort((x, y) => x[0] - y[0]);
  if (order.length === 0 || windowMs <= 0) return;
  let lo = 0;
  let hi = 0;
  for (let t = order[0]![0] + windowMs; t <= order[order.length - 1]![0] + evalS * 1000; t += evalS * 1000) {
    while (hi < order.length && order[hi]![0] <= t) hi++;
    while (lo < hi && order[lo]![0] <= t - windowMs) lo++;
    onWindow();
    if ((hi - lo) / (windowMs / 1000) <= minRate) continue;
    fn(order.slice(lo, hi).map((x) => x[1]));
  }
}

export interface ThresholdRecommendation {
  alert: string;
  kind: TunableAlert['kind'];
  current: number;
  /** The baseline peak of what the alert compares: latency, the largest exact p95 over the rule's windows; rates/counts,
   * the largest value the alert's expression took. */
  baseline: number;
  /** Latency only: exact p95 over the whole baseline, for reference (the peak is what a window actually sees). */
  overallP95?: number;
  raw: number;
  recommended: number;
  notes: string[];
  detectionNow: Detection;
  detectionRecommended: Detection;
  /** Only for latency: the alert's windows replayed over the baseline at the recommended threshold and buckets. */
  replay?: WindowReplay;
  /** False when the recommendation cannot be applied (over the 60 s budget, or no data). */
  applicable: boolean;
}

/**
 * Latency: 2x the baseline peak (the largest exact p95 over the rule's own windows), snapped up to a 1-2-2.5-5
 * boundary, bumped further while any baseline window would fire through the buckets. The peak, not the p95 of the whole
 * run: 2x a whole-run p95 of a few milliseconds sat inside ordinary jitter on a shared machine and paged on noise in
 * verify-alerts (SlowAlpacaRequests at 10 ms, 2026-11-26).
 */
export function recommendLatency(alert: TunableAlert, samples: TimedSamples, boundsFor: (threshold: number) => number[], timing: Timing = loadTiming()): ThresholdRecommendation {
  const current = alert.tuning.threshold!;
  const sorted = [...samples.values].sort((a, b) => a - b);
  const notes: string[] = [];
  const detectionNow = detectionFor(alert, alert.tuning, timing);
  if (sorted.length === 0) {
    return { alert: alert.name, kind: alert.kind, current, baseline: NaN, raw: NaN, recommended: current, notes: ['no observations on baseline; threshold kept'], detectionNow, detectionRecommended: detectionNow, applicable: false };
  }
  const overallP95 = exactQuantile(sorted, 0.95);
  const peak = peakWindowQuantile(samples, alert.tuning, timing.evalS);
  // No window busy enough for the rule's minRate gate: fall back to the whole-run p95, and say so.
  const baseline = Number.isNaN(peak) ? overallP95 : Math.max(peak, overallP95);
  if (Number.isNaN(peak)) notes.push(`no ${alert.tuning.window} window reached the rule's minimum rate; from the whole-run p95`);
  const raw = 2 * baseline;
  let recommended = snapUp125(raw);
  let replay = replayLatencyWindows(samples, boundsFor(recommended), { ...alert.tuning, threshold: recommended }, timing.evalS);
  while (replay.firing > 0) {
    const next = snapUp125(recommended * 1.0001);
    notes.push(`${recommended} s would have fired in ${replay.firing} of ${replay.windows} baseline windows; raised to ${next} s`);
    recommended = next;
    replay = replayLatencyWindows(samples, boundsFor(recommended), { ...alert.tuning, threshold: recommended }, timing.evalS);
  }
  return { ...finish(alert, { current, baseline, raw, recommended, notes, detectionNow, replay }, timing), overallP95 };
}

/**
 * Rates and counts: 2x the baseline peak, rounded up (ratios to 0.05, counts to whole numbers). A baseline peak of 0
 * gives 0, which would page on a single error, so the threshold never drops below the current one: only a baseline
 * that comes within 2x of the current threshold moves it.
 */
export function recommendRate(alert: TunableAlert, baselinePeak: number, timing: Timing = loadTiming()): ThresholdRecommendation {
  const current = alert.tuning.threshold!;
  const detectionNow = detectionFor(alert, alert.tuning, timing);
  const notes: string[] = [];
  if (!Number.isFinite(baselinePeak)) {
    return { alert: alert.name, kind: alert.kind, current, baseline: baselinePeak, raw: NaN, recommended: current, notes: ['baseline not measured; threshold kept'], detectionNow, detectionRecommended: detectionNow, applicable: false };
  }
  const raw = 2 * baselinePeak;
  const snapped = alert.kind === 'ratio' ? Math.ceil(Number((raw / 0.05).toFixed(6))) * 0.05 : Math.ceil(raw);
  const rounded = Number(snapped.toFixed(4));
  let recommended = current;
  if (rounded > current) {
    recommended = rounded;
    notes.push(`baseline peak ${fmt(baselinePeak)} is within 2x of ${current}: raised to ${recommended}`);
  } else notes.push(`baseline peak ${fmt(baselinePeak)}; current ${current} keeps ${baselinePeak > 0 ? `${fmt(current / baselinePeak)}x` : 'full'} headroom, so it stays`);
  if (alert.kind === 'ratio' && recommended >= 1) notes.push('a ratio threshold of 1 or more can never fire: the baseline itself is failing, fix it first');
  return finish(alert, { current, baseline: baselinePeak, raw, recommended, notes, detectionNow }, timing);
}

function finish(
  alert: TunableAlert,
  r: { current: number; baseline: number; raw: number; recommended: number; notes: string[]; detectionNow: Detection; replay?: WindowReplay },
  timing: Timing,
): ThresholdRecommendation {
  const detectionRecommended = detectionFor(alert, { ...alert.tuning, threshold: r.recommended }, timing);
  let applicable = true;
  if (detectionRecommended.problems.length) {
    applicable = false;
    r.notes.push(`not applicable: ${detectionRecommended.problems.join('; ')}`);
  }
  if (alert.kind === 'ratio' && r.recommended >= 1) applicable = false;
  return { alert: alert.name, kind: alert.kind, ...r, detectionRecommended, applicable };
}

function fmt(x: number): string {
  return Number(x.toPrecision(3)).toString();
}
