import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { scorePrices, validateModel } from '../services/signal-service/models.ts';
import { rankSignals } from '../services/signal-service/signals.ts';
import { createSignalMetrics, MAX_MODEL_NAME_LABELS, MAX_MODEL_VERSION_LABELS } from '../services/signal-service/metrics.ts';

const test = suite('signal-service models and ranking');

test('momentum scores the return over the lookback window when history is long enough', () => {
  // Newest first: 110 now, 100 three prices ago; the 50 is outside a lookback of 4.
  assert.is(scorePrices('momentum', [110, 105, 95, 100, 50], 4), 0.1);
  assert.is(scorePrices('momentum', [90, 100], 2), -0.1);
  assert.is(scorePrices('momentum', [100, 100, 100], 3), 0);
});

test('mean reversion scores minus the z-score of the newest price', () => {
  // Window [5,1,1,5]: mean 3, population sd 2, newest z = +1.
  assert.is(scorePrices('mean_reversion', [5, 1, 1, 5], 4), -1);
  assert.is(scorePrices('mean_reversion', [1, 5, 5, 1, 1000], 4), 1);
  // Flat window: sd 0, scored as 0 rather than NaN.
  assert.is(scorePrices('mean_reversion', [3, 3, 3], 3), 0);
  // Newest at the mean is 0, not -0.
  assert.ok(Object.is(scorePrices('mean_reversion', [3, 1, 5], 3), 0));
});

test('returns undefined when history is shorter than lookback or holds unusable prices', () => {
  assert.is(scorePrices('momentum', [1, 2], 3), undefined);
  assert.is(scorePrices('mean_reversion', [], 2), undefined);
  assert.is(scorePrices('momentum', [Number.NaN, 2, 3], 3), undefined);
  assert.is(scorePrices('momentum', [1, 0], 2), undefined);
});

test('ranks by score and gives top N +0.5/N and bottom N -0.5/N', () => {
  const signals = rankSignals(
    [
      { symbol: 'A', score: 0.3 },
      { symbol: 'B', score: -0.2 },
      { symbol: 'C', score: 0.1 },
      { symbol: 'D', score: 0.5 },
      { symbol: 'E', score: -0.4 },
    ],
    2,
  );
  assert.equal(signals, [
    { symbol: 'D', score: 0.5, target_weight: 0.25 },
    { symbol: 'A', score: 0.3, target_weight: 0.25 },
    { symbol: 'C', score: 0.1, target_weight: 0 },
    { symbol: 'B', score: -0.2, target_weight: -0.25 },
    { symbol: 'E', score: -0.4, target_weight: -0.25 },
  ]);
});

test('shrinks N so no symbol is both long and short when the universe is small', () => {
  const signals = rankSignals(
    [
      { symbol: 'X', score: 1 },
      { symbol: 'Y', score: 2 },
      { symbol: 'Z', score: 0 },
    ],
    5,
  );
  assert.equal(signals.map((s) => [s.symbol, s.target_weight]), [['Y', 0.5], ['X', 0], ['Z', -0.5]]);
  assert.equal(rankSignals([{ symbol: 'ONLY', score: 1 }], 3), [{ symbol: 'ONLY', score: 1, target_weight: 0 }]);
});

test('breaks score ties by symbol so output is deterministic', () => {
  const signals = rankSignals(
    [
      { symbol: 'B', score: 1 },
      { symbol: 'A', score: 1 },
    ],
    1,
  );
  assert.equal(signals.map((s) => s.symbol), ['A', 'B']);
});

test('validation names every problem of a broken model row', () => {
  const bad = validateModel({ id: 1, name: 'm', version: 1, kind: 'astrology', params: { lookback: 1, topN: 0 } });
  assert.is(bad.ok, false);
  if (!bad.ok) {
    assert.ok(bad.problems.some((p) => p.startsWith('kind: "astrology"')));
    assert.ok(bad.problems.some((p) => p.startsWith('params.lookback:')));
    assert.ok(bad.problems.some((p) => p.startsWith('params.topN:')));
  }
  const notObject = validateModel({ id: 1, name: 'm', version: 1, kind: 'momentum', params: 'lookback=5' });
  assert.is(notObject.ok, false);
  if (!notObject.ok) assert.match(notObject.problems[0]!, /^params: Expected object/);
  const good = validateModel({ id: 7, name: 'm', version: 2, kind: 'mean_reversion', params: { lookback: 20, topN: 3 } });
  assert.equal(good, { ok: true, model: { id: 7, name: 'm', version: 2, kind: 'mean_reversion', params: { lookback: 20, topN: 3 } } });
});

test('model name labels stay bounded across 10,000 random names', async () => {
  const metrics = createSignalMetrics();
  const labels = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const name = `m-${Math.random().toString(36).slice(2)}${i % 7 === 0 ? ' with spaces' : ''}`;
    const label = metrics.modelNameLabel(name);
    labels.add(label);
    metrics.predictions.inc({ model_name: label });
  }
  assert.is(labels.size, MAX_MODEL_NAME_LABELS + 1);
  assert.ok(labels.has('other'));
  const series = (await metrics.predictions.get()).values;
  assert.is(series.length, MAX_MODEL_NAME_LABELS + 1);
  assert.is(series.reduce((a, v) => a + v.value, 0), 10_000);
});

test('model version series keep only the most recent versions', async () => {
  const metrics = createSignalMetrics();
  for (let v = 1; v <= 10_000; v++) metrics.signalsGenerated.inc({ model_version: metrics.modelVersionLabel(v) });
  const versions = (await metrics.signalsGenerated.get()).values.map((v) => v.labels.model_version);
  assert.equal(versions.sort(), Array.from({ length: MAX_MODEL_VERSION_LABELS }, (_, i) => String(10_000 - MAX_MODEL_VERSION_LABELS + 1 + i)).sort());
});

test.run();
