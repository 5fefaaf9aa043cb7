// Every dashboard query on a live stack under baseline load: parses, returns data; a tripped breaker shows on its panel.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { verifyDashboardsLive, type LiveDashboardResult } from '../verify/dashboards-cli.ts';
import { checkDashboards, loadDashboards, type DashboardCheckReport, type DashboardJson } from '../verify/dashboards.ts';

const test = suite('dashboards live');

/** A dashboard with one query that does not parse and one for a metric nobody exposes. */
const BROKEN: DashboardJson = {
  uid: 'broken',
  title: 'Broken',
  panels: [
    { id: 1, type: 'timeseries', title: 'typo', targets: [{ refId: 'A', expr: 'sum(rate(execution_gateway_orders_total[$__rate_interval])' }] },
    { id: 2, type: 'timeseries', title: 'no such metric', targets: [{ refId: 'A', expr: 'execution_gateway_no_such_metric' }] },
  ],
};

let result: LiveDashboardResult | undefined;
let broken: DashboardCheckReport | undefined;

test.before(async () => {
  result = await verifyDashboardsLive({
    warmupS: 25,
    whileUp: async (url) => {
      broken = await checkDashboards(url, { dashboards: [BROKEN], lookbackS: 25 });
    },
  });
});

test('every panel, variable and annotation query of the three dashboards parses and (where required) returns data', () => {
  const r = result!.report;
  const expected = loadDashboards().reduce((n, d) => n + d.panels.reduce((m, p) => m + (p.targets?.length ?? 0), 0) + (d.templating?.list?.length ?? 0) + (d.annotations?.list?.length ?? 0), 0);
  assert.is(r.checks.length, expected);
  assert.equal(r.failures.map((f) => `${f.query.dashboardUid} ${f.query.where}: ${f.error}`), []);
  // The load runner's metrics are scraped here, so the client-side panels must have data too.
  assert.ok(r.checks.filter((c) => /loadgen_/.test(c.query.expr)).every((c) => c.dataRequired && c.seriesWithData > 0));
  assert.ok(r.checks.filter((c) => c.query.kind === 'panel').every((c) => c.dataRequired));
});

test('a query that does not parse and a query with no data both fail the check', () => {
  const f = broken!.failures;
  assert.is(f.length, 2);
  assert.is(f[0]!.parsed, false);
  assert.match(f[0]!.error ?? '', /parse|unclosed|expected/i);
  assert.is(f[1]!.parsed, true);
  assert.is(f[1]!.seriesWithData, 0);
});

test("a tripped circuit breaker shows on the panel CircuitBreakerTripped's dashboard_url points at, and as an alert annotation", () => {
  const fault = result!.fault;
  assert.ok(fault.changed, JSON.stringify(fault));
  assert.equal(Object.values(fault.before), [0]);
  assert.equal(Object.values(fault.during), [1]);
  assert.ok(result!.annotationAfterS !== undefined && result!.annotationAfterS <= 30, `annotation after ${result!.annotationAfterS} s`);
});

test.run();
