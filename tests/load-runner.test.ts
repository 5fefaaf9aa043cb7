// The load runner against in-test HTTP servers: open-model scheduling, rates, percentiles, thresholds, loopback guard, summary, exporters.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startLoad, type Scenario } from '../load/runner/engine.ts';
import { arrivalOffsets } from '../load/runner/executors.ts';
import { assertLoopbackUrl, NonLoopbackUrlError } from '../load/runner/loopback.ts';
import { RunMetrics } from '../load/runner/metrics.ts';
import { LogHistogram, percentileOfSorted, Trend } from '../load/runner/stats.ts';
import { findKnee } from '../load/runner/summary.ts';
import { compileThreshold, compileThresholds, evaluateThresholds, ThresholdError } from '../load/runner/thresholds.ts';

interface Ctx {
  server?: http.Server;
  url: string;
  /** Requests the server has seen, by path. */
  seen: Map<string, number>;
  tmp: string;
}

const test = suite<Ctx>('load runner', { url: '', seen: new Map(), tmp: '' });

test.before(async (ctx) => {
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'load-runner-'));
  ctx.server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    ctx.seen.set(url.pathname, (ctx.seen.get(url.pathname) ?? 0) + 1);
    // /slow?ms=N answers after N ms; /status/N answers N; anything else 200 at once.
    const delay = url.pathname === '/slow' ? Number(url.searchParams.get('ms') ?? 300) : 0;
    const status = url.pathname.startsWith('/status/') ? Number(url.pathname.split('/')[2]) : 200;
    const timer = setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: status < 400, path: url.pathname })), delay);
    req.on('close', () => {
      if (!res.writableEnded) clearTimeout(timer);
    });
  });
  await new Promise<void>((resolve) => ctx.server!.listen(0, '127.0.0.1', resolve));
  ctx.url = `http://127.0.0.1:${(ctx.server.address() as AddressInfo).port}`;
});

test.after(async (ctx) => {
  ctx.server?.closeAllConnections();
  await new Promise<void>((resolve) => (ctx.server ? ctx.server.close(() => resolve()) : resolve()));
  fs.rmSync(ctx.tmp, { recursive: true, force: true });
});

type Svc = 'test';

function constantScenario(name: string, path: string, rate: number, durationS: number, maxInFlight: number): Scenario<Svc> {
  return {
    name,
    description: 'test',
    gracefulStopS: 2,
    thresholds: {},
    flows: {
      hit: {
        executor: { executor: 'constant-arrival-rate', rate, durationS, maxInFlight },
        exec: async (c) => {
          const res = await c.http('test').get(path, { name: 'hit' });
          c.check(res, { 'status 200': (r) => r.status === 200 });
        },
      },
    },
  };
}

test('starts iterations on schedule while a slow server holds every response', async (ctx) => {
  // 40/s for 2 s against 400 ms responses: a closed model would start ~5/s per slot; the open model keeps 40/s.
  const run = startLoad(constantScenario('open-model', '/slow?ms=400', 40, 2, 100), { urls: { test: ctx.url }, reportDir: null });
  const s = await run.done;
  const f = s.flows.hit!;
  assert.is(f.iterations.started, 80);
  assert.is(f.iterations.dropped, 0);
  assert.is(f.iterations.completed, 80);
  assert.ok(f.latencyMs.p50! >= 395, `p50 ${f.latencyMs.p50} should reflect the 400 ms server`);
  // Starts per second stayed at the offered rate in each full second although responses took 400 ms.
  const perSecond = s.timeline.rows.filter((r) => r.flow === 'hit' && r.startS < 2).map((r) => r.started);
  for (const n of perSecond) assert.ok(n >= 36 && n <= 44, `started ${n} in one second, expected ~40`);
});

test('drops and counts arrivals when the in-flight cap is reached', async (ctx) => {
  // 50/s for 2 s, 500 ms responses, at most 5 in flight: at most ~5 per 500 ms can start, the rest are dropped.
  const run = startLoad(constantScenario('capped', '/slow?ms=500', 50, 2, 5), { urls: { test: ctx.url }, reportDir: null });
  const s = await run.done;
  const f = s.flows.hit!;
  assert.is(f.iterations.started + f.iterations.dropped, 100, 'every scheduled arrival is either started or dropped');
  assert.ok(f.iterations.started <= 25, `started ${f.iterations.started}, cap allows ~20`);
  assert.ok(f.iterations.dropped >= 75, `dropped ${f.iterations.dropped}`);
  assert.is(s.metrics.dropped_iterations.count, f.iterations.dropped);
});

test('holds a constant arrival rate within 5% against a fast server', async (ctx) => {
  ctx.seen.clear();
  const t0 = performance.now();
  const s = await startLoad(constantScenario('rate', '/fast', 100, 2, 50), { urls: { test: ctx.url }, reportDir: null }).done;
  const wall = (performance.now() - t0) / 1000;
  assert.is(s.flows.hit!.iterations.started, 200);
  assert.is(ctx.seen.get('/fast'), 200, 'the server saw every request');
  assert.ok(wall >= 1.95 && wall < 2.6, `schedule took ${wall.toFixed(2)} s for 2 s of arrivals`);
  assert.is(s.metrics.http_req_failed.rate, 0);
  assert.is(s.metrics.checks.rate, 1);
});

test('ramps the arrival rate linearly between stages', async (ctx) => {
  const scenario: Scenario<Svc> = {
    ...constantScenario('ramp', '/fast', 1, 1, 50),
    flows: {
      hit: {
        executor: { executor: 'ramping-arrival-rate', startRate: 0, stages: [{ target: 100, durationS: 2 }], maxInFlight: 50 },
        exec: async (c) => void (await c.http('test').get('/fast', { name: 'hit' })),
      },
    },
  };
  const s = await startLoad(scenario, { urls: { test: ctx.url }, reportDir: null }).done;
  const rows = s.timeline.rows.filter((r) => r.flow === 'hit');
  // The integral of a 0 -> 100/s ramp over 2 s is 100: ~25 in the first second, ~75 in the second.
  assert.is(s.flows.hit!.iterations.started, 100);
  assert.ok(rows[0]!.started >= 22 && rows[0]!.started <= 28, `first second ${rows[0]!.started}`);
  assert.ok(rows[1]!.started >= 72 && rows[1]!.started <= 78, `second second ${rows[1]!.started}`);
});

test('computes ramp arrival offsets from the integral of the rate', () => {
  const offsets = [...arrivalOffsets({ executor: 'ramping-arrival-rate', startRate: 10, stages: [{ target: 10, durationS: 1 }, { target: 0, durationS: 2 }], maxInFlight: 1 })];
  // 10 in the flat second, then 10 more while ramping 10 -> 0 over 2 s.
  assert.is(offsets.length, 20);
  assert.ok(Math.abs(offsets[1]! - 0.1) < 1e-9);
  // Iteration 15 is when 10 + 10x - 2.5x^2 = 15: x = 2 - sqrt(2).
  assert.ok(Math.abs(offsets[15]! - (1 + 2 - Math.sqrt(2))) < 1e-9, `offset ${offsets[15]}`);
  for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i]! > offsets[i - 1]!, 'offsets increase');
});

test('gives exact percentiles on known samples', () => {
  const trend = new Trend();
  for (let i = 100; i >= 1; i--) trend.add(i);
  const s = trend.stats();
  assert.is(s.exact, true);
  assert.is(s.med, 50.5);
  assert.ok(Math.abs(s.p90 - 90.1) < 1e-9, `p90 ${s.p90}`);
  assert.ok(Math.abs(s.p95 - 95.05) < 1e-9, `p95 ${s.p95}`);
  assert.ok(Math.abs(s.p99 - 99.01) < 1e-9, `p99 ${s.p99}`);
  assert.is(s.max, 100);
  assert.is(s.min, 1);
  assert.is(s.avg, 50.5);
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
  assert.is(s.count, 5000);
  for (const [p, got] of [[50, s.med], [95, s.p95], [99, s.p99]] as const) {
    const want = percentileOfSorted(sorted, p);
    assert.ok(Math.abs(got - want) / want < 0.01, `p${p}: histogram ${got} vs exact ${want}`);
  }
  assert.is(s.max, 500.9);
});

test('parses threshold keys and expressions and rejects malformed ones', () => {
  const t = compileThreshold('http_req_duration{flow:orders,name:place_order}', 'p(99.9)<=500');
  assert.equal(t.tags, { flow: 'orders', name: 'place_order' });
  assert.is(t.pct, 99.9);
  assert.is(t.op, '<=');
  assert.is(t.value, 500);
  assert.throws(() => compileThreshold('http_req_duration', 'rate<0.1'), /trend; use one of/);
  assert.throws(() => compileThreshold('checks{status:200}', 'rate>0.9'), /no tag "status"/);
  assert.throws(() => compileThreshold('latency', 'p(95)<1'), /unknown metric latency/);
  assert.throws(() => compileThreshold('http_req_failed', 'rate less than 1'), (e: unknown) => e instanceof ThresholdError);
});

test('evaluates thresholds per tag and fails one without data', () => {
  const m = new RunMetrics(['a', 'b']);
  for (let i = 1; i <= 100; i++) m.onRequest({ t: Date.now(), flow: 'a', name: 'x', status: i <= 2 ? 500 : 200, durationMs: i, ok: i > 2 });
  m.onCheck('a', 'status ok', true);
  m.onCheck('a', 'status ok', false);
  const results = evaluateThresholds(
    compileThresholds({
      'http_req_duration{flow:a}': ['p(95)<96', 'p(95)<95'],
      http_req_failed: ['rate<0.03', 'rate<0.01'],
      checks: ['rate>0.4'],
      'http_req_duration{flow:b}': ['p(95)<1000'],
      dropped_iterations: ['count<1'],
    }),
    m,
  );
  assert.equal(
    results.map((r) => [r.expr, r.ok]),
    [['p(95)<96', true], ['p(95)<95', false], ['rate<0.03', true], ['rate<0.01', false], ['rate>0.4', true], ['p(95)<1000', false], ['count<1', true]],
  );
  assert.is(results[5]!.actual, null);
});

test('finds the knee at the first sustained break, ignoring a single noisy window', () => {
  let now = 1_000_000;
  const m = new RunMetrics(['orders'], 200_000, 1000, () => now);
  // Second s offers 10 + 2s iterations; p99 goes bad alone at 4 s (noise) and for good from 6 s; drops from 8 s.
  for (let sec = 0; sec < 10; sec++) {
    const offered = 10 + 2 * sec;
    for (let i = 0; i < offered; i++) {
      now = 1_000_000 + sec * 1000 + i;
      if (sec >= 8 && i >= offered - 3) {
        m.onDropped('orders');
        continue;
      }
      m.onIterationStart('orders');
      const slow = (sec === 4 || sec >= 6) && i === 0;
      m.onRequest({ t: now, flow: 'orders', name: 'place_order', status: 201, durationMs: slow ? 900 : 50, ok: true });
    }
  }
  const knee = findKnee(m, { flow: 'orders', p99Ms: 500, maxErrorRate: 0.01, windowS: 1 }, 10);
  assert.is(knee.found, true);
  assert.is(knee.atOfferedPerS, 22);
  assert.is(knee.lastGoodOfferedPerS, 20);
  assert.match(knee.reason, /^from 6 s: p99 \d+(\.\d+)? ms > 500 ms$/);
  assert.is(knee.windows.length, 10);
  assert.is(knee.windows[9]!.dropped, 3);
  const single = findKnee(m, { flow: 'orders', p99Ms: 500, maxErrorRate: 0.01, windowS: 1, sustainWindows: 1 }, 10);
  assert.is(single.atOfferedPerS, 18, 'with no sustain rule the noisy window is the knee');
  const held = findKnee(m, { flow: 'orders', p99Ms: 1000, maxErrorRate: 0.01, windowS: 1 }, 8);
  assert.is(held.found, false);
  assert.is(held.lastGoodOfferedPerS, 24);
});

test('refuses a non-loopback base URL before sending anything', () => {
  for (const bad of ['http://10.0.0.5:8080', 'http://192.168.1.2', 'http://example.com', 'https://127.0.0.1:1']) {
    assert.throws(() => assertLoopbackUrl(bad), (e: unknown) => e instanceof NonLoopbackUrlError);
  }
  for (const good of ['http://127.0.0.1:1', 'http://127.3.2.1:2', 'http://localhost:3', 'http://[::1]:4']) assertLoopbackUrl(good);
  assert.throws(
    () => startLoad(constantScenario('remote', '/fast', 1, 1, 1), { urls: { test: 'http://10.1.2.3:80' }, reportDir: null }),
    /refusing to send load to http:\/\/10\.1\.2\.3:80.*not loopback/,
  );
});

test('writes a summary JSON, raw NDJSON timings and Prometheus metrics', async (ctx) => {
  const rawFile = path.join(ctx.tmp, 'raw.ndjson');
  const reportDir = path.join(ctx.tmp, 'reports');
  const scenario: Scenario<Svc> = {
    ...constantScenario('shape', '/fast', 20, 1, 10),
    thresholds: { 'http_req_duration{flow:hit}': ['p(95)<1000'], 'http_req_failed{flow:bad}': ['rate<0.5'], checks: ['rate>0.99'] },
  };
  scenario.flows.bad = {
    executor: { executor: 'constant-arrival-rate', rate: 10, durationS: 1, maxInFlight: 10 },
    exec: async (c) => {
      const res = await c.http('test').get('/status/503', { name: 'broken' });
      c.check(res, { 'status 200': (r) => r.status === 200 });
    },
  };
  const run = startLoad(scenario, { urls: { test: ctx.url }, reportDir, rawFile, metricsPort: 0 });
  const { metricsUrl } = await run.started;
  assert.ok(metricsUrl?.startsWith('http://127.0.0.1:'));
  await new Promise((r) => setTimeout(r, 500));
  const exposition = await (await fetch(metricsUrl!)).text();
  assert.match(exposition, /loadgen_http_requests_total\{flow="bad",status="503"\} \d+/);
  assert.match(exposition, /loadgen_http_request_duration_seconds_bucket\{le="0.25",flow="hit"\} \d+/);
  assert.match(exposition, /loadgen_checks_total\{flow="bad",result="fail"\} \d+/);
  assert.match(exposition, /loadgen_dropped_iterations_total\{flow="hit"\} 0/);
  const s = await run.done;

  assert.is(s.ok, false, 'the failing flow breaches its thresholds');
  assert.equal(s.thresholds.map((t) => t.ok), [true, false, false]);
  assert.is(s.flows.bad!.byName.broken!.statuses['503'], 10);
  const file = s.reportFile!;
  assert.match(path.basename(file), /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z-shape\.json$/);
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof s;
  assert.is(json.scenario, 'shape');
  assert.is(json.metrics.http_reqs.count, 30);
  assert.is(json.flows.hit!.requests, 20);
  assert.type(json.flows.hit!.latencyMs.p99, 'number');
  assert.is(json.metrics.checks.fails, 10);

  const lines = fs.readFileSync(rawFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.is(lines.length, 30);
  assert.equal(Object.keys(lines[0]!).sort(), ['durationMs', 'flow', 'name', 'ok', 'status', 't']);
  assert.is(lines.filter((l) => l.flow === 'bad' && l.status === 503 && l.ok === false).length, 10);
  const closed = await fetch(metricsUrl!).then(() => 'open', () => 'closed');
  assert.is(closed, 'closed', 'the metrics endpoint is closed with the run');
});

test('pauses and resumes one flow while others keep running, and stop() ends early', async (ctx) => {
  const scenario: Scenario<Svc> = {
    ...constantScenario('pause', '/fast', 20, 30, 10),
    flows: {
      ...constantScenario('pause', '/fast', 20, 30, 10).flows,
      other: { executor: { executor: 'constant-arrival-rate', rate: 20, durationS: 30, maxInFlight: 10 }, exec: async (c) => void (await c.http('test').get('/fast', { name: 'o' })) },
    },
  };
  const run = startLoad(scenario, { urls: { test: ctx.url }, reportDir: null });
  const tStart = performance.now();
  await new Promise((r) => setTimeout(r, 500));
  run.pauseFlow('hit');
  const tPause = performance.now();
  await new Promise((r) => setTimeout(r, 1000));
  run.resumeFlow('hit');
  const pausedS = (performance.now() - tPause) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  assert.throws(() => run.pauseFlow('nope'), /no flow "nope"/);
  const ranS = (performance.now() - tStart) / 1000;
  const t0 = performance.now();
  const s = await run.stop();
  assert.ok(performance.now() - t0 < 1000, 'stop returns promptly');
  const hit = s.flows.hit!.iterations.started;
  const other = s.flows.other!.iterations.started;
  // Measured from the test's own clock, so a late timer on a busy machine shifts expectations, not the verdict.
  assert.ok(Math.abs(other - 20 * ranS) <= 3, `other started ${other} in ${ranS.toFixed(2)} s at 20/s`);
  assert.ok(Math.abs(hit - 20 * (ranS - pausedS)) <= 3, `hit started ${hit}; ran ${ranS.toFixed(2)} s, paused ${pausedS.toFixed(2)} s`);
});

test('the CLI exits 99 when thresholds are breached', async (ctx) => {
  // Every service URL points at a server that has an active model and quotes (so setup passes) and answers 500 to
  // everything else, so the smoke scenario's SLO must fail.
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
    const env = { ...process.env, EXECUTION_GATEWAY_URL: url, SIGNAL_SERVICE_URL: url, ORCHESTRATOR_URL: url, MARKET_DATA_URL: url, LOAD_REPORT_DIR: reportDir };
    const child = spawn(process.execPath, ['--import', 'tsx', 'load/cli.ts', 'smoke', '--duration', '1s'], { cwd: path.resolve(import.meta.dirname, '..'), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.is(code, 99, out);
    assert.match(out, /THRESHOLDS BREACHED/);
    const files = fs.readdirSync(reportDir);
    assert.is(files.length, 1);
    assert.match(files[0]!, /-smoke\.json$/);
  } finally {
    failing.closeAllConnections();
    await new Promise<void>((resolve) => failing.close(() => resolve()));
  }
});

test.run();
