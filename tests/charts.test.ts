// verify/charts.ts (what each why-it-fired chart queries and marks, and collecting them from a real Prometheus) and
// verify/report/svg-chart.ts (drawing one).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Gauge, Registry } from 'prom-client';
import { ProcessOwner } from '../stack/processes.ts';
import { startPrometheus } from '../stack/prometheus.ts';
import { AROUND_EVENT_S, BEFORE_FAULT_S, MAX_CHART_S, alertMarks, alertRange, chartQuery, chartSeries, collectCharts, eventRange, marksWithin, sampleValue } from '../verify/charts.ts';
import { PrometheusApi, type RangeSeries } from '../verify/prometheus-api.ts';
import type { AlertOutcome, ExprChart, RunReport } from '../verify/results.ts';
import { distinguishingLabels, formatValue, renderChart, seriesPath, seriesToDraw, valueTicks } from '../verify/report/svg-chart.ts';

const iso = (unixS: number): string => new Date(unixS * 1000).toISOString();

function outcome(faultS: number, over: Partial<AlertOutcome> = {}): AlertOutcome {
  return { alertname: 'X', scenario: 's', verdict: 'pass', detail: '', faultAt: iso(faultS), stages: {}, deadlineS: 60, resetS: 60, ...over };
}

const plan = suite('charts: what each chart queries and marks');

plan('draws the left side of the deciding comparison against its threshold, through and/unless gates', () => {
  assert.equal(chartQuery('sum(rate(a[20s])) / sum(rate(b[20s])) > 0.2\nand on() sum(rate(b[20s])) > 0.1'), { expr: 'sum(rate(a[20s])) / sum(rate(b[20s]))', op: '>', threshold: 0.2 });
  assert.equal(chartQuery('up{job="x"} == 0'), { expr: 'up{job="x"}', op: '==', threshold: 0 });
});

plan('draws the whole expression when the rule compares with no number', () => {
  for (const expr of ['vector(1)', 'absent(x)', 'x > y']) assert.equal(chartQuery(expr), { expr }, expr);
});

plan('marks each stage the alert reached, counted from the fault or from recovery', () => {
  const a = outcome(1000, { recoveredAt: iso(1100), stages: { pendingS: 5, firingS: 15, notifiedS: 16.5, resolvedAfterRecoveryS: 10 } });
  assert.equal(alertMarks(a), { fault: 1000, pending: 1005, firing: 1015, notified: 1016.5, recovered: 1100, resolved: 1110 });
  const late = outcome(1000, { recoveredAt: iso(1100), delivery: 'after-recovery', stages: { firingS: 15, notifiedAfterRecoveryS: 7 } });
  assert.equal(alertMarks(late), { fault: 1000, firing: 1015, notified: 1107, recovered: 1100 });
  assert.equal(alertMarks(outcome(1000)), { fault: 1000 });
});

plan('covers 30 s before the fault to 15 s after resolved, or to the scenario end when later, on the step grid', () => {
  const a = outcome(1002, { recoveredAt: iso(1100), stages: { pendingS: 5, resolvedAfterRecoveryS: 10 } });
  assert.equal(alertRange(a, iso(1050), 5), { from: 970, to: 1125 });
  assert.equal(alertRange(a, iso(1131), 5), { from: 970, to: 1135 });
  assert.is(1002 - BEFORE_FAULT_S, 972);
});

plan('is at most five minutes long, even for a scenario that never recovered', () => {
  const r = alertRange(outcome(1000), iso(5000), 5);
  assert.equal(r, { from: 970, to: 970 + MAX_CHART_S });
});

plan('keeps only the marks inside the range', () => {
  assert.equal(marksWithin({ fault: 10, pending: 20, resolved: 400 }, 0, 300), { fault: 10, pending: 20 });
});

plan('covers a minute either side of a false positive or near miss', () => {
  assert.equal(eventRange(iso(1000), 5), { from: 1000 - AROUND_EVENT_S, to: 1000 + AROUND_EVENT_S });
  assert.equal(eventRange(iso(1001), 5), { from: 940, to: 1065 });
});

plan("reads Prometheus' NaN and infinities", () => {
  assert.equal([sampleValue('1.5'), sampleValue('+Inf'), sampleValue('-Inf')], [1.5, Infinity, -Infinity]);
  assert.ok(Number.isNaN(sampleValue('NaN')));
});

plan("keeps the outcome's service's series and those without a service label", () => {
  const result: RangeSeries[] = [
    { metric: { service: 'a' }, values: [[1, '1']] },
    { metric: { service: 'b' }, values: [[1, '2']] },
    { metric: { job: 'j' }, values: [[1, '+Inf']] },
  ];
  assert.equal(chartSeries(result, 'a'), [{ labels: { service: 'a' }, points: [[1, 1]] }, { labels: { job: 'j' }, points: [[1, Infinity]] }]);
  assert.is(chartSeries(result).length, 3);
});

/** A stand-in for PrometheusApi's queryRange: answers after a tick, counts queries in flight, fails on `fail`. */
function fakeProm(answer: (expr: string) => RangeSeries[]): { queryRange: PrometheusApi['queryRange']; maxInFlight: () => number; calls: string[] } {
  let inFlight = 0;
  let max = 0;
  const calls: string[] = [];
  return {
    calls,
    maxInFlight: () => max,
    async queryRange(expr) {
      calls.push(expr);
      inFlight++;
      max = Math.max(max, inFlight);
      await sleep(5);
      inFlight--;
      if (expr.includes('fail')) throw new Error('Prometheus GET ... answered HTTP 400: parse error');
      return answer(expr);
    },
  };
}

plan('fills every outcome, false positive and near miss, four queries at a time, and records a failing query as the error', async () => {
  const alerts = Array.from({ length: 9 }, (_, i) => outcome(1000 + i, { alertname: i === 3 ? 'Failing' : 'X' }));
  const report: Pick<RunReport, 'scenarios' | 'falsePositives' | 'nearMisses'> = {
    scenarios: [{ id: 's', description: '', wave: 1, injectedAt: iso(1000), endedAt: iso(1060), alerts, collateral: [] }],
    falsePositives: [{ alertname: 'X', during: 'control', at: iso(900), state: 'firing' }],
    nearMisses: [{ alertname: 'Unknown', at: iso(950) }],
  };
  const prom = fakeProm(() => [{ metric: {}, values: [[1000, '3']] }]);
  await collectCharts(prom, report, [{ name: 'X', query: 'x > 2' }, { name: 'Failing', query: 'fail > 1' }], 5);
  assert.ok(prom.maxInFlight() <= 4 && prom.maxInFlight() > 1, `max in flight ${prom.maxInFlight()}`);
  assert.is(prom.calls.length, 10, 'one query per chart; the unknown rule needs none');
  assert.equal(alerts[0]!.chart, { stepS: 5, from: 970, to: 1060, marks: { fault: 1000 }, expr: 'x', op: '>', threshold: 2, series: [{ labels: {}, points: [[1000, 3]] }] });
  assert.match(alerts[3]!.chart!.error!, /HTTP 400: parse error/);
  assert.equal(alerts[3]!.chart!.series, []);
  assert.equal(report.falsePositives[0]!.chart!.marks, { pending: 900 });
  assert.match(report.nearMisses[0]!.chart!.error!, /no rule named Unknown/);
});

plan.run();

const draw = suite('svg-chart: one chart');

const chart = (over: Partial<ExprChart> = {}): ExprChart => ({
  expr: 'rate(x[20s])',
  op: '>',
  threshold: 0.5,
  stepS: 5,
  from: 1000,
  to: 1100,
  series: [{ labels: { service: 'a' }, points: [[1000, 0.1], [1005, 0.2], [1010, 0.9]] }],
  marks: { fault: 1002, firing: 1010 },
  ...over,
});

draw('formats axis values for reading', () => {
  assert.equal([0, 0.25, 1, 12.345, 1500, 25_000, 3_400_000, 0.00012, -2, NaN, Infinity].map(formatValue), ['0', '0.25', '1', '12.3', '1500', '25k', '3.4M', '1.2e−4', '-2', 'NaN', '+Inf']);
});

draw('picks round ticks that cover the values', () => {
  assert.equal(valueTicks(0.1, 0.9), { lo: 0, hi: 1, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] });
  const flat = valueTicks(3, 3);
  assert.ok(flat.lo < 3 && flat.hi > 3, 'a flat line gets a range around it');
});

draw('breaks the line where a sample is missing or not finite, and draws a lone sample as a dash', () => {
  const id = (v: number): number => v;
  assert.is(seriesPath([[0, 1], [5, 2], [15, 3], [20, NaN], [25, 4], [30, 5]], 5, id, id), 'M0.0 1.0L5.0 2.0M13.5 3.0h3M25.0 4.0L30.0 5.0');
});

draw('draws a line per series, the threshold, and a mark per stage inside the range', () => {
  const svg = renderChart(chart({ marks: { fault: 1002, pending: 1005, firing: 1010, notified: 1011, recovered: 1050, resolved: 1060 } }), { title: 'X [a] · s · pass' });
  assert.match(svg, /^<svg class="why-chart"/);
  assert.is((svg.match(/<path class="series"/g) ?? []).length, 1);
  assert.is((svg.match(/<g class="mark"/g) ?? []).length, 6);
  assert.match(svg, /<line class="threshold"[^>]*stroke-dasharray/);
  assert.match(svg, />&#62; 0.5</);
  assert.match(svg, /<title>X \[a\] · s · pass: rate\(x\[20s\]\) &#62; 0.5<\/title>/);
  assert.match(svg, /seconds after fault/);
});

draw('draws at most eight series, those crossing the threshold first, with a legend of the labels that differ', () => {
  const series = Array.from({ length: 10 }, (_, i) => ({ labels: { job: 'j', instance: `i${i}` }, points: [[1000, i === 9 ? 0.7 : 0.01 * i]] as [number, number][] }));
  const { drawn, left } = seriesToDraw(chart({ series }));
  assert.is(drawn.length, 8);
  assert.is(left, 2);
  assert.ok(drawn.some((s) => s.labels.instance === 'i9'), 'the series that crossed is drawn');
  assert.equal(distinguishingLabels(drawn), ['instance']);
  const svg = renderChart(chart({ series }));
  assert.match(svg, /instance=i9/);
  assert.match(svg, /2 more series not drawn/);
});

draw('says why when there is nothing to draw, and escapes the reason', () => {
  const svg = renderChart(chart({ series: [], error: 'Prometheus <down> & "gone"' }));
  assert.match(svg, /data-empty="1"/);
  assert.match(svg, /data-reason="Prometheus &#60;down&#62; &#38; &#34;gone&#34;"/);
  assert.match(svg, /no data: Prometheus &#60;down&#62;/);
  assert.not.match(svg, /class="series"/);
  assert.match(renderChart(chart({ series: [{ labels: {}, points: [[1000, NaN]] }] })), /no data: every sample in this range is NaN or infinite/);
  assert.match(renderChart(chart({ series: [] })), /no data: the query returned no series/);
});

draw('escapes label values and titles', () => {
  const svg = renderChart(chart({ series: [{ labels: { a: '<x>' }, points: [[1000, 1]] }, { labels: { a: '"y"&' }, points: [[1000, 2]] }] }), { title: '<script>' });
  assert.not.match(svg, /<script>|<x>/);
  assert.match(svg, /a=&#60;x&#62;/);
});

draw.run();

interface LiveCtx {
  owner?: ProcessOwner;
  exporter?: http.Server;
  probe?: Gauge;
  api?: PrometheusApi;
  /** Why Prometheus did not start: the test fails with it (uvu does not print an error thrown by a before hook). */
  startError?: unknown;
}

const live = suite<LiveCtx>('charts: collected from a real Prometheus', {});

live.before(async (ctx) => {
  const registry = new Registry();
  ctx.probe = new Gauge({ name: 'chart_probe', help: 'Set by the test: the value the chart must show.', labelNames: ['service'], registers: [registry] });
  ctx.probe.set({ service: 'a' }, 1);
  ctx.probe.set({ service: 'b' }, 2);
  ctx.exporter = http.createServer((_req, res) => void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text)));
  await new Promise<void>((resolve) => ctx.exporter!.listen(0, '127.0.0.1', resolve));
  ctx.owner = new ProcessOwner();
  const dir = ctx.owner.tempDir('charts');
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    configFile,
    `global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: probe
    static_configs: [{ targets: ['127.0.0.1:${(ctx.exporter.address() as AddressInfo).port}'] }]
`,
  );
  try {
    const prom = await startPrometheus(ctx.owner, { configFile });
    const api = new PrometheusApi(prom.url, { pollMs: 100 });
    await api.waitUntil(async () => (await api.query('chart_probe')).length === 2, 15_000, 'chart_probe scraped');
    ctx.api = api;
  } catch (err) {
    ctx.startError = err;
  }
});

live.after(async (ctx) => {
  await ctx.owner?.stopAll();
  await new Promise((resolve) => (ctx.exporter ? ctx.exporter.close(resolve) : resolve(undefined)));
});

live("returns each evaluation's value of the compared side, for the outcome's service only", async (ctx) => {
  if (!ctx.api) throw ctx.startError;
  await sleep(2000);
  const faultS = Date.now() / 1000;
  ctx.probe!.set({ service: 'a' }, 10);
  await sleep(4500);
  const recoveredS = Date.now() / 1000;
  ctx.probe!.set({ service: 'a' }, 1);
  await sleep(4000);
  const endedS = Date.now() / 1000;
  const a = outcome(faultS, { alertname: 'ChartProbeHigh', service: 'a', recoveredAt: iso(recoveredS), stages: { pendingS: 1, firingS: 2, notifiedS: 3, resolvedAfterRecoveryS: 2 } });
  const report: Pick<RunReport, 'scenarios' | 'falsePositives' | 'nearMisses'> = {
    scenarios: [{ id: 'probe-high', description: '', wave: 1, injectedAt: iso(faultS), recoveredAt: iso(recoveredS), endedAt: iso(endedS), alerts: [a], collateral: [] }],
    falsePositives: [{ alertname: 'ChartProbeHigh', service: 'b', during: 'control', at: iso(faultS), state: 'pending' }],
    nearMisses: [{ alertname: 'ChartProbeBroken', at: iso(faultS) }],
  };
  const rules = [
    { name: 'ChartProbeHigh', query: 'chart_probe > 5' },
    // Parses (lezer-promql does not type-check) but Prometheus refuses it: the chart must carry the error.
    { name: 'ChartProbeBroken', query: 'histogram_quantile("x", chart_probe) > 1' },
  ];
  await collectCharts(ctx.api, report, rules, 1);
  const collectedS = Date.now() / 1000;

  const c = a.chart!;
  assert.is(c.error, undefined);
  assert.equal([c.expr, c.op, c.threshold, c.stepS], ['chart_probe', '>', 5, 1]);
  assert.equal(c.marks, { fault: faultS, pending: faultS + 1, firing: faultS + 2, notified: faultS + 3, recovered: recoveredS, resolved: recoveredS + 2 });
  assert.ok(c.to <= collectedS && c.to > endedS - 1, `the chart ends at the last step before now (${c.to - endedS} s after the scenario)`);
  assert.equal(c.series.map((s) => s.labels.service), ['a']);
  const points = c.series[0]!.points;
  assert.ok(points.length >= 10, `${points.length} points`);
  // A scrape every second: a step more than 2.5 s after a change sees the new value (slack for a loaded machine).
  for (const [t, v] of points) {
    assert.ok(Number.isInteger(t - c.from) && t >= c.from && t <= c.to, `point at ${t} off the grid ${c.from}..${c.to}`);
    if (t < faultS - 0.2 || t > recoveredS + 2.5) assert.is(v, 1, `value at ${t - faultS} s after the fault`);
    else if (t > faultS + 2.5 && t < recoveredS - 0.2) assert.is(v, 10, `value at ${t - faultS} s after the fault`);
    else assert.ok(v === 1 || v === 10, `value ${v} at ${t - faultS} s`);
  }
  assert.ok(points.some(([, v]) => v === 10), 'the fault is in the chart');

  const fp = report.falsePositives[0]!.chart!;
  assert.equal(fp.series.map((s) => [s.labels.service, new Set(s.points.map(([, v]) => v))]), [['b', new Set([2])]]);
  assert.equal(fp.marks, { pending: faultS });
  assert.match(report.nearMisses[0]!.chart!.error!, /expected type scalar|histogram_quantile/i);
});

live.run();
