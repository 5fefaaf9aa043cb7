import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadThresholds, ROOT_DIR } from '../alerts/model.ts';
import { analyze, type TuneResult } from '../verify/tune/analyze.ts';
import { applyRecommendation, type ApplyOutcome } from '../verify/tune/apply.ts';
import type { Measurement } from '../verify/tune/measure.ts';

interface Ctx {
  tmp?: string;
  result?: TuneResult;
  outcome?: ApplyOutcome;
}

const test = suite<Ctx>('tune --apply on a temp copy of the checkout', {});

const REAL_FILES = ['alerts/thresholds.yaml', 'services/buckets.json', 'alerts/rules/performance.yml'];
const hash = (rel: string): string => crypto.createHash('sha256').update(fs.readFileSync(path.join(ROOT_DIR, rel))).digest('hex');
const realBefore = Object.fromEntries(REAL_FILES.map((f) => [f, hash(f)]));

/** The alert suites that read only files, rerun inside the copy against its regenerated output. */
const ALERT_SUITES = ['alerts-generate.test.ts', 'alerts-promtool.test.ts', 'alerts-budget.test.ts'];

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 60_000, env: { ...process.env, FORCE_COLOR: '0' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

/** Lognormal-ish observations at 2/s for two minutes, deterministic: a baseline whose p95 is far below today's thresholds. */
function baseline(median: number): { values: number[]; times: number[] } {
  const values = Array.from({ length: 240 }, (_, i) => median * Math.exp(0.4 * Math.sin(i * 1.7) + 0.3 * Math.cos(i * 0.37)));
  return { values, times: values.map((_, i) => 1_700_000_000_000 + i * 500) };
}

test.before((ctx) => {
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-tune-apply-'));
  for (const dir of ['alerts', 'services', 'stack', 'docs']) fs.cpSync(path.join(ROOT_DIR, dir), path.join(ctx.tmp, dir), { recursive: true });
  fs.mkdirSync(path.join(ctx.tmp, 'tests'));
  for (const s of ALERT_SUITES) fs.copyFileSync(path.join(ROOT_DIR, 'tests', s), path.join(ctx.tmp, 'tests', s));
  fs.copyFileSync(path.join(ROOT_DIR, 'package.json'), path.join(ctx.tmp, 'package.json'));
  fs.symlinkSync(path.join(ROOT_DIR, 'node_modules'), path.join(ctx.tmp, 'node_modules'));
});

test.after((ctx) => {
  if (ctx.tmp) fs.rmSync(ctx.tmp, { recursive: true, force: true });
});

test('applies recommended thresholds and buckets, then the copy regenerates and passes budget and promtool', async (ctx) => {
  const buckets = JSON.parse(fs.readFileSync(path.join(ctx.tmp!, 'services', 'buckets.json'), 'utf8')) as Record<string, number[]>;
  const medians: Record<string, number> = {
    execution_gateway_order_placement_duration_seconds: 0.012,
    execution_gateway_alpaca_request_duration_seconds: 0.004,
    signal_service_signal_generation_duration_seconds: 0.003,
    orchestrator_orchestration_duration_seconds: 0.15,
    market_data_subscription_duration_seconds: 0.002,
    '*_http_request_duration_seconds': 0.003,
  };
  const m: Measurement = {
    startedAt: new Date(0).toISOString(),
    durationS: 120,
    fromS: 0,
    toS: 120,
    rates: {},
    histograms: Object.entries(buckets).map(([metric, bounds]) => ({ metric, service: 'synthetic', bounds, series: [], promEstimates: [], ...baseline(medians[metric]!) })),
    // A rejection ratio that comes within 2x of its threshold, and a reconnect count that does: both must rise.
    alertPeaks: { OrderRejectionRateHigh: 0.13, MarketDataReconnectStorm: 2.2 },
    client: [],
    rawFile: '',
  };
  const thresholdsFile = path.join(ctx.tmp!, 'alerts', 'thresholds.yaml');
  ctx.result = analyze(m, loadThresholds(thresholdsFile), { targetRelError: 0.1, maxBuckets: 16 });
  ctx.outcome = await applyRecommendation(ctx.tmp!, ctx.result);

  const changed = ctx.outcome.changes.map((c) => c.what);
  for (const w of ['SlowOrderPlacement.threshold', 'SlowSignalGeneration.threshold', 'OrderRejectionRateHigh.threshold', 'MarketDataReconnectStorm.threshold', 'execution_gateway_order_placement_duration_seconds']) {
    assert.ok(changed.includes(w), `${w} not among ${changed.join(', ')}`);
  }
  const after = loadThresholds(thresholdsFile);
  assert.is(after.OrderRejectionRateHigh!.threshold, 0.3);
  assert.is(after.MarketDataReconnectStorm!.threshold, 5);
  const slow = ctx.result.thresholds.find((t) => t.alert === 'SlowOrderPlacement')!;
  assert.is(after.SlowOrderPlacement!.threshold, slow.recommended);
  assert.ok(slow.recommended < 1);
  const rules = fs.readFileSync(path.join(ctx.tmp!, 'alerts', 'rules', 'performance.yml'), 'utf8');
  assert.match(rules, `execution_gateway_order_placement_duration_seconds_bucket[20s]))) > ${slow.recommended}\n`);
  assert.match(ctx.outcome.checks.find((c) => c.command === 'promtool test rules')!.output, /SUCCESS/);
  // Comments of the hand-maintained thresholds file survive the rewrite.
  assert.match(fs.readFileSync(thresholdsFile, 'utf8'), /^# Tunable alert parameters/);
});

test('the copied alert suites pass against the applied thresholds', async (ctx) => {
  assert.ok(ctx.outcome, 'apply did not run');
  for (const s of ALERT_SUITES) {
    const r = await run(process.execPath, ['--import', 'tsx', path.join('tests', s)], ctx.tmp!);
    assert.is(r.code, 0, `${s} failed in the copy:\n${r.out.slice(-3000)}`);
    assert.match(r.out, /Passed:\s+\d+/);
  }
});

test("every latency threshold is a bucket boundary the copy's services expose", async (ctx) => {
  const script = path.join(ctx.tmp!, 'exposed-buckets.ts');
  fs.writeFileSync(
    script,
    [
      "import { createGatewayMetrics } from './services/execution-gateway/metrics.ts';",
      "import { createSignalMetrics } from './services/signal-service/metrics.ts';",
      "import { createOrchestratorMetrics } from './services/orchestrator/metrics.ts';",
      "import { createMarketDataMetrics } from './services/market-data/metrics.ts';",
      "const registries = [createGatewayMetrics(['AAPL']).registry, createSignalMetrics().registry, createOrchestratorMetrics().registry, createMarketDataMetrics().registry];",
      "const text = (await Promise.all(registries.map((r) => r.metrics()))).join('\\n');",
      'const out: Record<string, number[]> = {};',
      'for (const m of text.matchAll(/^([a-z_]+)_bucket\\{[^}]*le="([^"]+)"/gm)) if (!(out[m[1]!] ??= []).includes(Number(m[2]))) out[m[1]!]!.push(Number(m[2]));',
      'process.stdout.write(JSON.stringify(out));',
    ].join('\n'),
  );
  const r = await run(path.join(ROOT_DIR, 'node_modules', '.bin', 'tsx'), [script], ctx.tmp!);
  assert.is(r.code, 0, r.out);
  const exposed = JSON.parse(r.out) as Record<string, number[]>;
  const applied = loadThresholds(path.join(ctx.tmp!, 'alerts', 'thresholds.yaml'));
  const latency = ctx.result!.thresholds.filter((t) => t.kind === 'latency');
  assert.is(latency.length, 4);
  for (const t of latency) {
    const h = ctx.result!.histograms.find((x) => x.alerts.includes(t.alert))!;
    assert.ok(exposed[h.metric]!.includes(applied[t.alert]!.threshold!), `${t.alert} threshold ${applied[t.alert]!.threshold} not a bucket of ${h.metric}: ${exposed[h.metric]!.join(', ')}`);
    assert.equal(exposed[h.metric]!.filter(Number.isFinite), h.recommended!.bounds);
  }
});

test('the real checkout is untouched', () => {
  for (const f of REAL_FILES) assert.is(hash(f), realBefore[f], `${f} changed`);
});

test.run();
