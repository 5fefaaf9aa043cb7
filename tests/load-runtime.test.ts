// The k6 runtime's own parts (schedules, percentiles, thresholds, options, loopback guard) and its extras beyond k6
// (pause/resume, stop, the Prometheus endpoint), plus `npm run load` exiting 99 on a breached SLO. k6's documented
// behaviour itself is proven by tests/k6-conformance.test.ts.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runScript } from '../load/runtime/client.ts';
import { assertLoopbackUrl, NonLoopbackUrlError } from '../load/runtime/loopback.ts';
import { defineBuiltins, MetricRegistry } from '../load/runtime/metrics.ts';
import { parseDurationMs, ProfileError, resolveOptions, type ScenarioSpec } from '../load/runtime/options.ts';
import { arrivalOffsetsMs } from '../load/runtime/schedule.ts';
import { LogHistogram, percentileOfSorted, Trend } from '../load/runtime/stats.ts';
import { compileThresholds, evaluateThresholds } from '../load/runtime/thresholds.ts';

interface Ctx {
  server?: http.Server;
  url: string;
  tmp: string;
}

const ROOT = path.resolve(import.meta.dirname, '..');
const test = suite<Ctx>('load runtime', { url: '', tmp: '' });

test.before(async (ctx) => {
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'load-runtime-'));
  ctx.server = http.createServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  await new Promise<void>((resolve) => ctx.server!.listen(0, '127.0.0.1', resolve));
  ctx.url = `http://127.0.0.1:${(ctx.server.address() as AddressInfo).port}`;
});

test.after(async (ctx) => {
  ctx.server?.closeAllConnections();
  await new Promise<void>((resolve) => (ctx.server ? ctx.server.close(() => resolve()) : resolve()));
  fs.rmSync(ctx.tmp, { recursive: true, force: true });
});

/** A k6 script in the temp dir (its own package.json makes .ts there ES modules, as k6 scripts are). */
function script(ctx: Ctx, name: string, source: string): string {
  fs.writeFileSync(path.join(ctx.tmp, 'package.json'), '{"type":"module"}');
  const file = path.join(ctx.tmp, `${name}.ts`);
  fs.writeFileSync(file, source);
  return file;
}

const ramp: ScenarioSpec = {
  executor: 'ramping-arrival-rate',
  name: 'r',
  exec: 'default',
  startTimeMs: 0,
  gracefulStopMs: 0,
  preAllocatedVUs: 1,
  maxVUs: 1,
  timeUnitMs: 1000,
  tags: {},
  startRate: 10,
  stages: [
    { target: 10, durationMs: 1000 },
    { target: 0, durationMs: 2000 },
  ],
};

test('computes ramp arrival offsets from the integral of the rate', () => {
  const offsets = [...arrivalOffsetsMs(ramp)];
  // 10 in the flat second, then 10 more while ramping 10 -> 0 over 2 s.
  assert.is(offsets.length, 20);
  assert.ok(Math.abs(offsets[1]! - 100) < 1e-6);
  // Iteration 15 is when 10 + 10x - 2.5x^2 = 15: x = 2 - sqrt(2) s into the ramp.
  assert.ok(Math.abs(offsets[15]! - 1000 * (1 + 2 - Math.sqrt(2))) < 1e-6, `offset ${offsets[15]}`);
  for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i]! > offsets[i - 1]!, 'offsets increase');
  const perHalfSecond = [...arrivalOffsetsMs({ ...ramp, executor: 'constant-arrival-rate', rate: 3, timeUnitMs: 500, durationMs: 2000 })];
  assert.is(perHalfSecond.length, 12, '3 per 500 ms for 2 s');
});

test('parses Go-style durations as k6 does', () => {
  assert.is(parseDurationMs('1m30s', 'd'), 90_000);
  assert.is(parseDurationMs('250ms', 'd'), 250);
  assert.is(parseDurationMs('1.5h', 'd'), 5_400_000);
  assert.is(parseDurationMs(1200, 'd'), 1200);
  assert.throws(() => parseDurationMs('soon', 'options.scenarios.a.duration'), /options\.scenarios\.a\.duration: 'soon' is not a duration/);
});

test('gives exact percentiles on known samples', () => {
  const trend = new Trend();
  for (let i = 100; i >= 1; i--) trend.add(i);
  const s = trend.stats();
  assert.is(s.exact, true);
  assert.is(s.med, 50.5);
  assert.ok(Math.abs(s.p95 - 95.05) < 1e-9, `p95 ${s.p95}`);
  assert.ok(Math.abs(s.p99 - 99.01) < 1e-9, `p99 ${s.p99}`);
  assert.is(s.max, 100);
  assert.is(s.min, 1);
  assert.is(percentileOfSorted([7], 99), 7);
});

test('falls back to the histogram within 1% once the sample cap is passed', () => {
  const trend = new Trend(1000);
  const hist = new LogHistogram();
  const values = Array.from({ length: 5000 }, (_, i) => 1 + ((i * 7919) % 5000) / 10);
  for (const v of values) {
    trend.add(v);
    hist.add(v);
  }
  const sorted = [...values].sort((a, b) => a - b);
  const s = trend.stats();
  assert.is(s.exact, false);
  for (const [p, got] of [[50, s.med], [95, s.p95], [99, s.p99]] as const) {
    const want = percentileOfSorted(sorted, p);
    assert.ok(Math.abs(got - want) / want < 0.01, `p${p}: histogram ${got} vs exact ${want}`);
  }
});

test('evaluates thresholds on sub-metrics by tag, reading an empty trend as 0 like k6', () => {
  const registry = new MetricRegistry();
  const b = defineBuiltins(registry);
  const thresholds = compileThresholds(
    {
      'http_req_duration{flow:a}': [{ threshold: 'p(95)<96', abortOnFail: false, delayAbortEvalMs: 0 }, { threshold: 'p(95)<95', abortOnFail: false, delayAbortEvalMs: 0 }],
      http_req_failed: [{ threshold: 'rate<0.03', abortOnFail: false, delayAbortEvalMs: 0 }, { threshold: 'rate<0.01', abortOnFail: false, delayAbortEvalMs: 0 }],
      'http_req_duration{flow:b}': [{ threshold: 'p(95)<1000', abortOnFail: false, delayAbortEvalMs: 0 }],
      dropped_iterations: [{ threshold: 'count<1', abortOnFail: false, delayAbortEvalMs: 0 }],
    },
    registry,
  );
  for (let i = 1; i <= 100; i++) {
    registry.add(b.http_req_duration, i, { flow: 'a' });
    registry.add(b.http_req_failed, i <= 2 ? 1 : 0, { flow: 'a' });
  }
  evaluateThresholds(thresholds, 10);
  assert.equal(thresholds.map((t) => [t.key, t.expr, t.ok]), [
    ['http_req_duration{flow:a}', 'p(95)<96', true],
    ['http_req_duration{flow:a}', 'p(95)<95', false],
    ['http_req_failed', 'rate<0.03', true],
    ['http_req_failed', 'rate<0.01', false],
    ['http_req_duration{flow:b}', 'p(95)<1000', true],
    ['dropped_iterations', 'count<1', true],
  ]);
  const spec = (threshold: string) => [{ threshold, abortOnFail: false, delayAbortEvalMs: 0 }];
  assert.throws(() => compileThresholds({ http_req_duration: spec('rate<0.1') }, registry), /is a trend, which takes avg, min, max, med, p/);
  assert.throws(() => compileThresholds({ latency: spec('p(95)<1') }, registry), /no metric named 'latency'/);
  assert.throws(() => compileThresholds({ http_req_failed: spec('rate less than 1') }, registry), /is not '<aggregation> <op> <number>'/);
});

test('names the k6 feature and the alternative for options outside the profile', () => {
  const refused = (options: unknown, pattern: RegExp): void => {
    try {
      resolveOptions(options);
      assert.unreachable('refused');
    } catch (err) {
      assert.instance(err, ProfileError);
      assert.match((err as Error).message, pattern);
      assert.match((err as Error).message, /constant-arrival-rate/);
    }
  };
  refused({ vus: 10, duration: '30s' }, /options\.vus is the shortcut for a closed-model scenario/);
  refused({ scenarios: { a: { executor: 'ramping-vus', stages: [] } } }, /executor 'ramping-vus' is a closed model/);
  refused(undefined, /closed-model default \(1 VU, 1 iteration\)/);
  assert.throws(() => resolveOptions({ scenarios: { a: { executor: 'constant-arrival-rate', rate: 0.2, duration: '1s', preAllocatedVUs: 1 } } }), /rate: 1, timeUnit: '5s'/);
  const ok = resolveOptions({ scenarios: { a: { executor: 'constant-arrival-rate', rate: 2, duration: '1s', preAllocatedVUs: 1 } } });
  assert.equal([ok.scenarios[0]!.gracefulStopMs, ok.scenarios[0]!.maxVUs, ok.scenarios[0]!.timeUnitMs], [30_000, 1, 1000], "k6's defaults");
});

test('refuses a non-loopback URL', () => {
  for (const bad of ['http://10.0.0.5:8080', 'http://192.168.1.2', 'http://example.com', 'https://127.0.0.1:1']) {
    assert.throws(() => assertLoopbackUrl(bad), (e: unknown) => e instanceof NonLoopbackUrlError);
  }
  for (const good of ['http://127.0.0.1:1', 'http://127.3.2.1:2', 'http://localhost:3', 'http://[::1]:4']) assertLoopbackUrl(good);
});

const TWO_SCENARIOS = `
import http from 'k6/http';
export const options = {
  scenarios: {
    hit: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '30s', preAllocatedVUs: 2, maxVUs: 10, exec: 'hit', tags: { flow: 'hit' } },
    other: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '30s', preAllocatedVUs: 2, maxVUs: 10, exec: 'other', tags: { flow: 'other' } },
  },
  // Thresholds that always hold, for their sub-metrics: the summary then counts each scenario's iterations.
  thresholds: { 'iterations{scenario:hit}': ['count>=0'], 'iterations{scenario:other}': ['count>=0'] },
};
export async function hit() { await http.asyncRequest('GET', __ENV.BASE_URL + '/hit'); }
export async function other() { await http.asyncRequest('GET', __ENV.BASE_URL + '/other'); }
`;

test('pauses and resumes one scenario while the other keeps running, stop() ends early, /metrics serves loadgen_*', async (ctx) => {
  const run = runScript({ script: script(ctx, 'pause', TWO_SCENARIOS), env: { BASE_URL: ctx.url }, handleSummary: false, metricsPort: 0, onOutput: () => undefined });
  const { metricsUrl } = await run.started;
  const tStart = performance.now();
  await new Promise((r) => setTimeout(r, 500));
  run.pauseScenario('hit');
  const tPause = performance.now();
  await new Promise((r) => setTimeout(r, 1000));
  run.resumeScenario('hit');
  const pausedS = (performance.now() - tPause) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  const exposition = await (await fetch(metricsUrl!)).text();
  const ranS = (performance.now() - tStart) / 1000;
  const t0 = performance.now();
  const result = await run.stop();
  assert.ok(performance.now() - t0 < 3000, 'stop returns promptly');
  assert.is(result.exitCode, 0);
  assert.match(exposition, /loadgen_http_requests_total\{flow="hit",status="200"\} \d+/);
  assert.match(exposition, /loadgen_dropped_iterations_total\{flow="other"\} 0/);
  const count = (name: string): number => result.summary!.metrics[`iterations{scenario:${name}}`]?.values.count ?? Number.NaN;
  // Measured from the test's own clock: 'other' ran the whole time at 20/s, 'hit' all but the pause.
  assert.ok(Math.abs(count('other') - 20 * ranS) <= 4, `other ran ${count('other')} in ${ranS.toFixed(2)} s at 20/s`);
  assert.ok(Math.abs(count('hit') - 20 * (ranS - pausedS)) <= 4, `hit ran ${count('hit')}; ran ${ranS.toFixed(2)} s, paused ${pausedS.toFixed(2)} s`);
});

test('npm run load exits 99 when the smoke SLO is breached, and writes the summary JSON', async (ctx) => {
  // Every service URL points at a server that has an active model and quotes (so setup passes) and answers 500 to
  // everything else, so the smoke scenario's thresholds must fail.
  const failing = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/models') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"models":[{"id":1,"name":"m","version":1,"active":true}]}');
      return;
    }
    if (req.method === 'GET' && req.url?.startsWith('/quotes/')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"price":1}');
      return;
    }
    res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"code":"internal","message":"boom"}}');
  });
  await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
  const reportDir = path.join(ctx.tmp, 'cli');
  try {
    const env = { ...process.env, EXECUTION_GATEWAY_URL: url, SIGNAL_SERVICE_URL: url, ORCHESTRATOR_URL: url, MARKET_DATA_URL: url };
    const child = spawn(process.execPath, ['--import', 'tsx', 'load/cli.ts', 'smoke', '-e', 'LOAD_DURATION=1s', '-e', `LOAD_REPORT_DIR=${reportDir}`], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.is(code, 99, out);
    assert.match(out, /✗ 'rate<0\.01'/);
    const files = fs.readdirSync(reportDir);
    assert.is(files.length, 1);
    assert.match(files[0]!, /-smoke\.json$/);
    const data = JSON.parse(fs.readFileSync(path.join(reportDir, files[0]!), 'utf8')) as { metrics: Record<string, { thresholds?: Record<string, { ok: boolean }> }> };
    assert.is(data.metrics.http_req_failed!.thresholds!['rate<0.01']!.ok, false);
  } finally {
    failing.closeAllConnections();
    await new Promise<void>((resolve) => failing.close(() => resolve()));
  }
});

test.run();
