import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import pg from 'pg';
import { Redis } from 'ioredis';
import { startTestDeps, type TestDeps } from './helpers/stack.ts';
import { loadSignalConfig } from '../services/signal-service/config.ts';
import { startSignalService, type SignalService } from '../services/signal-service/server.ts';
import { ENDPOINTS, GENERATION_BUCKETS, MAX_MODEL_NAME_LABELS } from '../services/signal-service/metrics.ts';
import { MAX_SIGNAL_SYMBOLS } from '../services/signal-service/app.ts';
import { isProcessMetric } from '../services/kit/process-metrics.ts';
import { parseSamples } from './helpers/scrape.ts';

interface Ctx {
  deps?: TestDeps;
  /** Polls the registry only when asked (long interval), so reloads in tests are deterministic. */
  svc?: SignalService;
  /** A second instance on the same registry that polls every 100 ms. */
  poller?: SignalService;
  db?: pg.Pool;
  redis?: Redis;
  modelIds: Record<string, number>;
}

const UNIVERSE = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE'];
const test = suite<Ctx>('signal-service over HTTP with real Postgres and Redis', { modelIds: {} });

interface Reply<T> {
  status: number;
  body: T;
}
type ErrorBody = { error: { code: string; message: string; details?: { issues?: Array<{ path: string }>; dependency?: string } } };

async function call<T = unknown>(base: string, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}


async function scrape(base: string): Promise<string> {
  return (await fetch(`${base}/metrics`)).text();
}

async function metric(base: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const want = JSON.stringify(Object.entries(labels).sort());
  return parseSamples(await scrape(base)).find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 3000): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

/** Writes prices the way market-data does (LPUSH, newest at the head); `oldestFirst` is chronological. */
async function seedPrices(redis: Redis, symbol: string, oldestFirst: number[]): Promise<void> {
  await redis.del(`prices:${symbol}`);
  if (oldestFirst.length) await redis.lpush(`prices:${symbol}`, ...oldestFirst.map(String));
}

async function activateBySql(db: pg.Pool, id: number): Promise<void> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    await client.query('UPDATE models SET active = false WHERE active');
    await client.query('UPDATE models SET active = true WHERE id = $1', [id]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

test.before(async (ctx) => {
  ctx.deps = await startTestDeps();
  const DATABASE_URL = await ctx.deps.pg.createDatabase('signal_api');
  const env = { DATABASE_URL, REDIS_URL: ctx.deps.redis.url, SYMBOLS: UNIVERSE.join(','), LOG_LEVEL: 'silent', PROBE_INTERVAL_MS: '100' };
  ctx.svc = await startSignalService(loadSignalConfig({ ...env, MODEL_POLL_MS: '600000' }));
  ctx.poller = await startSignalService(loadSignalConfig({ ...env, MODEL_POLL_MS: '100' }));
  ctx.db = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  ctx.redis = new Redis(ctx.deps.redis.url);
});

test.after(async (ctx) => {
  await ctx.svc?.close();
  await ctx.poller?.close();
  await ctx.db?.end();
  ctx.redis?.disconnect();
  await ctx.deps?.owner.stopAll();
});

test('starts unloaded and answers 503 when the registry has no active model', async ({ svc }) => {
  assert.is(await metric(svc!.url, 'signal_service_model_loaded_status'), 0);
  assert.is(await metric(svc!.url, 'signal_service_model_version'), 0);
  const res = await call<ErrorBody>(svc!.url, 'POST', '/signals', {});
  assert.is(res.status, 503);
  assert.match(res.body.error.message, /no model is loaded/);
  assert.is((await fetch(`${svc!.url}/ready`)).status, 503);
  assert.is(await metric(svc!.url, 'signal_service_requests_total', { endpoint: 'signals_generate', status: '5xx' }), 1);
});

test('creates models and lists them', async (ctx) => {
  const base = ctx.svc!.url;
  const created = await call<{ model: { id: number; active: boolean; params: unknown; kind: string } }>(base, 'POST', '/models', {
    name: 'mom',
    version: 1,
    kind: 'momentum',
    params: { lookback: 3, topN: 2 },
  });
  assert.is(created.status, 201);
  assert.is(created.body.model.active, false);
  assert.equal(created.body.model.params, { lookback: 3, topN: 2 });
  ctx.modelIds.mom1 = created.body.model.id;
  const rev = await call<{ model: { id: number } }>(base, 'POST', '/models', { name: 'rev', version: 2, kind: 'mean_reversion', params: { lookback: 4, topN: 1 } });
  assert.is(rev.status, 201);
  ctx.modelIds.rev2 = rev.body.model.id;
  const list = await call<{ models: Array<{ id: number; name: string; version: number }> }>(base, 'GET', '/models');
  assert.is(list.status, 200);
  assert.equal(list.body.models.map((m) => [m.id, m.name, m.version]), [[ctx.modelIds.mom1, 'mom', 1], [ctx.modelIds.rev2, 'rev', 2]]);
});

test('rejects bad model input with 400 naming each bad field, and duplicates with 409', async ({ svc }) => {
  const cases: Array<[unknown, string]> = [
    [{ name: 'x', version: 1, kind: 'momentum', params: { lookback: 1, topN: 1 } }, 'params.lookback'],
    [{ name: 'x', version: 1, kind: 'astrology', params: { lookback: 5, topN: 1 } }, 'kind'],
    [{ version: 1, kind: 'momentum', params: { lookback: 5, topN: 1 } }, 'name'],
    [{ name: 'x', version: 0, kind: 'momentum', params: { lookback: 5, topN: 1 } }, 'version'],
    [{ name: 'x', version: 1, kind: 'momentum', params: 'lookback=5' }, 'params'],
    [{ name: 'x', version: 1, kind: 'momentum', params: { lookback: 5, topN: 0 } }, 'params.topN'],
  ];
  for (const [body, field] of cases) {
    const res = await call<ErrorBody>(svc!.url, 'POST', '/models', body);
    assert.is(res.status, 400, `status for ${field}`);
    assert.ok(res.body.error.message.startsWith(`invalid request body: ${field}:`), res.body.error.message);
    assert.ok(res.body.error.details?.issues?.some((i) => i.path === field), `issues name ${field}`);
  }
  const dup = await call<ErrorBody>(svc!.url, 'POST', '/models', { name: 'mom', version: 1, kind: 'momentum', params: { lookback: 3, topN: 2 } });
  assert.is(dup.status, 409);
  assert.match(dup.body.error.message, /"mom" version 1 already exists; register a new version/);
  assert.is(await metric(svc!.url, 'signal_service_requests_total', { endpoint: 'models_create', status: '4xx' }), cases.length + 1);
});

test('activates a model and loads it at once; 404 for unknown ids and 400 for bad ones', async ({ svc, modelIds }) => {
  const before = (await metric(svc!.url, 'signal_service_model_reload_total', { status: 'success' }))!;
  const res = await call<{ model: { id: number; active: boolean }; loaded: { version: number; kind: string } }>(svc!.url, 'POST', `/models/${modelIds.mom1}/activate`);
  assert.is(res.status, 200);
  assert.is(res.body.model.active, true);
  assert.equal(res.body.loaded.kind, 'momentum');
  assert.is(await metric(svc!.url, 'signal_service_model_loaded_status'), 1);
  assert.is(await metric(svc!.url, 'signal_service_model_version'), 1);
  assert.is(await metric(svc!.url, 'signal_service_model_reload_total', { status: 'success' }), before + 1);
  assert.is((await call(svc!.url, 'POST', '/models/99999/activate')).status, 404);
  const bad = await call<ErrorBody>(svc!.url, 'POST', '/models/abc/activate');
  assert.is(bad.status, 400);
  assert.match(bad.body.error.message, /invalid path parameters: id: must be a positive integer/);
});

test('the partial unique index refuses a second active model', async ({ db, modelIds }) => {
  try {
    await db!.query('UPDATE models SET active = true WHERE id = $1', [modelIds.rev2]);
    assert.unreachable('a second active row must be rejected');
  } catch (err) {
    assert.is((err as { code?: string }).code, '23505');
  }
  const { rows } = await db!.query<{ n: number }>('SELECT count(*)::int AS n FROM models WHERE active');
  assert.is(rows[0]!.n, 1);
});

test('generates exact momentum signals from Redis price history and caches them', async ({ svc, redis }) => {
  // Momentum, lookback 3: (newest - price two ticks earlier) / that price.
  await seedPrices(redis!, 'AAA', [100, 105, 110]); // +0.1
  await seedPrices(redis!, 'BBB', [50, 40, 60]); // +0.2
  await seedPrices(redis!, 'CCC', [200, 1, 150]); // -0.25
  await seedPrices(redis!, 'DDD', [999, 80, 90, 100]); // 999 is outside the window: +0.25
  await seedPrices(redis!, 'EEE', [10, 9]); // too short: skipped
  const predictionsBefore = (await metric(svc!.url, 'signal_service_model_predictions_total', { model_name: 'mom' })) ?? 0;
  const res = await call<{ model_name: string; model_version: number; generated_at: string; signals: unknown; skipped: string[] }>(svc!.url, 'POST', '/signals', {});
  assert.is(res.status, 200);
  assert.is(res.body.model_name, 'mom');
  assert.is(res.body.model_version, 1);
  assert.ok(!Number.isNaN(Date.parse(res.body.generated_at)));
  // Four scored symbols, topN 2: two longs at +0.25, two shorts at -0.25.
  assert.equal(res.body.signals, [
    { symbol: 'DDD', score: 0.25, target_weight: 0.25 },
    { symbol: 'BBB', score: 0.2, target_weight: 0.25 },
    { symbol: 'AAA', score: 0.1, target_weight: -0.25 },
    { symbol: 'CCC', score: -0.25, target_weight: -0.25 },
  ]);
  assert.equal(res.body.skipped, ['EEE']);
  assert.equal(JSON.parse((await redis!.get('signals:latest'))!), res.body);
  const latest = await call(svc!.url, 'GET', '/signals/latest');
  assert.is(latest.status, 200);
  assert.equal(latest.body, res.body);
  assert.is(await metric(svc!.url, 'signal_service_signals_generated_total', { model_version: '1' }), 4);
  assert.is(await metric(svc!.url, 'signal_service_model_predictions_total', { model_name: 'mom' }), predictionsBefore + 4);
  const count = parseSamples(await scrape(svc!.url)).find((s) => s.name === 'signal_service_signal_generation_duration_seconds_count');
  assert.is(count?.value, 1);
});

test('honours a requested symbol subset and topN, and 400s bad signal requests', async ({ svc }) => {
  const res = await call<{ signals: Array<{ symbol: string; target_weight: number }>; skipped: string[] }>(svc!.url, 'POST', '/signals', {
    symbols: ['AAA', 'BBB', 'CCC', 'ZZZ'],
    topN: 1,
  });
  assert.is(res.status, 200);
  assert.equal(res.body.signals.map((s) => [s.symbol, s.target_weight]), [['BBB', 0.5], ['AAA', 0], ['CCC', -0.5]]);
  assert.equal(res.body.skipped, ['ZZZ']);
  const bad = await call<ErrorBody>(svc!.url, 'POST', '/signals', { symbols: ['not a ticker'] });
  assert.is(bad.status, 400);
  assert.match(bad.body.error.message, /^invalid request body: symbols\.0:/);
  const badN = await call<ErrorBody>(svc!.url, 'POST', '/signals', { topN: 0 });
  assert.match(badN.body.error.message, /^invalid request body: topN:/);
});

test('hot reloads a model activated elsewhere by polling', async ({ poller, db, redis, modelIds }) => {
  await waitFor('poller to load model 1', async () => (await metric(poller!.url, 'signal_service_model_version')) === 1);
  await activateBySql(db!, modelIds.rev2!);
  const ms = await waitFor('poller to load model 2', async () => (await metric(poller!.url, 'signal_service_model_version')) === 2, 2000);
  process.stdout.write(`  [poll reload observed after ${ms} ms at MODEL_POLL_MS=100]\n`);
  // Mean reversion, lookback 4: minus the z-score of the newest price.
  await seedPrices(redis!, 'AAA', [5, 1, 1, 5]); // z +1 -> -1
  await seedPrices(redis!, 'BBB', [1, 5, 5, 1]); // z -1 -> +1
  await seedPrices(redis!, 'CCC', [3, 3, 3, 3]); // flat -> 0
  const res = await call<{ model_name: string; signals: unknown }>(poller!.url, 'POST', '/signals', { symbols: ['AAA', 'BBB', 'CCC'] });
  assert.is(res.body.model_name, 'rev');
  assert.equal(res.body.signals, [
    { symbol: 'BBB', score: 1, target_weight: 0.5 },
    { symbol: 'CCC', score: 0, target_weight: 0 },
    { symbol: 'AAA', score: -1, target_weight: -0.5 },
  ]);
});

test('POST /models/reload loads the active model now', async ({ svc }) => {
  // svc polls every 10 minutes, so it still serves model 1 until asked.
  assert.is(await metric(svc!.url, 'signal_service_model_version'), 1);
  const res = await call<{ model: { version: number; kind: string } }>(svc!.url, 'POST', '/models/reload');
  assert.is(res.status, 200);
  assert.equal([res.body.model.version, res.body.model.kind], [2, 'mean_reversion']);
  assert.is(await metric(svc!.url, 'signal_service_model_version'), 2);
});

test('a broken active model counts reload failures and keeps the last good model', async ({ svc, poller, db, modelIds }) => {
  const failuresBefore = (await metric(svc!.url, 'signal_service_model_reload_total', { status: 'failure' }))!;
  const { rows } = await db!.query<{ id: number }>(
    `INSERT INTO models (name, version, kind, params) VALUES ('broken', 1, 'momentum', '{"lookback": 1, "topN": 2}'), ('notobj', 1, 'momentum', '"lookback=5"'), ('badkind', 1, 'astrology', '{"lookback": 5, "topN": 2}') RETURNING id`,
  );
  for (const [i, problem] of [/params\.lookback: Number must be greater than or equal to 2/, /params: Expected object, received string/, /kind: "astrology" is not one of momentum, mean_reversion/].entries()) {
    await activateBySql(db!, rows[i]!.id);
    const res = await call<ErrorBody>(svc!.url, 'POST', '/models/reload');
    assert.is(res.status, 422);
    assert.match(res.body.error.message, problem);
    assert.match(res.body.error.message, new RegExp(`model ${modelIds.rev2} \\("rev" v2\\) stays loaded`));
  }
  assert.is(await metric(svc!.url, 'signal_service_model_reload_total', { status: 'failure' }), failuresBefore + 3);
  assert.is(await metric(svc!.url, 'signal_service_model_loaded_status'), 1);
  assert.is(await metric(svc!.url, 'signal_service_model_version'), 2);
  const signals = await call<{ model_name: string }>(svc!.url, 'POST', '/signals', {});
  assert.is(signals.status, 200);
  assert.is(signals.body.model_name, 'rev');
  // The polling instance counts a failure on every poll while the active model stays broken.
  const pollFailures = (await metric(poller!.url, 'signal_service_model_reload_total', { status: 'failure' }))!;
  await waitFor('poll failures to keep rising', async () => (await metric(poller!.url, 'signal_service_model_reload_total', { status: 'failure' }))! >= pollFailures + 3);
  // The API refuses to activate a broken row in the first place.
  const refused = await call<ErrorBody>(svc!.url, 'POST', `/models/${rows[0]!.id}/activate`);
  assert.is(refused.status, 422);
  assert.match(refused.body.error.message, /cannot be activated: params\.lookback/);
});

test('no active model unloads: loaded 0, version 0, POST /signals 503', async ({ svc, poller, db }) => {
  await db!.query('UPDATE models SET active = false WHERE active');
  const reload = await call<ErrorBody>(svc!.url, 'POST', '/models/reload');
  assert.is(reload.status, 503);
  assert.match(reload.body.error.message, /no model is loaded/);
  assert.is(await metric(svc!.url, 'signal_service_model_loaded_status'), 0);
  assert.is(await metric(svc!.url, 'signal_service_model_version'), 0);
  const res = await call<ErrorBody>(svc!.url, 'POST', '/signals', {});
  assert.is(res.status, 503);
  assert.is(res.body.error.code, 'model_not_loaded');
  assert.match(res.body.error.message, /activate one with POST \/models\/:id\/activate/);
  await waitFor('poller to unload', async () => (await metric(poller!.url, 'signal_service_model_loaded_status')) === 0);
});

test('exposes the exact metric names, label sets and histogram buckets', async ({ svc }) => {
  const text = await scrape(svc!.url);
  // The process and runtime families are prom-client's (tests/http-metrics.test.ts checks they are there).
  const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].filter((m) => !isProcessMetric(m[1]!, 'signal_service')).map((m) => [m[1]!, m[2]!]));
  assert.equal(Object.fromEntries(types), {
    signal_service_http_requests_total: 'counter',
    signal_service_http_request_duration_seconds: 'histogram',
    signal_service_requests_total: 'counter',
    signal_service_signal_generation_duration_seconds: 'histogram',
    signal_service_signals_generated_total: 'counter',
    signal_service_model_predictions_total: 'counter',
    signal_service_model_reload_total: 'counter',
    signal_service_model_polls_total: 'counter',
    signal_service_database_connection_status: 'gauge',
    signal_service_redis_connection_status: 'gauge',
    signal_service_model_loaded_status: 'gauge',
    signal_service_model_version: 'gauge',
  });
  const samples = parseSamples(text);
  const requests = samples.filter((s) => s.name === 'signal_service_requests_total');
  assert.is(requests.length, ENDPOINTS.length * 3);
  for (const s of requests) {
    assert.equal(Object.keys(s.labels).sort(), ['endpoint', 'status']);
    assert.ok((ENDPOINTS as readonly string[]).includes(s.labels.endpoint!));
    assert.ok(['2xx', '4xx', '5xx'].includes(s.labels.status!));
  }
  const les = samples.filter((s) => s.name === 'signal_service_signal_generation_duration_seconds_bucket').map((s) => s.labels.le);
  assert.equal(les, [...GENERATION_BUCKETS.map(String), '+Inf']);
  assert.equal(samples.filter((s) => s.name === 'signal_service_model_reload_total').map((s) => s.labels.status).sort(), ['failure', 'success']);
  assert.equal(samples.filter((s) => s.name === 'signal_service_model_polls_total').map((s) => s.labels.status).sort(), ['error', 'ok']);
  for (const s of samples.filter((x) => x.name === 'signal_service_signals_generated_total')) assert.match(s.labels.model_version!, /^\d+$/);
  assert.is(await metric(svc!.url, 'signal_service_database_connection_status'), 1);
  assert.is(await metric(svc!.url, 'signal_service_redis_connection_status'), 1);
});

test('promtool check metrics accepts /metrics', async ({ svc }) => {
  const text = await scrape(svc!.url);
  const result = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
  assert.is(result.output, '');
  assert.is(result.code, 0);
});

// Each model load is several Postgres round trips, so the full path runs 100 names (six times the cap of 16);
// the 10,000-name case for the label bound itself is in signal-service-math.test.ts.
const LOADED_RANDOM_MODELS = 100;

test('series stay bounded under 100 loaded random model names and 10,000 random symbols', async ({ svc, db, redis }) => {
  // Process and runtime series (handle types, GC kinds) follow Node's internals, not the input, so they are not counted.
  const seriesCount = async (): Promise<number> => parseSamples(await scrape(svc!.url)).filter((s) => !isProcessMetric(s.name, 'signal_service')).length;
  const t0 = Date.now();
  const { rows } = await db!.query<{ id: number }>(
    `INSERT INTO models (name, version, kind, params)
     SELECT 'rnd ' || md5(random()::text) || ' ' || g, 1, 'momentum', '{"lookback": 2, "topN": 1}'::jsonb
     FROM generate_series(1, $1::int) g RETURNING id`,
    [LOADED_RANDOM_MODELS],
  );
  await seedPrices(redis!, 'AAA', [1, 2]);
  await seedPrices(redis!, 'BBB', [2, 1]);
  // Every name is loaded and used for a prediction; names with spaces and names past the cap all fold into "other".
  for (const { id } of rows) {
    await activateBySql(db!, id);
    assert.is((await call(svc!.url, 'POST', '/models/reload')).status, 200);
    assert.is((await call(svc!.url, 'POST', '/signals', { symbols: ['AAA', 'BBB'] })).status, 200);
  }
  const modelsMs = Date.now() - t0;
  const predictionLabels = parseSamples(await scrape(svc!.url))
    .filter((s) => s.name === 'signal_service_model_predictions_total')
    .map((s) => s.labels.model_name!);
  assert.ok(predictionLabels.length <= MAX_MODEL_NAME_LABELS + 1, `model_name series: ${predictionLabels.length}`);
  assert.ok(predictionLabels.includes('other'));
  const afterModels = await seriesCount();
  const randomSymbol = (): string => `${String.fromCharCode(65 + Math.floor(Math.random() * 26))}${Math.random().toString(36).slice(2, 8).toUpperCase()}`;
  for (let i = 0; i < 10_000 / MAX_SIGNAL_SYMBOLS; i++) {
    const res = await call<{ skipped: string[] }>(svc!.url, 'POST', '/signals', { symbols: Array.from({ length: MAX_SIGNAL_SYMBOLS }, randomSymbol) });
    assert.is(res.status, 200);
  }
  assert.is(await seriesCount(), afterModels);
  process.stdout.write(`  [${LOADED_RANDOM_MODELS} model loads + signal requests in ${modelsMs} ms; ${afterModels} series exposed]\n`);
});

test.run();
