// Turns a baseline measurement into the tuning result: fit of every histogram, recommended buckets and thresholds.
import { loadTiming, type Timing } from '../../alerts/budget.ts';
import { RANGE_SEMANTICS } from '../../alerts/engine.ts';
import type { Tuning } from '../../alerts/model.ts';
import { majorOf } from '../../stack/prometheus-version.ts';
import { recommendBuckets, type BucketRecommendation } from './buckets.ts';
import { fitHistogram, type HistogramFit } from './fit.ts';
import type { HistogramMeasurement, Measurement } from './measure.ts';
import { recommendLatency, recommendRate, tunableAlerts, type ThresholdRecommendation } from './thresholds.ts';

export interface TuneOptions {
  targetRelError: number;
  maxBuckets: number;
}

export interface HistogramResult {
  metric: string;
  service: string;
  /** Latency alerts reading this histogram. */
  alerts: string[];
  current: HistogramFit;
  /** |Prometheus' histogram_quantile - our replay| per quantile: both read the same observations through the same buckets. */
  promAgreement: Array<{ q: number; prometheus: number; replay: number }>;
  recommended?: BucketRecommendation;
}

export interface TuneResult {
  options: TuneOptions;
  measurement: Omit<Measurement, 'histograms'> & { histograms: Array<Omit<HistogramMeasurement, 'values' | 'times'> & { n: number }> };
  histograms: HistogramResult[];
  thresholds: ThresholdRecommendation[];
}

/** prometheus.yml's intervals, under the range semantics of the Prometheus the baseline ran on (2.x when unknown). */
function timingOf(m: Measurement): Timing {
  return { ...loadTiming(), rangeSemantics: RANGE_SEMANTICS[majorOf(m.prometheus?.version ?? '') ?? '2'] };
}

export function analyze(m: Measurement, thresholds: Record<string, Tuning>, opts: TuneOptions): TuneResult {
  const alerts = tunableAlerts(thresholds);
  const timing = timingOf(m);
  const thresholdRecs: ThresholdRecommendation[] = [];
  const histograms: HistogramResult[] = m.histograms.map((h) => {
    const readers = alerts.filter((a) => a.kind === 'latency' && a.metric === h.metric);
    const currentThresholds = readers.map((a) => a.tuning.threshold!);
    const current = fitHistogram(h.values, h.bounds, { targetRelError: opts.targetRelError, thresholds: currentThresholds });
    const promAgreement = h.promEstimates.map((p) => ({ q: p.q, prometheus: p.value, replay: current.quantiles.find((f) => f.q === p.q)!.estimate }));
    if (h.values.length === 0) return { metric: h.metric, service: h.service, alerts: readers.map((a) => a.name), current, promAgreement };
    const samples = { values: h.values, times: h.times };
    const ceiling = h.bounds[h.bounds.length - 1];
    const boundsFor = (threshold: number): number[] => recommendBuckets(h.values, { ...opts, ceiling, thresholds: [...currentThresholds, threshold] }).bounds;
    const recs = readers.map((a) => recommendLatency(a, samples, boundsFor, timing));
    thresholdRecs.push(...recs);
    const keep = [...currentThresholds, ...recs.filter((r) => r.applicable).map((r) => r.recommended)];
    const recommended = recommendBuckets(h.values, { ...opts, ceiling, thresholds: keep });
    return { metric: h.metric, service: h.service, alerts: readers.map((a) => a.name), current, promAgreement, recommended };
  });
  for (const a of alerts.filter((x) => x.kind !== 'latency')) thresholdRecs.push(recommendRate(a, m.alertPeaks[a.name] ?? NaN, timing));
  for (const a of alerts.filter((x) => x.kind === 'latency' && !m.histograms.some((h) => h.metric === x.metric))) {
    throw new Error(`${a.name} reads ${a.metric}, which services/buckets.json does not define; add its buckets there`);
  }
  const { histograms: hs, ...rest } = m;
  return {
    options: opts,
    measurement: { ...rest, histograms: hs.map(({ values, times: _times, ...h }) => ({ ...h, n: values.length })) },
    histograms,
    thresholds: thresholdRecs,
  };
}
