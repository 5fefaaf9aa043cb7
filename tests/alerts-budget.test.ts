import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  budgetRow,
  budgetRows,
  documentedMetrics,
  exposedMetrics,
  formatTable,
  harnessRoute,
  loadRules,
  loadTiming,
  missingMetrics,
  referencedMetrics,
  routesFor,
  type Rule,
} from '../alerts/budget.ts';
import { BUDGET_S } from '../alerts/settings.ts';
import { RANGE_SEMANTICS, samplesInWindow, windowFillS } from '../alerts/engine.ts';

const test = suite('alerts budget');

const rule = (expr: string, forDuration: string, severity = 'high'): Rule => ({ alert: 'Synthetic', expr, for: forDuration, labels: { severity, service: 'x', category: 'trading' }, annotations: {} });

test('reads 5 s scrape and evaluation intervals and a 4 s scrape timeout from prometheus.yml', () => {
  assert.equal(loadTiming(), { scrapeS: 5, scrapeTimeoutS: 4, evalS: 5 });
});

test('every alert notifies within the budget in the worst case (prints the table)', () => {
  const rows = budgetRows();
  process.stdout.write(`\n${formatTable(rows)}\n`);
  assert.ok(rows.length >= 30);
  assert.equal(rows.flatMap((r) => r.problems.map((p) => `${r.alert}: ${p}`)), []);
  const down = rows.find((r) => r.alert === 'ExecutionGatewayDown')!;
  // scrape timeout 4 + scrape 5 + no window + eval 5 + for 10 + max(group_wait 5, group_interval 10) + delivery 1
  assert.is(down.totalS, 35);
  assert.is(rows.find((r) => r.alert === 'NoOrdersWhileMarketOpen')!.fillS, 30);
});

test('fails an alert whose for pushes it past the budget', () => {
  const row = budgetRow(rule('up == 0', '45s'), 0, loadTiming(), harnessRoute(rule('up == 0', '45s')));
  assert.is(row.totalS, 5 + 0 + 5 + 45 + 10 + 1);
  assert.ok(row.totalS > BUDGET_S);
  assert.match(row.problems.join(), new RegExp(`exceeds the ${BUDGET_S} s budget`));
});

test("window fill follows the version's range semantics: left-open (3.x) fills one scrape sooner than left-closed (2.x)", () => {
  const r = rule('rate(x_total[20s]) > 1 and max_over_time(y[30s]) > 0', '10s');
  const closed = budgetRow(r, 0, loadTiming(), harnessRoute(r));
  const open = budgetRow(r, 0, { ...loadTiming(), rangeSemantics: RANGE_SEMANTICS['3'] }, harnessRoute(r));
  assert.is(closed.semantics, 'left-closed');
  assert.is(closed.fillS, 30);
  assert.is(open.fillS, 25);
  assert.is(closed.totalS - open.totalS, 5);
  // Samples a full 20 s window holds on the 5 s grid: 5 with the sample exactly 20 s old (2.x), 4 without it (3.x).
  assert.is(samplesInWindow(20, 5, RANGE_SEMANTICS['2']), 5);
  assert.is(samplesInWindow(20, 5, RANGE_SEMANTICS['3']), 4);
  assert.is(windowFillS(0, 5, 'left-open'), 0);
});

test('every alert meets the budget under both versions, and no alert has a longer worst case under 3.x', () => {
  const two = budgetRows(undefined, { ...loadTiming(), rangeSemantics: RANGE_SEMANTICS['2'] });
  const three = budgetRows(undefined, { ...loadTiming(), rangeSemantics: RANGE_SEMANTICS['3'] });
  assert.equal(three.flatMap((r) => r.problems), []);
  for (const [i, r] of three.entries()) assert.ok(r.totalS <= two[i]!.totalS, r.alert);
  assert.ok(three.some((r, i) => r.totalS < two[i]!.totalS), 'some windowed alert is faster under left-open ranges');
});

test('fails a rate window shorter than four scrape intervals', () => {
  const r = rule('rate(x_total[10s]) > 1', '0s');
  assert.match(budgetRow(r, 0, loadTiming(), harnessRoute(r)).problems.join(), /range window 10 s is shorter than 4x/);
});

test('walks the Alertmanager tree like Alertmanager: continue routes, inherited timing, Watchdog override', () => {
  const critical = routesFor({ alertname: 'X', severity: 'critical' });
  assert.equal(critical.map((r) => r.receiver), ['pagerduty', 'slack', 'critical']);
  assert.equal(critical[2], { receiver: 'critical', groupWaitS: 5, groupIntervalS: 10 });
  assert.equal(routesFor({ alertname: 'Watchdog', severity: 'low', run_id: 'r' }), [{ receiver: 'watchdog', groupWaitS: 0, groupIntervalS: 5 }]);
});

test('every metric a rule references is documented in docs/contracts.md or DESIGN.md', () => {
  const referenced = referencedMetrics();
  assert.ok(referenced.has('execution_gateway_orders_total'));
  assert.ok(referenced.has('execution_gateway_order_placement_duration_seconds_bucket'));
  assert.equal(missingMetrics(referenced, documentedMetrics()), []);
});

test('reports a referenced metric nobody documents or exposes', () => {
  const referenced = new Set(['up', 'execution_gateway_orders_total', 'made_up_metric_total', 'x_seconds_count']);
  assert.equal(missingMetrics(referenced, new Set(['execution_gateway_orders_total', 'x_seconds'])), ['made_up_metric_total']);
});

test('parses metric names from a Prometheus text exposition, including declared families without series', () => {
  const text = '# HELP a_total help\n# TYPE a_total counter\na_total{x="1"} 3\nb 1\nc_bucket{le="+Inf"} 2\n# HELP d_total no series yet\n# TYPE d_total counter\n';
  assert.equal([...exposedMetrics(text)].sort(), ['a_total', 'b', 'c_bucket', 'd_total']);
});

test('the generated rules are the ones the budget reads', () => {
  assert.equal(loadRules().length, budgetRows().length);
});

test.run();
