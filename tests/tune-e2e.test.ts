import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadThresholds } from '../alerts/model.ts';
import { BUDGET_S } from '../alerts/settings.ts';
import { analyze, type TuneResult } from '../verify/tune/analyze.ts';
import { histogramNames, measureBaseline, readSamples, writeSamples, type Measurement } from '../verify/tune/measure.ts';
import { writeReport } from '../verify/tune/report.ts';

interface Ctx {
  dir?: string;
  m?: Measurement;
  r?: TuneResult;
  files?: { md: string; json: string; html: string };
}

const test = suite<Ctx>('tune: short end-to-end run against the real stack', {});
/** Short, so the suite stays well under a minute including stack start and stop. */
const DURATION_S = Number(process.env.TUNE_TEST_DURATION ?? 15);

test.before(async (ctx) => {
  ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-tune-e2e-'));
  const thresholds = loadThresholds();
  ctx.m = await measureBaseline({ durationS: DURATION_S, outDir: ctx.dir, thresholds });
  ctx.r = analyze(ctx.m, thresholds, { targetRelError: 0.1, maxBuckets: 16 });
  ctx.files = writeReport(ctx.dir, ctx.r, ctx.m);
});

test.after((ctx) => {
  if (ctx.dir) fs.rmSync(ctx.dir, { recursive: true, force: true });
});

test('measures every histogram of services/buckets.json, with exact samples for the busy ones', (ctx) => {
  assert.equal(ctx.m!.histograms.map((h) => h.metric).sort(), histogramNames().sort());
  for (const metric of ['execution_gateway_order_placement_duration_seconds', 'execution_gateway_alpaca_request_duration_seconds', 'signal_service_signal_generation_duration_seconds']) {
    const h = ctx.m!.histograms.find((x) => x.metric === metric)!;
    assert.ok(h.values.length >= DURATION_S, `${metric}: only ${h.values.length} observations in ${DURATION_S} s`);
    assert.is(h.values.length, h.series.reduce((n, s) => n + s.n, 0));
    assert.is(h.times.length, h.values.length);
    assert.ok(h.values.every((v) => v > 0 && v < 30));
  }
  // The kit's shared entry is measured over every tuned service's own <prefix>_http_request_duration_seconds.
  const http = ctx.m!.histograms.find((x) => x.metric === '*_http_request_duration_seconds')!;
  assert.equal(http.service.split(','), ['execution-gateway', 'market-data', 'orchestrator', 'signal-service']);
  assert.ok(http.values.length >= DURATION_S, `only ${http.values.length} HTTP observations`);
  assert.is(http.values.length, http.series.reduce((n, s) => n + s.n, 0));
  assert.ok(http.series.some((s) => s.labels.job === 'execution-gateway' && s.labels.route === '/orders'));
});

test("Prometheus' histogram_quantile over the interval equals the replay of the exact samples through the same buckets", (ctx) => {
  let compared = 0;
  for (const h of ctx.r!.histograms) {
    if (h.current.n === 0) continue;
    for (const a of h.promAgreement) {
      assert.ok(Math.abs(a.prometheus - a.replay) <= 1e-9 + 1e-6 * a.replay, `${h.metric} p${a.q * 100}: Prometheus ${a.prometheus} vs replay ${a.replay}`);
      compared++;
    }
  }
  assert.ok(compared >= 15, `only ${compared} quantiles compared`);
});

test('a saved measurement reads back and gives the same analysis (tune-thresholds --from)', (ctx) => {
  const dir = path.join(ctx.dir!, 'saved');
  writeSamples(dir, ctx.m!);
  const again = analyze(readSamples(dir), loadThresholds(), { targetRelError: 0.1, maxBuckets: 16 });
  assert.equal(again, ctx.r);
  assert.throws(() => readSamples(ctx.dir!), /no samples\.json there/);
});

test('client-side timings include the server time: place_order median is at least the placement median', (ctx) => {
  const client = ctx.m!.client.find((c) => c.name === 'place_order')!;
  assert.ok(client.n > 0);
  const server = ctx.r!.histograms.find((h) => h.metric === 'execution_gateway_order_placement_duration_seconds')!.current.quantiles.find((q) => q.q === 0.5)!.exact;
  assert.ok(client.quantiles.find((q) => q.q === 0.5)!.ms >= server * 1000, `client p50 ${client.quantiles[0]!.ms} ms < server p50 ${server * 1000} ms`);
});

test('gives a verdict per histogram and a threshold for every latency and rate alert, each within the budget', (ctx) => {
  for (const h of ctx.r!.histograms) assert.ok(['fits', 'too coarse near p95-p99', 'overflowing', 'wasted buckets', 'insufficient data'].includes(h.current.verdict));
  const alerts = Object.entries(loadThresholds()).filter(([, t]) => t.threshold !== undefined).map(([n]) => n);
  assert.equal(ctx.r!.thresholds.map((t) => t.alert).sort(), alerts.sort());
  for (const t of ctx.r!.thresholds.filter((x) => x.applicable)) assert.ok(t.detectionRecommended.worstCaseS <= BUDGET_S, `${t.alert}: ${t.detectionRecommended.worstCaseS} s`);
  for (const t of ctx.r!.thresholds.filter((x) => x.kind === 'latency' && x.applicable)) {
    const h = ctx.r!.histograms.find((x) => x.alerts.includes(t.alert))!;
    assert.ok(h.recommended!.bounds.includes(t.recommended), `${t.alert} ${t.recommended} not in ${h.recommended!.bounds.join(', ')}`);
  }
});

test('writes markdown, JSON and self-contained HTML with inline SVG plots', (ctx) => {
  const html = fs.readFileSync(ctx.files!.html, 'utf8');
  assert.ok((html.match(/<svg /g) ?? []).length >= 2 * ctx.r!.histograms.length);
  assert.not.match(html, /<script|<link|src="http/);
  assert.match(fs.readFileSync(ctx.files!.md, 'utf8'), /## Recommended thresholds/);
  const json = JSON.parse(fs.readFileSync(ctx.files!.json, 'utf8')) as TuneResult;
  assert.is(json.histograms.length, ctx.r!.histograms.length);
  assert.ok(fs.statSync(ctx.m!.rawFile).size > 0);
});

test.run();
