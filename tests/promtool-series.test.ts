import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { expandValues, seriesLabels } from '../alerts/promtool-series.ts';
import { samples } from '../alerts/series.ts';

const test = suite('promtool series notation');

test("expands the examples of promtool's documentation", () => {
  assert.equal(expandValues('-2+4x3'), [-2, 2, 6, 10]);
  assert.equal(expandValues(' 1-2x4'), [1, -1, -3, -5, -7]);
  assert.equal(expandValues(' 1x4'), [1, 1, 1, 1, 1]);
  assert.equal(expandValues(' 1 _x3 stale'), [1, null, null, null, 'stale']);
});

test('axn repeats a n+1 times but _xn leaves out n samples, as promtool 2.42 and 3.x read them', () => {
  // Checked against both promtools: in "1 _x3 2" the 2 is at 20 s, in "1x2 5" the 5 at 15 s.
  assert.equal(expandValues('1 _x3 2'), [1, null, null, null, 2]);
  assert.equal(expandValues('1x2 5'), [1, 1, 1, 5]);
  assert.equal(expandValues('_'), [null]);
});

test('reads the special values and exponents', () => {
  const v = expandValues('NaN Inf -Inf +Inf 1e3 1e-2x1 0.5+0.25x2');
  assert.ok(Number.isNaN(v[0]));
  assert.equal(v.slice(1), [Infinity, -Infinity, Infinity, 1000, 0.01, 0.01, 0.5, 0.75, 1]);
});

test('reads back what alerts/series.ts writes for counters and gauges', () => {
  const phases = samples(0).grow(10, 12).grow(4, 24);
  const slots = expandValues(String(phases));
  assert.is(slots.length, 36);
  assert.is(slots[11], 120);
  assert.is(slots[12], 124);
  assert.is(slots[35], 216);
  assert.equal(expandValues(String(samples().hold(12, 1).hold(24, 0))), [...Array<number>(12).fill(1), ...Array<number>(24).fill(0)]);
});

test('refuses what is not the notation, naming the token', () => {
  assert.throws(() => expandValues('1 2x'), /"2x"/);
  assert.throws(() => expandValues('1 stalex2'), /"stalex2"/);
});

test("reads a series descriptor's labels with the PromQL grammar", () => {
  assert.equal(seriesLabels('up{job="a",instance="b:1"}'), { __name__: 'up', job: 'a', instance: 'b:1' });
  assert.equal(seriesLabels('x_total'), { __name__: 'x_total' });
  assert.equal(seriesLabels('{__name__="x", le="+Inf", q=\'it\\\'s\'}'), { __name__: 'x', le: '+Inf', q: "it's" });
  assert.throws(() => seriesLabels('up{job=~"a"}'), /label="value"/);
  assert.throws(() => seriesLabels('rate(x[1m])'), /not a series descriptor/);
});

test.run();
