// The kit's RED and process metrics on real services: the signal service (Postgres, Redis) and a bare kit service for a 500.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Registry } from 'prom-client';
import { startTestDeps, type TestDeps } from './helpers/stack.ts';
import { parseSamples, promtoolCheckMetrics, type Sample } from './helpers/scrape.ts';
import { bucketsFor } from '../services/kit/buckets.ts';
import { HTTP_METHODS, STATUS_CLASSES, UNMATCHED_ROUTE } from '../services/kit/http-metrics.ts';
import { createLogger } from '../services/kit/logger.ts';
import { isProcessMetric } from '../services/kit/process-metrics.ts';
import { createService, listen, type RunningServer } from '../services/kit/service.ts';
import { loadSignalConfig } from '../services/signal-service/config.ts';
import { startSignalService, type SignalService } from '../services/signal-service/server.ts';

interface Ctx {
  deps?: TestDeps;
  svc?: SignalService;
  /** A second signal service in this process, on its own registry. */
  other?: SignalService;
  /** A bare kit service with a route that fails, for the 500 the signal service never answers. */
  bare?: RunningServer;
}

const test = suite<Ctx>('kit http metrics on running services', {});

const REQUESTS = 'signal_service_http_requests_total';
const DURATION = 'signal_service_http_request_duration_seconds';

async function scrape(base: string): Promise<Sample[]> {
  return parseSamples(await (await fetch(`${base}/metrics`)).text());
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

const seriesKey = (s: Sample): string => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;

async function send(base: string, method: string, path: string, body?: string): Promise<number> {
  const res = await fetch(`${base}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body });
  await res.arrayBuffer();
  return res.status;
}

test.before(async (ctx) => {
  ctx.deps = await startTestDeps();
  const DATABASE_URL = await ctx.deps.pg.createDatabase('http_metrics');
  const env = { DATABASE_URL, REDIS_URL: ctx.deps.redis.url, SYMBOLS: 'AAA,BBB', LOG_LEVEL: 'silent', MODEL_POLL_MS: '600000' };
  ctx.svc = await startSignalService(loadSignalConfig(env));
  ctx.other = await startSignalService(loadSignalConfig(env));
  const bare = createService({ name: 'bare-kit', registry: new Registry(), logger: createLogger('bare-kit', 'silent') });
  bare.router.get('/boom/:id', () => {
    throw new Error('a bug');
  });
  ctx.bare = await listen(bare.app);
});

test.after(async (ctx) => {
  await ctx.svc?.close();
  await ctx.other?.close();
  await ctx.bare?.close();
  await ctx.deps?.owner.stopAll();
});

test('creates the series of every route and method (HEAD aside) at the first request, all zero', async ({ other }) => {
  const samples = await scrape(other!.url);
  for (const route of ['/models', '/models/:id/activate', '/signals', '/signals/latest', '/health', '/ready', '/metrics']) {
    const method = route === '/signals' || route.endsWith('/activate') ? 'POST' : 'GET';
    for (const status_class of STATUS_CLASSES) assert.type(value(samples, REQUESTS, { method, route, status_class }), 'number', `${method} ${route} ${status_class}`);
    assert.is(value(samples, `${DURATION}_count`, { method, route }), 0, `${method} ${route}`);
  }
  assert.is(value(samples, REQUESTS, { method: 'POST', route: '/models', status_class: '2xx' }), 0);
  assert.not.ok(samples.some((s) => s.labels.route === UNMATCHED_ROUTE || s.labels.method === 'HEAD'), 'unmatched and HEAD series appear on their first request');
});

test('counts a matched route under its template, not the raw path, whatever the route answers', async ({ svc }) => {
  const before = await scrape(svc!.url);
  assert.is(await send(svc!.url, 'GET', '/models'), 200);
  assert.is(await send(svc!.url, 'POST', '/models/424242/activate'), 404);
  const after = await scrape(svc!.url);
  const delta = (labels: Record<string, string>): number => value(after, REQUESTS, labels)! - value(before, REQUESTS, labels)!;
  assert.is(delta({ method: 'GET', route: '/models', status_class: '2xx' }), 1);
  assert.is(delta({ method: 'POST', route: '/models/:id/activate', status_class: '4xx' }), 1);
  assert.not.ok(after.some((s) => s.labels.route?.includes('424242')), 'no series carries the raw path');
});

test('counts /metrics itself, like any route', async ({ svc }) => {
  const labels = { method: 'GET', route: '/metrics', status_class: '2xx' };
  const first = value(await scrape(svc!.url), REQUESTS, labels)!;
  assert.is(value(await scrape(svc!.url), REQUESTS, labels), first + 1);
});

test('200 requests to random paths count under unmatched and add no series beyond its own', async ({ svc }) => {
  const before = (await scrape(svc!.url)).filter((s) => !isProcessMetric(s.name, 'signal_service'));
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
  const statuses = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const path = `/${Math.random().toString(36).slice(2)}/${i}${i % 3 === 0 ? '/admin.php' : ''}`;
    statuses.add(await send(svc!.url, methods[i % methods.length]!, path));
  }
  // A wrong method on a real path is no route either (405 from allowedMethods).
  statuses.add(await send(svc!.url, 'DELETE', '/models'));
  assert.equal([...statuses].sort(), [404, 405]);
  const after = (await scrape(svc!.url)).filter((s) => !isProcessMetric(s.name, 'signal_service'));
  const known = new Set(before.map(seriesKey));
  const added = after.filter((s) => !known.has(seriesKey(s)));
  assert.ok(added.length > 0);
  assert.ok(added.every((s) => s.labels.route === UNMATCHED_ROUTE), `added: ${added.map(seriesKey).join(', ')}`);
  const unmatched = after.filter((s) => s.name === REQUESTS && s.labels.route === UNMATCHED_ROUTE);
  assert.is(unmatched.reduce((n, s) => n + s.value, 0), 201);
  assert.ok(unmatched.every((s) => s.labels.status_class === '4xx'));
  assert.ok(unmatched.length <= (HTTP_METHODS.length + 1) * STATUS_CLASSES.length);
  assert.is(after.filter((s) => s.name === `${DURATION}_count` && s.labels.route === UNMATCHED_ROUTE).length, methods.length);
});

test('a 400 from validation, an unreadable body and an oversized one count as 4xx under the route they were sent to', async ({ svc }) => {
  const labels = { method: 'POST', route: '/models', status_class: '4xx' };
  const before = value(await scrape(svc!.url), REQUESTS, labels)!;
  assert.is(await send(svc!.url, 'POST', '/models', JSON.stringify({ name: 'x', version: 1, kind: 'momentum', params: { lookback: 1, topN: 1 } })), 400);
  assert.is(await send(svc!.url, 'POST', '/models', '{"name":'), 400);
  assert.is(await send(svc!.url, 'POST', '/models', JSON.stringify({ pad: 'x'.repeat(300 * 1024) })), 413);
  assert.is(value(await scrape(svc!.url), REQUESTS, labels), before + 3);
});

test('a 503 and a 500 count as 5xx', async ({ svc, bare }) => {
  const before = value(await scrape(svc!.url), REQUESTS, { method: 'POST', route: '/signals', status_class: '5xx' })!;
  assert.is(await send(svc!.url, 'POST', '/signals', '{}'), 503);
  assert.is(value(await scrape(svc!.url), REQUESTS, { method: 'POST', route: '/signals', status_class: '5xx' }), before + 1);

  assert.is(await send(bare!.url, 'GET', '/boom/7'), 500);
  assert.is(value(await scrape(bare!.url), 'bare_kit_http_requests_total', { method: 'GET', route: '/boom/:id', status_class: '5xx' }), 1);
});

test('observes the duration of every request in the shared buckets', async ({ svc }) => {
  for (let i = 0; i < 3; i++) assert.is(await send(svc!.url, 'GET', '/signals/latest'), 404);
  const samples = await scrape(svc!.url);
  const labels = { method: 'GET', route: '/signals/latest' };
  const counted = STATUS_CLASSES.reduce((n, status_class) => n + value(samples, REQUESTS, { ...labels, status_class })!, 0);
  assert.is(counted, 3);
  assert.is(value(samples, `${DURATION}_count`, labels), 3);
  const sum = value(samples, `${DURATION}_sum`, labels)!;
  assert.ok(sum > 0 && sum < 3, `sum ${sum}`);
  const les = samples.filter((s) => s.name === `${DURATION}_bucket` && s.labels.route === '/signals/latest' && s.labels.method === 'GET').map((s) => s.labels.le);
  assert.equal(les, [...bucketsFor(DURATION).map(String), '+Inf']);
  assert.equal(bucketsFor(DURATION), bucketsFor('bare_kit_http_request_duration_seconds'), 'one shared entry for every service');
});

test('exposes the process and event-loop metrics under the service prefix, on each service of the process', async ({ svc, other }) => {
  for (const base of [svc!.url, other!.url]) {
    const text = await (await fetch(`${base}/metrics`)).text();
    const names = new Set(parseSamples(text).map((s) => s.name));
    for (const name of [
      'signal_service_process_cpu_user_seconds_total',
      'signal_service_process_resident_memory_bytes',
      'signal_service_process_start_time_seconds',
      'signal_service_nodejs_eventloop_lag_seconds',
      'signal_service_nodejs_eventloop_lag_p99_seconds',
      'signal_service_nodejs_heap_size_used_bytes',
      'signal_service_nodejs_active_handles',
      'signal_service_nodejs_version_info',
    ]) {
      assert.ok(names.has(name), `${base} lacks ${name}`);
    }
    assert.match(text, /^# TYPE signal_service_nodejs_gc_duration_seconds histogram$/m);
    assert.not.ok([...names].some((n) => n.startsWith('process_') || n.startsWith('nodejs_')), 'every series carries the prefix');
    assert.not.ok(names.has('signal_service_nodejs_active_handles_total'), 'the _total gauges promtool rejects are dropped');
    const { code, output } = await promtoolCheckMetrics(text);
    assert.is(output.trim(), '', output);
    assert.is(code, 0);
  }
});

test('a process that starts a service, serves and closes it exits on its own', async () => {
  const script = [
    "import { Registry } from 'prom-client';",
    "import { createLogger } from './services/kit/logger.ts';",
    "import { createService, listen } from './services/kit/service.ts';",
    "const { app } = createService({ name: 'exit-check', registry: new Registry(), logger: createLogger('exit-check', 'silent') });",
    'const server = await listen(app);',
    "await (await fetch(server.url + '/metrics')).text();",
    'await server.close();',
  ].join('\n');
  const t0 = Date.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.resolve(import.meta.dirname, '..'), stdio: 'inherit' });
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('exit', (c) => {
      clearTimeout(kill);
      resolve(c);
    });
  });
  assert.is(code, 0, `exited ${code} after ${Date.now() - t0} ms (killed after 15 s if still alive)`);
});

test.run();
