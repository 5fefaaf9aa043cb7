// alerts/promql.ts: metric names and range windows read from the official PromQL grammar's syntax tree.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRules } from '../alerts/budget.ts';
import { CATALOG } from '../alerts/catalog/index.ts';
import { metricsInExpr, parsePromql, rangeWindows } from '../alerts/promql.ts';

const test = suite('promql parse');

const metrics = (expr: string): string[] => [...metricsInExpr(expr)].sort();

test('reads metric names, skipping functions, keywords, labels and numbers', () => {
  assert.equal(
    metrics('histogram_quantile(0.95, sum by (le, instance) (rate(a_seconds_bucket{job="x", status=~"5xx|error"}[20s]))) > 1e-3\nand on() (b_total or on() vector(0)) unless ignoring(status) c offset 5m'),
    ['a_seconds_bucket', 'b_total', 'c'],
  );
});

test('a label value that looks like a metric or a function is not a metric', () => {
  assert.equal(metrics('up{job="execution_gateway_orders_total", route="rate(x)"} == 0'), ['up']);
  assert.equal(metrics("count(m{a='sum by (b) (c)'})"), ['m']);
});

test('the labels of by (...), without (...), on (...), ignoring (...) and group_left (...) are not metrics', () => {
  assert.equal(metrics('sum by (le, instance) (x) / on(job) group_left(version, model_name) sum without (status) (y)'), ['x', 'y']);
  assert.equal(metrics('a * ignoring(status) group_right(instance) b'), ['a', 'b']);
});

test('a metric named like a function or a keyword is a metric where it selects', () => {
  // `rate` as a selector (no call), and an aggregation written after its body: `sum(x) by (le)`.
  assert.equal(metrics('rate + sum(count_total) by (le) + time()'), ['count_total', 'rate']);
  assert.equal(metrics('absent(foo_up{job="a"}) or absent_over_time(bar_seen[1m])'), ['bar_seen', 'foo_up']);
});

test('reads selectors inside subqueries, offsets, @ modifiers and __name__ matchers', () => {
  assert.equal(metrics('max_over_time(rate(a_total[20s] offset 1m)[5m:30s]) > b @ 1700000000'), ['a_total', 'b']);
  assert.equal(metrics('{__name__="via_name", job="x"} + {__name__=~"re_.*"}'), ['via_name']);
  assert.equal(metrics('vector(1)'), []);
});

test('finds range windows in the order written, a subquery\'s range but not its step', () => {
  assert.equal(rangeWindows('max_over_time(rate(a[20s])[1m:5s]) + increase(b[30s])'), [20, 60, 30]);
  assert.equal(rangeWindows('rate(x[5m] offset 1h) / rate(x[1m30s] offset -10m)'), [300, 90]);
  assert.equal(rangeWindows('min_over_time(up[500ms]) + avg_over_time(y[1d:])'), [0.5, 86_400]);
  assert.equal(rangeWindows('up{le="[20s]"} == 0'), [], 'a bracket inside a label value is no window');
  assert.equal(rangeWindows('up == 0'), []);
});

test('a grammar error names the offset and the expression', () => {
  assert.throws(() => parsePromql('sum(rate(x[20s]) >'), /PromQL does not parse at offset \d+ .* of "sum\(rate\(x\[20s\]\) >"/);
  assert.throws(() => metricsInExpr('up{job="a"'), /PromQL does not parse/);
});

test('reads every generated rule, each selecting at least one metric unless it always fires', () => {
  const alwaysFiring = new Set(CATALOG.filter((d) => d.alwaysFiring).map((d) => d.name));
  for (const rule of loadRules()) {
    parsePromql(rule.expr);
    if (!alwaysFiring.has(rule.alert)) assert.ok(metricsInExpr(rule.expr).size > 0, rule.alert);
  }
});

test.run();
