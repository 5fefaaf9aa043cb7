// Builders for promtool input series: sample runs written in promtool's expanding notation ("0+5x11").
import type { SeriesInput } from './model.ts';

/** Test samples are 5 s apart, like the real scrape interval. */
export const STEP_S = 5;

/** A sequence of samples built phase by phase; the counter value carries over between phases. */
export class Samples {
  private readonly parts: string[] = [];
  private current: number;

  constructor(start = 0) {
    this.current = start;
  }

  /** n samples that each add `perSample` to the previous value (a counter growing at perSample / 5 s). */
  grow(perSample: number, n: number): this {
    if (n <= 0) return this;
    const first = this.current + perSample;
    this.parts.push(n === 1 ? `${first}` : `${first}+${perSample}x${n - 1}`);
    this.current = first + perSample * (n - 1);
    return this;
  }

  /** n samples of the same value (a gauge level, or a counter that stopped). */
  hold(n: number, value = this.current): this {
    if (n <= 0) return this;
    this.parts.push(n === 1 ? `${value}` : `${value}x${n - 1}`);
    this.current = value;
    return this;
  }

  /** n samples where the target is gone: a stale marker (what Prometheus writes on a failed scrape), then nothing. */
  gap(n: number): this {
    if (n > 0) this.parts.push('stale');
    // promtool reads `_xk` as k missing samples (unlike `axk`, which is k+1 samples).
    if (n === 2) this.parts.push('_');
    if (n > 2) this.parts.push(`_x${n - 1}`);
    return this;
  }

  /** n slots without a sample and without a stale marker: Prometheus itself was not scraping (down, restarting). */
  missing(n: number): this {
    if (n === 1) this.parts.push('_');
    if (n > 1) this.parts.push(`_x${n}`);
    return this;
  }

  toString(): string {
    return this.parts.join(' ');
  }
}

export const samples = (start = 0): Samples => new Samples(start);

export function series(name: string, labels: Record<string, string>, values: Samples | string): SeriesInput {
  const body = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return { series: body ? `${name}{${body}}` : name, values: String(values) };
}

export interface HistogramPhase {
  samples: number;
  /** [observed value, observations per sample interval] pairs. */
  observations: Array<[number, number]>;
}

/** Bucket and _count series of a histogram whose observations follow the given phases (rules never read _sum). */
export function histogram(name: string, labels: Record<string, string>, bounds: number[], phases: HistogramPhase[]): SeriesInput[] {
  const all = [...bounds, Infinity];
  const out: SeriesInput[] = all.map((le) => {
    const s = samples();
    for (const p of phases) s.grow(p.observations.reduce((n, [value, count]) => n + (value <= le ? count : 0), 0), p.samples);
    return series(`${name}_bucket`, { ...labels, le: le === Infinity ? '+Inf' : String(le) }, s);
  });
  const count = samples();
  for (const p of phases) count.grow(p.observations.reduce((n, [, c]) => n + c, 0), p.samples);
  out.push(series(`${name}_count`, labels, count));
  return out;
}
