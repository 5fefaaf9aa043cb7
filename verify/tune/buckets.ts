// Bucket recommendation: a boundary at every alert threshold and around p95/p99, exponential fill to a target relative error within a budget.
import { exactQuantile, fitHistogram, type HistogramFit } from './fit.ts';

export interface BucketOptions {
  /** Alert thresholds (seconds) reading this histogram: each becomes a boundary, so p95 is exact there. */
  thresholds: readonly number[];
  /** Worst-case relative error wanted between neighbouring boundaries in the observed range (0.1 = 10%). */
  targetRelError: number;
  /** Most finite boundaries allowed (+Inf comes on top). */
  maxBuckets: number;
  /** Largest bound to keep (e.g. the current one, sized to a timeout): failures still land in a finite bucket. */
  ceiling?: number;
}

export interface BucketRecommendation {
  bounds: number[];
  /** Ratio between neighbouring fill boundaries actually used (1 + worst-case relative error inside the fill). */
  fillRatio: number;
  /** The fill ratio met the target; false when the budget forced wider buckets. */
  metTarget: boolean;
  /** The replay of the same samples through the recommended bounds. */
  fit: HistogramFit;
}

/** Rounds to 2 significant digits so boundaries read like 0.012 or 1.5, never 0.0123456. */
export function nice(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new Error(`boundary must be positive and finite (got ${x})`);
  const p = 10 ** (Math.floor(Math.log10(x)) - 1);
  return Number((Math.round(x / p) * p).toPrecision(2));
}

/** The smallest "1-2-2.5-5" value (x10^k) at or above x: where thresholds snap when no boundary set is given. */
export function snapUp125(x: number): number {
  if (!(x > 0)) throw new Error(`cannot snap ${x}; expected a positive number`);
  const e = Math.floor(Math.log10(x));
  for (let k = e - 1; k <= e + 1; k++) {
    for (const m of [1, 2, 2.5, 5]) {
      const v = Number((m * 10 ** k).toPrecision(3));
      if (v >= x * (1 - 1e-9)) return v;
    }
  }
  return Number((10 ** (e + 1)).toPrecision(3));
}

function dedupe(values: number[]): number[] {
  return [...new Set(values.map((v) => Number(v.toPrecision(6))))].sort((a, b) => a - b);
}

/**
 * Boundaries: required ones (thresholds, p95, p99 rounded, 2x and 4x the largest threshold so a fault's p95 stays
 * in a finite bucket, and the ceiling), doubling steps between the observed maximum and those, then a geometric fill from the 1st percentile to above the maximum with ratio 1+targetRelError,
 * widened until everything fits the budget. Fill points within half a step of a required boundary are dropped.
 */
export function recommendBuckets(samples: readonly number[], opts: BucketOptions): BucketRecommendation {
  if (samples.length === 0) throw new Error('cannot recommend buckets without samples; run the baseline longer');
  if (!(opts.targetRelError > 0)) throw new Error(`targetRelError must be > 0 (got ${opts.targetRelError})`);
  const sorted = [...samples].sort((a, b) => a - b);
  const positive = sorted.filter((v) => v > 0);
  const floor = positive.length ? positive[0]! : 1e-6;
  const p01 = Math.max(exactQuantile(sorted, 0.01), floor);
  const p95 = Math.max(exactQuantile(sorted, 0.95), floor);
  const p99 = Math.max(exactQuantile(sorted, 0.99), floor);
  const max = Math.max(sorted[sorted.length - 1]!, floor);
  const maxThreshold = Math.max(0, ...opts.thresholds);
  const ceiling = opts.ceiling ?? 0;
  const required = dedupe([...opts.thresholds, nice(p95), nice(p99), ...(maxThreshold > 0 ? [nice(2 * maxThreshold), nice(4 * maxThreshold)] : []), ...(ceiling > 0 ? [ceiling] : [])]);

  const lo = nice(p01);
  const hi = max * 1.2;
  // Between the observed maximum and the thresholds nothing happens on baseline: doubling steps are enough there.
  const sparse: number[] = [];
  for (let v = hi * 2; v < Math.max(maxThreshold, ceiling); v *= 2) {
    // A doubling step right next to a required boundary (0.51 beside 0.5) adds a bucket and no resolution.
    if (required.every((r) => Math.abs(Math.log(v / r)) >= Math.log(1.5))) sparse.push(nice(v));
  }
  // The fill keeps at least its lowest point, so the anchors may take all but one place; thin the sparse steps until they do.
  while (sparse.length > 0 && dedupe([...required, ...sparse]).length + 1 > opts.maxBuckets) sparse.splice(sparse.length - 1 - Math.floor((sparse.length - 1) / 2), 1);
  if (required.length + 1 > opts.maxBuckets) throw new Error(`${required.length} required boundaries leave no room for a fill within ${opts.maxBuckets}; raise maxBuckets`);
  let ratio = 1 + opts.targetRelError;
  for (;;) {
    const fill: number[] = [];
    for (let v = lo; v < hi * ratio; v *= ratio) fill.push(nice(v));
    const anchors = dedupe([...required, ...sparse]);
    const kept = fill.filter((f) => anchors.every((r) => Math.abs(Math.log(f / r)) >= Math.log(ratio) / 2));
    const bounds = dedupe([...anchors, ...kept]);
    if (bounds.length <= opts.maxBuckets) {
      return { bounds, fillRatio: ratio, metTarget: ratio <= 1 + opts.targetRelError + 1e-9, fit: fitHistogram(sorted, bounds, { targetRelError: opts.targetRelError, thresholds: opts.thresholds }) };
    }
    ratio *= 1.05;
  }
}
