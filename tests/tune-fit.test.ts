import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadTiming } from '../alerts/budget.ts';
import { PROMETHEUS_MAJORS, RANGE_SEMANTICS } from '../alerts/engine.ts';
import { ALERTS_DIR, loadThresholds } from '../alerts/model.ts';
import { nice, recommendBuckets, snapUp125 } from '../verify/tune/buckets.ts';
import { bucketize, exactQuantile, fitHistogram, histogramQuantile } from '../verify/tune/fit.ts';
import { detectionFor, peakWindowQuantile, recommendLatency, recommendRate, replayLatencyWindows, tunableAlerts } from '../verify/tune/thresholds.ts';

const test = suite('tune: fit and recommendation math');

/** Inverse standard normal CDF (Acklam), accurate to ~1e-9: lets the lognormal cases have exactly known quantiles. */
function probit(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number): number => (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** n samples placed at the (i+0.5)/n quantiles of a distribution: deterministic, with known quantiles. */
const grid = (n: number, inv: (u: number) => number): number[] => Array.from({ length: n }, (_, i) => inv((i + 0.5) / n));
const uniform = (n: number, lo: number, hi: number): number[] => grid(n, (u) => lo + (hi - lo) * u);
const lognormal = (n: number, median: number, sigma: number): number[] => grid(n, (u) => median * Math.exp(sigma * probit(u)));
const PROM_DEFAULT = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

test('histogram_quantile interpolates inside the bucket and caps +Inf at the largest finite bound, as Prometheus does', () => {
  const b = [
    { le: 1, count: 10 },
    { le: 2, count: 20 },
    { le: Infinity, count: 20 },
  ];
  assert.is(histogramQuantile(0.75, b), 1.5);
  assert.is(histogramQuantile(0.25, b), 0.5);
  assert.is(histogramQuantile(1, b), 2);
  assert.is(histogramQuantile(0.9, [{ le: 1, count: 10 }, { le: Infinity, count: 20 }]), 1);
  assert.ok(Number.isNaN(histogramQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }])));
  assert.ok(Number.isNaN(histogramQuantile(0.5, [{ le: 1, count: 3 }])));
});

test('bucketize counts cumulatively with inclusive upper bounds', () => {
  assert.equal(bucketize([0.5, 1, 1.5, 3], [1, 2]), [
    { le: 1, count: 2 },
    { le: 2, count: 3 },
    { le: Infinity, count: 4 },
  ]);
  assert.is(exactQuantile([1, 2, 3, 4], 0.5), 2);
  assert.is(exactQuantile([1, 2, 3, 4], 0.76), 4);
});

test('uniform samples on evenly spaced buckets: the estimate is exact and the verdict is fits', () => {
  const samples = uniform(10_000, 0, 1);
  const f = fitHistogram(samples, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1], { targetRelError: 0.05 });
  for (const q of f.quantiles) assert.ok(Math.abs(q.estimate - q.q) < 1e-3 && Math.abs(q.exact - q.q) < 1e-3, `p${q.q}: exact ${q.exact} estimate ${q.estimate}`);
  assert.is(f.verdict, 'fits');
  assert.is(f.infShare, 0);
  assert.ok(Math.abs(f.densest.share - 0.1) < 1e-9);
});

test('lognormal on the default buckets is too coarse at p95-p99; recommended buckets meet the target', () => {
  const median = 0.012;
  const sigma = 0.5;
  const samples = lognormal(20_000, median, sigma);
  const p95 = median * Math.exp(sigma * 1.6448536);
  assert.ok(Math.abs(exactQuantile([...samples].sort((a, b) => a - b), 0.95) / p95 - 1) < 1e-3);
  const before = fitHistogram(samples, PROM_DEFAULT, { targetRelError: 0.1 });
  assert.is(before.verdict, 'too coarse near p95-p99');
  const rec = recommendBuckets(samples, { thresholds: [0.25], targetRelError: 0.1, maxBuckets: 50 });
  assert.ok(rec.metTarget, `fill ratio ${rec.fillRatio}`);
  assert.ok(rec.bounds.length <= 50);
  assert.ok(rec.bounds.includes(0.25) && rec.bounds.includes(0.5) && rec.bounds.includes(1), rec.bounds.join(','));
  assert.ok(rec.fit.tailError <= 0.1, `tail error ${rec.fit.tailError}`);
  assert.is(rec.fit.verdict, 'fits');
  for (let i = 1; i < rec.bounds.length; i++) assert.ok(rec.bounds[i]! > rec.bounds[i - 1]!);
});

test('a tight budget widens the fill and says the target was not met, but keeps every required boundary', () => {
  const samples = lognormal(5000, 0.01, 0.8);
  const rec = recommendBuckets(samples, { thresholds: [0.1, 0.25], targetRelError: 0.02, maxBuckets: 12, ceiling: 3 });
  assert.ok(rec.bounds.length <= 12, rec.bounds.join(','));
  assert.not.ok(rec.metTarget);
  for (const b of [0.1, 0.25, 0.5, 1, 3]) assert.ok(rec.bounds.includes(b), `${b} missing from ${rec.bounds.join(',')}`);
});

test('bimodal: buckets without a boundary in the slow mode miss p95 by far; recommended ones land within target', () => {
  const samples = [...uniform(9000, 0.004, 0.006), ...uniform(1000, 0.18, 0.22)];
  const sorted = [...samples].sort((a, b) => a - b);
  assert.ok(Math.abs(exactQuantile(sorted, 0.95) - 0.2) < 1e-3);
  const coarse = fitHistogram(samples, [0.005, 0.01, 0.1, 1], { targetRelError: 0.1 });
  assert.is(coarse.verdict, 'too coarse near p95-p99');
  assert.ok(coarse.tailError > 0.5, `coarse error ${coarse.tailError}`);
  const rec = recommendBuckets(samples, { thresholds: [1], targetRelError: 0.1, maxBuckets: 40 });
  assert.ok(rec.fit.tailError <= 0.1, `recommended error ${rec.fit.tailError} with ${rec.bounds.join(',')}`);
});

test('verdicts: overflowing, wasted buckets and insufficient data', () => {
  const over = fitHistogram([...uniform(90, 0.01, 0.05), ...uniform(10, 2, 3)], [0.01, 0.05, 0.1, 1], { targetRelError: 0.1 });
  assert.is(over.verdict, 'overflowing');
  assert.ok(Math.abs(over.infShare - 0.1) < 1e-9);
  const wasted = fitHistogram(uniform(1000, 0.0011, 0.0019), [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25], { targetRelError: 0.5 });
  assert.is(wasted.verdict, 'wasted buckets');
  assert.is(wasted.emptyBuckets, 7);
  assert.is(fitHistogram([0.1, 0.2], [1], { targetRelError: 0.1 }).verdict, 'insufficient data');
});

test('snapping: 1-2-2.5-5 steps at or above the value; nice rounds to two significant digits', () => {
  assert.equal([0.0787, 0.0216, 0.374, 1, 0.11, 3.2].map(snapUp125), [0.1, 0.025, 0.5, 1, 0.2, 5]);
  assert.equal([0.012345, 0.0987, 1.549].map(nice), [0.012, 0.099, 1.5]);
});

const alert = (name: string) => tunableAlerts(loadThresholds()).find((a) => a.name === name)!;

/** 2 observations per second for `seconds`, values from `value(i)`. */
function timed(seconds: number, value: (i: number) => number): { values: number[]; times: number[] } {
  const n = seconds * 2;
  return { values: Array.from({ length: n }, (_, i) => value(i)), times: Array.from({ length: n }, (_, i) => 1_000_000 + i * 500) };
}

test('peak window p95: the largest exact p95 over the rule\'s windows, gated by its minimum rate', () => {
  const a = alert('SlowOrderPlacement');
  // A minute at 10 ms, then a minute at 30 ms: the windows inside the second minute all have p95 30 ms.
  const step = timed(120, (i) => (i < 120 ? 0.01 : 0.03));
  assert.is(peakWindowQuantile(step, a.tuning, 5), 0.03);
  assert.is(peakWindowQuantile(timed(120, () => 0.01), a.tuning, 5), 0.01);
  // 2 observations per second never reach a minRate of 5/s: no window counts.
  assert.ok(Number.isNaN(peakWindowQuantile(step, { ...a.tuning, minRate: 5 }, 5)));
  assert.ok(Number.isNaN(peakWindowQuantile({ values: [], times: [] }, a.tuning, 5)));
});

test('latency threshold: 2x the peak window p95 snapped up to a boundary, quiet over every replayed window', () => {
  const a = alert('SlowOrderPlacement');
  assert.is(a.kind, 'latency');
  assert.is(a.metric, 'execution_gateway_order_placement_duration_seconds');
  const values = lognormal(240, 0.01, 0.4);
  const shuffled = values.map((_, i) => values[(i * 97) % values.length]!);
  const samples = { values: shuffled, times: shuffled.map((_, i) => 1_000_000 + i * 500) };
  const rec = recommendLatency(a, samples, (thr) => recommendBuckets(shuffled, { thresholds: [thr], targetRelError: 0.1, maxBuckets: 20 }).bounds);
  const p95 = exactQuantile([...values].sort((x, y) => x - y), 0.95);
  assert.is(rec.overallP95, p95);
  assert.is(rec.baseline, Math.max(p95, peakWindowQuantile(samples, a.tuning, 5)));
  assert.ok(rec.baseline >= p95);
  assert.is(rec.recommended, snapUp125(2 * rec.baseline));
  assert.is(rec.replay!.firing, 0);
  assert.ok(rec.replay!.windows > 20);
  assert.ok(rec.applicable);
  assert.ok(rec.detectionRecommended.worstCaseS < rec.detectionNow.worstCaseS, 'a lower threshold completes sooner, so it is detected sooner');
});

test('latency threshold: a baseline burst sets the peak, so the threshold clears it instead of paging on it', () => {
  const a = alert('SlowOrderPlacement');
  // 2 minutes at 10 ms with one 5 s burst at 80 ms (4% of the run): p95 over the run stays 10 ms, but that burst's windows exceed 2x.
  const samples = timed(120, (i) => (i >= 100 && i < 110 ? 0.08 : 0.01));
  const boundsFor = (thr: number): number[] => recommendBuckets(samples.values, { thresholds: [thr], targetRelError: 0.1, maxBuckets: 20 }).bounds;
  const rec = recommendLatency(a, samples, boundsFor);
  assert.is(rec.overallP95, 0.01);
  assert.is(rec.baseline, 0.08);
  assert.is(rec.raw, 0.16);
  assert.is(rec.recommended, 0.2);
  assert.is(rec.replay!.firing, 0);
  // 2x the whole-run p95 would have paged on the burst.
  assert.is(replayLatencyWindows(samples, boundsFor(0.02), { ...a.tuning, threshold: 0.02 }, 5).firing > 0, true);
});

test('rate thresholds: never below the current one, raised to 2x a baseline peak that comes close', () => {
  const ratio = alert('OrderRejectionRateHigh');
  assert.is(ratio.kind, 'ratio');
  assert.is(recommendRate(ratio, 0).recommended, ratio.tuning.threshold);
  assert.is(recommendRate(ratio, 0.13).recommended, 0.3);
  assert.not.ok(recommendRate(ratio, 0.6).applicable);
  const count = alert('MarketDataReconnectStorm');
  assert.is(count.kind, 'count');
  assert.is(recommendRate(count, 2.2).recommended, 5);
  assert.is(recommendRate(count, 1).recommended, count.tuning.threshold);
});

test('detection times equal the budget the generator wrote into alerts.json', () => {
  const doc = JSON.parse(fs.readFileSync(path.join(ALERTS_DIR, 'alerts.json'), 'utf8')) as { alerts: Array<{ name: string; worstCaseS: Record<string, number> }> };
  for (const a of tunableAlerts(loadThresholds())) {
    for (const major of PROMETHEUS_MAJORS) {
      assert.is(detectionFor(a, a.tuning, { ...loadTiming(), rangeSemantics: RANGE_SEMANTICS[major] }).worstCaseS, doc.alerts.find((x) => x.name === a.name)!.worstCaseS[major], `${a.name} (Prometheus ${major})`);
    }
  }
});

test.run();
