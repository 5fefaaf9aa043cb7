// report.html in a real browser: headless Chromium draws every why-it-fired chart (multi-series, threshold, every
// mark, an empty chart that says why), the report fetches nothing and runs no script, and the checker itself fails
// on a chart that is in the markup but not drawn.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessOwner } from '../stack/processes.ts';
import { renderHtml } from '../verify/report/html.ts';
import { MAX_SERIES, renderChart } from '../verify/report/svg-chart.ts';
import type { AlertOutcome, ExprChart, RunReport } from '../verify/results.ts';
import { DRAWN_CHARTS_JS, type DrawnPage } from './helpers/chart-check.ts';
import { startChromium, type CdpPage } from './helpers/chromium.ts';

const T0 = 1_760_000_000;
const iso = (unixS: number): string => new Date(unixS * 1000).toISOString();

/** A series sampled every stepS from `from`, one value per step (undefined = no sample there). */
const sampled = (labels: Record<string, string>, from: number, stepS: number, values: (number | undefined)[]): ExprChart['series'][number] => ({
  labels,
  points: values.flatMap((v, i): [number, number][] => (v === undefined ? [] : [[from + i * stepS, v]])),
});

const ramp = (n: number, at: number, lo: number, hi: number): number[] => Array.from({ length: n }, (_, i) => (i < at ? lo + i * 0.001 : hi + (i % 3) * 0.01));

/** Every stage marked: fault at T0, recovery 60 s later. */
const allMarks = { fault: T0, pending: T0 + 10, firing: T0 + 20, notified: T0 + 21, recovered: T0 + 60, resolved: T0 + 70 };

const CHARTS: Record<string, ExprChart> = {
  multiSeries: {
    expr: 'sum by (instance) (rate(http_requests_total{status=~"5.."}[20s])) / sum by (instance) (rate(http_requests_total[20s]))',
    op: '>',
    threshold: 0.2,
    stepS: 5,
    from: T0 - 30,
    to: T0 + 85,
    series: Array.from({ length: 10 }, (_, i) => sampled({ job: 'gw', instance: `gw-${i}:8080` }, T0 - 30, 5, ramp(24, 6, 0.01 * i, i === 0 ? 0.6 : 0.05))),
    marks: allMarks,
  },
  gapsAndInfinities: {
    expr: 'histogram_quantile(0.95, sum by (le) (rate(order_seconds_bucket[20s])))',
    op: '>=',
    threshold: 1.5,
    stepS: 5,
    from: T0 - 30,
    to: T0 + 85,
    series: [sampled({}, T0 - 30, 5, [0.2, 0.2, undefined, 0.3, 0.2, 0.2, 2, 2.5, Infinity, Infinity, 3, 3, undefined, undefined, NaN, 0.4, 0.3, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2])],
    marks: allMarks,
  },
  noThreshold: {
    expr: 'absent(up{job="market-data"})',
    stepS: 5,
    from: T0 - 30,
    to: T0 + 40,
    series: [sampled({ job: 'market-data' }, T0 - 30, 5, [undefined, undefined, undefined, undefined, undefined, undefined, 1, 1, 1, 1, 1, 1, 1, 1, 1])],
    // Notified after the chart ends: not drawn.
    marks: { fault: T0, pending: T0 + 5, firing: T0 + 15, notified: T0 + 300 },
  },
  failedQuery: {
    expr: 'rate(x[20s])',
    op: '>',
    threshold: 1,
    stepS: 5,
    from: T0 - 30,
    to: T0 + 85,
    series: [],
    marks: allMarks,
    error: 'Prometheus GET http://127.0.0.1:9090/api/v1/query_range answered HTTP 503 <unavailable>',
  },
  nearMiss: {
    expr: 'max(redis_connected)',
    op: '==',
    threshold: 0,
    stepS: 5,
    from: T0 + 440,
    to: T0 + 560,
    series: [sampled({}, T0 + 440, 5, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])],
    marks: { pending: T0 + 500 },
  },
  falsePositive: {
    expr: 'sum(increase(orders_failed_total[30s]))',
    op: '>',
    threshold: 3,
    stepS: 5,
    from: T0 + 740,
    to: T0 + 860,
    series: [sampled({}, T0 + 740, 5, Array.from({ length: 25 }, (_, i) => (i >= 10 && i < 16 ? 5 : 1)))],
    marks: { pending: T0 + 800 },
  },
  falsePositiveEmpty: { expr: 'up{job="fake-alpaca"}', op: '==', threshold: 0, stepS: 5, from: T0 + 900, to: T0 + 1020, series: [], marks: { pending: T0 + 960 } },
};

function alert(alertname: string, service: string | undefined, chart: ExprChart, verdict: AlertOutcome['verdict'] = 'pass'): AlertOutcome {
  return {
    alertname,
    ...(service ? { service } : {}),
    scenario: 'fixture',
    verdict,
    detail: '',
    faultAt: iso(T0),
    recoveredAt: iso(T0 + 60),
    stages: { pendingS: 10, firingS: 20, notifiedS: 21, resolvedAfterRecoveryS: 10 },
    deadlineS: 60,
    budgetS: 36,
    resetS: 60,
    chart,
  };
}

const REPORT: RunReport = {
  runId: 'chromium-fixture',
  startedAt: iso(T0 - 100),
  finishedAt: iso(T0 + 1100),
  wallS: 1200,
  repeat: 1,
  options: {},
  preflight: { ok: true, checks: [{ name: 'targets up', ok: true, detail: '' }] },
  control: { durationS: 30, falsePositives: [] },
  scenarios: [
    {
      id: 'gateway-errors',
      description: 'errors from the gateway',
      wave: 1,
      injectedAt: iso(T0),
      recoveredAt: iso(T0 + 60),
      endedAt: iso(T0 + 80),
      alerts: [alert('GatewayErrorRateHigh', 'execution-gateway', CHARTS.multiSeries!), alert('SlowOrderPlacement', 'execution-gateway', CHARTS.gapsAndInfinities!, 'late')],
      collateral: [],
    },
    {
      id: 'market-data-killed',
      description: 'market data killed',
      wave: 2,
      injectedAt: iso(T0),
      recoveredAt: iso(T0 + 60),
      endedAt: iso(T0 + 80),
      alerts: [alert('MarketDataDown', 'market-data', CHARTS.noThreshold!), alert('AlpacaApiErrorRateHigh', undefined, CHARTS.failedQuery!, 'missed')],
      collateral: [],
    },
  ],
  falsePositives: [
    { alertname: 'OrderFailureRateHigh', service: 'execution-gateway', during: 'control', at: iso(T0 + 800), state: 'firing', chart: CHARTS.falsePositive! },
    { alertname: 'FakeAlpacaDown', during: 'wave 2', at: iso(T0 + 960), state: 'pending', chart: CHARTS.falsePositiveEmpty! },
  ],
  nearMisses: [{ alertname: 'MarketDataRedisDisconnected', service: 'market-data', at: iso(T0 + 500), chart: CHARTS.nearMiss! }],
  rules: [],
  quality: { recall: 0.75, precision: 0.8 },
  passed: 3,
  failed: 1,
};

const finiteSeries = (c: ExprChart): number => c.series.filter((s) => s.points.some(([, v]) => Number.isFinite(v))).length;
const marksInside = (c: ExprChart): string[] => Object.entries(c.marks).filter(([, t]) => t !== undefined && t >= c.from && t <= c.to).map(([name]) => name);

interface Ctx {
  owner?: ProcessOwner;
  page?: CdpPage;
  /** Why chromium did not start: each test fails with it (uvu does not print an error thrown by a before hook). */
  startError?: unknown;
  dir?: string;
}

const test = suite<Ctx>('report.html in headless chromium', {});

test.before(async (ctx) => {
  ctx.owner = new ProcessOwner();
  ctx.dir = ctx.owner.tempDir('report-html');
  try {
    ctx.page = await startChromium(ctx.owner);
  } catch (err) {
    ctx.startError = err;
  }
});

test.after(async (ctx) => {
  ctx.page?.close();
  await ctx.owner?.stopAll();
});

async function drawn(ctx: Ctx, name: string, html: string): Promise<DrawnPage> {
  if (!ctx.page) throw ctx.startError;
  const file = path.join(ctx.dir!, name);
  fs.writeFileSync(file, html);
  await ctx.page.open(pathToFileURL(file).href);
  return ctx.page.evaluate<DrawnPage>(DRAWN_CHARTS_JS);
}

test('draws one chart per expected alert, near miss and false positive, each as the fixture says', async (ctx) => {
  const page = await drawn(ctx, 'report.html', renderHtml(REPORT));
  const expected = [
    ...REPORT.scenarios.flatMap((s) => s.alerts.map((a) => a.chart!)),
    ...REPORT.falsePositives.map((f) => f.chart!),
    ...REPORT.nearMisses.map((m) => m.chart!),
  ];
  assert.is(page.charts.length, REPORT.scenarios.flatMap((s) => s.alerts).length + REPORT.nearMisses.length + REPORT.falsePositives.length);
  assert.is(page.charts.length, expected.length);
  assert.equal(page.charts.flatMap((c) => c.problems.map((p) => `chart ${c.index} (${c.title}): ${p}`)), []);
  // The report's order: false positives near the top, then the alerts, then near misses.
  const byTitle = (needle: string) => page.charts.find((c) => c.title.includes(needle));
  const pairs: [string, ExprChart][] = [
    ['GatewayErrorRateHigh [execution-gateway] · fixture · pass', CHARTS.multiSeries!],
    ['SlowOrderPlacement [execution-gateway] · fixture · late', CHARTS.gapsAndInfinities!],
    ['MarketDataDown [market-data] · fixture · pass', CHARTS.noThreshold!],
    ['AlpacaApiErrorRateHigh · fixture · missed', CHARTS.failedQuery!],
    ['OrderFailureRateHigh [execution-gateway] · firing at', CHARTS.falsePositive!],
    ['FakeAlpacaDown · pending at', CHARTS.falsePositiveEmpty!],
    ['MarketDataRedisDisconnected [market-data] · pending at', CHARTS.nearMiss!],
  ];
  for (const [title, chart] of pairs) {
    const c = byTitle(title);
    assert.ok(c, `a chart titled ${title}`);
    const empty = chart.error !== undefined || finiteSeries(chart) === 0;
    assert.is(c.empty, empty, `${title}: empty`);
    if (empty) {
      assert.is(c.series, 0, title);
      assert.ok(c.reason && c.reason.length > 0, `${title}: says why it is empty`);
      continue;
    }
    assert.is(c.series, Math.min(MAX_SERIES, finiteSeries(chart)), `${title}: series drawn`);
    assert.equal(c.marks.sort(), marksInside(chart).sort(), `${title}: marks`);
    assert.is(c.threshold, chart.threshold !== undefined, `${title}: threshold line`);
  }
  assert.is(byTitle('AlpacaApiErrorRateHigh')!.reason, CHARTS.failedQuery!.error);
  assert.equal(byTitle('GatewayErrorRateHigh')!.marks.length, 6, 'every stage marked');
  assert.is(page.scripts, 0, 'no scripts');
  assert.equal(page.resources, [], 'nothing fetched: the report is self-contained');
});

test('the checker reports a chart that is in the markup but not drawn', async (ctx) => {
  const good = renderChart(CHARTS.falsePositive!, { title: 'good' });
  const noPoints = good.replace(/<path class="series"[^>]*\/>/, '<polyline class="series" points="" fill="none" stroke="#000"/>');
  const emptyPath = good.replace(/(<path class="series"[^>]*) d="[^"]*"/, '$1 d=""');
  const noLines = good.replace(/<path class="series"[^>]*\/>/, '');
  const noMarkLine = good.replace(/(<g class="mark"[^>]*>)<line [^>]*\/>/, '$1');
  const emptyWithoutText = renderChart(CHARTS.falsePositiveEmpty!, { title: 'empty' }).replace(/<text class="no-data"[^>]*>[^<]*<\/text>/, '');
  assert.ok([noPoints, emptyPath, noLines, noMarkLine, emptyWithoutText].every((svg) => svg !== good), 'each breakage changed the markup');
  const html = `<!doctype html><html><body>${good}\n${noPoints}\n${emptyPath}\n${noLines}\n${noMarkLine}\n${emptyWithoutText}\n<div style="display:none">${good}</div></body></html>`;
  const page = await drawn(ctx, 'broken.html', html);
  assert.is(page.charts.length, 7);
  assert.equal(page.charts[0]!.problems, [], 'the unbroken chart passes');
  const expectations = [/series 0 not drawn/, /series 0 not drawn/, /no series line/, /mark \w+ not drawn/, /without its "no data/, /0x0 bounding box/];
  expectations.forEach((re, i) => assert.match(page.charts[i + 1]!.problems.join('; '), re, `chart ${i + 1}: ${page.charts[i + 1]!.problems.join('; ') || 'no problem found'}`));
});

test.run();
