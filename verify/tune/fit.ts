// Histogram fit: exact quantiles of samples vs Prometheus' histogram_quantile estimate from bucket counts, and the verdict.

/** The quantiles every report shows. */
export const QUANTILES = [0.5, 0.9, 0.95, 0.99, 0.999] as const;

/** Exact q-quantile by rank, the definition histogram_quantile approximates: the smallest value with at least q*n samples at or below it. */
export function exactQuantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export interface Bucket {
  /** Upper bound; Infinity for +Inf. */
  le: number;
  /** Cumulative count (observations <= le). */
  count: number;
}

/** Cumulative bucket counts of samples over the finite bounds, with the +Inf bucket appended (le is inclusive, as in Prometheus). */
export function bucketize(samples: readonly number[], bounds: readonly number[]): Bucket[] {
  const perBucket = new Array<number>(bounds.length + 1).fill(0);
  for (const v of samples) {
    let lo = 0;
    let hi = bounds.length;
    // First bound >= v; bounds.length means +Inf.
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (bounds[mid]! >= v) hi = mid;
      else lo = mid + 1;
    }
    perBucket[lo]!++;
  }
  let cum = 0;
  return [...bounds, Infinity].map((le, i) => ({ le, count: (cum += perBucket[i]!) }));
}

/**
 * Prometheus' bucketQuantile (promql/quantile.go, v2.42): linear interpolation inside the bucket holding rank q*n, the
 * first bucket starting at 0, and the largest finite bound when the rank falls into +Inf.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number {
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length < 2 || sorted[sorted.length - 1]!.le !== Infinity) return NaN;
  // ensureMonotonic: cumulative counts never decrease.
  let max = -Infinity;
  const b = sorted.map((x) => ({ le: x.le, count: (max = Math.max(max, x.count)) }));
  const observations = b[b.length - 1]!.count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  let i = b.findIndex((x) => x.count >= rank);
  if (i < 0) i = b.length - 1;
  if (i === b.length - 1) return b[b.length - 2]!.le;
  if (i === 0 && b[0]!.le <= 0) return b[0]!.le;
  let start = 0;
  const end = b[i]!.le;
  let count = b[i]!.count;
  if (i > 0) {
    start = b[i - 1]!.le;
    count -= b[i - 1]!.count;
    rank -= b[i - 1]!.count;
  }
  return start + (end - start) * (rank / count);
}

export interface QuantileFit {
  q: number;
  exact: number;
  estimate: number;
  /** (estimate - exact) / exact; NaN when exact is 0 or either is missing. */
  relError: number;
  /** Fewer than 10 samples lie beyond this quantile, so the exact value itself is noise. */
  lowSupport: boolean;
}

export type Verdict = 'fits' | 'too coarse near p95-p99' | 'overflowing' | 'wasted buckets' | 'insufficient data';

export interface FitOptions {
  /** Largest acceptable |relative error| of the estimate at p95 and p99. */
  targetRelError: number;
  /** Thresholds of the alerts reading this histogram; buckets at or next to them are never "wasted". */
  thresholds?: readonly number[];
}

export interface HistogramFit {
  n: number;
  bounds: number[];
  quantiles: QuantileFit[];
  /** Share of observations above the largest finite bound (only +Inf holds them). */
  infShare: number;
  /** The bucket holding the most observations, by its upper bound, and its share. */
  densest: { le: number; share: number };
  /** Finite buckets that saw no observation and are not at or just above an alert threshold. */
  emptyBuckets: number;
  /** Largest |relative error| over p95 and p99. */
  tailError: number;
  verdict: Verdict;
  reasons: string[];
}

/** Fewest samples for which a verdict means anything: p99 needs at least this many to be more than the maximum. */
export const MIN_SAMPLES = 20;

export function fitHistogram(samples: readonly number[], bounds: readonly number[], opts: FitOptions): HistogramFit {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const buckets = bucketize(sorted, bounds);
  const quantiles = QUANTILES.map((q) => {
    const exact = exactQuantile(sorted, q);
    const estimate = histogramQuantile(q, buckets);
    const relError = exact > 0 && Number.isFinite(estimate) ? (estimate - exact) / exact : NaN;
    return { q, exact, estimate, relError, lowSupport: n * (1 - q) < 10 };
  });
  const total = n || 1;
  const infShare = n === 0 ? 0 : (n - buckets[buckets.length - 2]!.count) / total;
  let densest = { le: bounds[0] ?? Infinity, share: 0 };
  const thresholds = opts.thresholds ?? [];
  let emptyBuckets = 0;
  buckets.forEach((b, i) => {
    const inBucket = b.count - (i > 0 ? buckets[i - 1]!.count : 0);
    if (inBucket / total > densest.share) densest = { le: b.le, share: inBucket / total };
    const lower = i > 0 ? buckets[i - 1]!.le : 0;
    // The bucket ending at a threshold and the one just above it are what the alert reads during a fault.
    const nearThreshold = thresholds.some((t) => b.le === t || lower === t);
    if (b.le !== Infinity && inBucket === 0 && !nearThreshold) emptyBuckets++;
  });
  const tail = quantiles.filter((f) => f.q === 0.95 || f.q === 0.99);
  const tailError = Math.max(...tail.map((f) => (Number.isNaN(f.relError) ? 0 : Math.abs(f.relError))));
  const reasons: string[] = [];
  let verdict: Verdict = 'fits';
  if (n < MIN_SAMPLES) {
    verdict = 'insufficient data';
    reasons.push(`${n} observations (< ${MIN_SAMPLES}); run the baseline longer or at a higher rate`);
  } else if (infShare > 0.01) {
    verdict = 'overflowing';
    reasons.push(`${pct(infShare)} of observations above the largest finite bound ${bounds[bounds.length - 1]} s: p99 cannot be estimated`);
  } else if (tailError > opts.targetRelError) {
    verdict = 'too coarse near p95-p99';
    reasons.push(`estimate off by up to ${pct(tailError)} at p95/p99 (target ${pct(opts.targetRelError)})`);
  } else if (emptyBuckets >= Math.ceil(bounds.length / 2) && densest.share >= 0.5) {
    verdict = 'wasted buckets';
    reasons.push(`${emptyBuckets} of ${bounds.length} buckets empty while one bucket (le=${densest.le}) holds ${pct(densest.share)}`);
  }
  return { n, bounds: [...bounds], quantiles, infShare, densest, emptyBuckets, tailError, verdict, reasons };
}

export function pct(x: number): string {
  return `${(x * 100).toFixed(x < 0.01 ? 2 : 1)}%`;
}
