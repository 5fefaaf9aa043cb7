// Latency statistics: exact samples up to a cap, plus a log-bucketed histogram (about 0.5% relative error) that never overflows.

/** Relative width of a histogram bucket: values within one bucket differ by at most 1%. */
const GAMMA = 1.01;
const LOG_GAMMA = Math.log(GAMMA);
/** Smallest distinguishable value (ms); anything at or below lands in bucket 0. */
const MIN_VALUE = 0.001;

/** A percentile of sorted values with linear interpolation between closest ranks (the same rule as k6's trend). */
export function percentileOfSorted(sorted: ArrayLike<number>, pct: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (n === 1) return sorted[0]!;
  const rank = (Math.min(100, Math.max(0, pct)) / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const frac = rank - lo;
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * frac;
}

/** Log-bucketed histogram of positive values; quantiles are bucket midpoints clamped to the observed range. */
export class LogHistogram {
  private readonly buckets = new Map<number, number>();
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  add(value: number): void {
    const idx = value <= MIN_VALUE ? 0 : Math.ceil(Math.log(value / MIN_VALUE) / LOG_GAMMA);
    this.buckets.set(idx, (this.buckets.get(idx) ?? 0) + 1);
    this.count++;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  merge(other: LogHistogram): void {
    for (const [idx, n] of other.buckets) this.buckets.set(idx, (this.buckets.get(idx) ?? 0) + n);
    this.count += other.count;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  quantile(pct: number): number {
    if (this.count === 0) return Number.NaN;
    // The closer of the two ranks percentileOfSorted interpolates between, so both agree up to bucket width.
    const target = Math.round((Math.min(100, Math.max(0, pct)) / 100) * (this.count - 1)) + 1;
    let seen = 0;
    for (const idx of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(idx)!;
      if (seen >= target) {
        const mid = idx === 0 ? MIN_VALUE : MIN_VALUE * GAMMA ** (idx - 0.5);
        return Math.min(this.max, Math.max(this.min, mid));
      }
    }
    return this.max;
  }
}

export interface TrendStats {
  count: number;
  avg: number;
  min: number;
  med: number;
  max: number;
  p90: number;
  p95: number;
  p99: number;
  /** True when every sample was kept, so percentiles are exact; false when the histogram answered. */
  exact: boolean;
}

/** A distribution of durations in ms: exact samples until `cap`, the histogram beyond. */
export class Trend {
  private samples: Float64Array;
  private size = 0;
  private sum = 0;
  private overflowed = false;
  private sorted: Float64Array | undefined;
  readonly histogram = new LogHistogram();

  constructor(private readonly cap = 200_000) {
    this.samples = new Float64Array(Math.min(cap, 1024));
  }

  get count(): number {
    return this.histogram.count;
  }

  add(value: number): void {
    this.histogram.add(value);
    this.sum += value;
    this.sorted = undefined;
    if (this.overflowed) return;
    if (this.size === this.cap) {
      // Past the cap the exact samples are released; the histogram keeps the whole distribution.
      this.overflowed = true;
      this.samples = new Float64Array(0);
      this.size = 0;
      return;
    }
    if (this.size === this.samples.length) {
      const grown = new Float64Array(Math.min(this.cap, this.samples.length * 2));
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.size++] = value;
  }

  /** Combines trends; the result is exact only while every part is exact and the total fits the cap. */
  static merge(trends: Trend[], cap = 200_000): Trend {
    const out = new Trend(cap);
    const total = trends.reduce((n, t) => n + t.count, 0);
    if (total <= cap && trends.every((t) => !t.overflowed)) {
      for (const t of trends) for (let i = 0; i < t.size; i++) out.add(t.samples[i]!);
      return out;
    }
    out.overflowed = true;
    out.samples = new Float64Array(0);
    for (const t of trends) {
      out.histogram.merge(t.histogram);
      out.sum += t.sum;
    }
    return out;
  }

  percentile(pct: number): number {
    if (this.count === 0) return Number.NaN;
    if (this.overflowed) return this.histogram.quantile(pct);
    this.sorted ??= this.samples.slice(0, this.size).sort();
    return percentileOfSorted(this.sorted, pct);
  }

  stats(): TrendStats {
    return {
      count: this.count,
      avg: this.count === 0 ? Number.NaN : this.sum / this.count,
      min: this.count === 0 ? Number.NaN : this.histogram.min,
      med: this.percentile(50),
      max: this.count === 0 ? Number.NaN : this.histogram.max,
      p90: this.percentile(90),
      p95: this.percentile(95),
      p99: this.percentile(99),
      exact: !this.overflowed,
    };
  }
}
