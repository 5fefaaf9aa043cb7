// Tuning mode (env TUNING_EXACT=1): histograms also keep every observation exactly, served on GET /tuning as the tuner's ground truth.
import { Histogram, type HistogramConfiguration, type LabelValues, type Registry } from 'prom-client';

/** Observations kept per series; a baseline tuning run stays far below it, and memory stays bounded if one runs long. */
export const MAX_EXACT_SAMPLES = 1_000_000;

export interface ExactSeries {
  name: string;
  labels: Record<string, string>;
  /** Observed values in observation order, so the first N are exactly the ones a scrape showing _count = N had seen. */
  values: number[];
  /** Epoch ms of each observation (same order), for replaying the alerts' sliding windows. */
  times: number[];
  /** Observations beyond MAX_EXACT_SAMPLES that were counted by the histogram but not kept. */
  dropped: number;
}

export class ExactRecorder {
  private readonly series = new Map<string, ExactSeries>();

  record(name: string, labels: Record<string, string>, value: number): void {
    const sorted = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
    const key = `${name}${JSON.stringify(sorted)}`;
    let s = this.series.get(key);
    if (!s) {
      s = { name, labels: sorted, values: [], times: [], dropped: 0 };
      this.series.set(key, s);
    }
    if (s.values.length < MAX_EXACT_SAMPLES) {
      s.values.push(value);
      s.times.push(Date.now());
    } else s.dropped++;
  }

  snapshot(): ExactSeries[] {
    return [...this.series.values()].map((s) => ({ ...s, values: [...s.values], times: [...s.times] }));
  }
}

const recorders = new WeakMap<Registry, ExactRecorder>();

/**
 * The exact recorder of a service's registry when tuning mode is on (TUNING_EXACT=1), else undefined. Keyed by
 * registry so createService can serve /tuning for the same instance without another dependency to thread through.
 */
export function tuningRecorder(registry: Registry, env: NodeJS.ProcessEnv = process.env): ExactRecorder | undefined {
  if (env.TUNING_EXACT !== '1') return undefined;
  let r = recorders.get(registry);
  if (!r) {
    r = new ExactRecorder();
    recorders.set(registry, r);
  }
  return r;
}

/** The recorder tuningRecorder attached to this registry, if any. */
export function recorderOf(registry: Registry): ExactRecorder | undefined {
  return recorders.get(registry);
}

/** A prom-client Histogram that also hands every observation to an exact recorder (when one is given). */
export class RecordedHistogram<T extends string = string> extends Histogram<T> {
  constructor(config: HistogramConfiguration<T>, recorder: ExactRecorder | undefined) {
    super(config);
    if (!recorder) return;
    // prom-client assigns observe per instance in its constructor (startTimer calls it too), so it is replaced here, once.
    const observeBuckets = this.observe.bind(this) as (labels: LabelValues<T> | number, value?: number) => void;
    const name = config.name;
    const observe = (labelsOrValue: LabelValues<T> | number, value?: number): void => {
      observeBuckets(labelsOrValue, value);
      if (typeof labelsOrValue === 'number') recorder.record(name, {}, labelsOrValue);
      else if (value !== undefined) recorder.record(name, stringLabels(labelsOrValue), value);
    };
    this.observe = observe as Histogram<T>['observe'];
  }
}

function stringLabels(labels: object): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]));
}
