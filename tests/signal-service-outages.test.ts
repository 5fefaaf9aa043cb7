import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import pg from 'pg';
import { Redis } from 'ioredis';
import { startTestDeps, type TestDeps } from './helpers/stack.ts';
import { loadSignalConfig } from '../services/signal-service/config.ts';
import { startSignalService, type SignalService } from '../services/signal-service/server.ts';

interface Ctx {
  deps?: TestDeps;
  svc?: SignalService;
  db?: pg.Pool;
  redis?: Redis;
}

const SYMBOLS = ['AAA', 'BBB'];
const PROBE_INTERVAL_MS = 100;
const POLL_ERRORS = 'signal_service_model_polls_total{status="error"}';
const test = suite<Ctx>('signal-service through Redis and Postgres outages', {});

type ErrorBody = { error: { code: string; message: string; details?: { dependency?: string } } };

async function call<T = unknown>(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Value of an unlabelled (or first matching) sample in /metrics. */
async function metric(base: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - t0;
}

async function seedPrices(redis: Redis): Promise<void> {
  // LPUSH leaves the last argument at the head: AAA newest 110 (+10 %), BBB newest 90 (-10 %).
  await redis.del('prices:AAA', 'prices:BBB');
  await redis.lpush('prices:AAA', '100', '110');
  await redis.lpush('prices:BBB', '100', '90');
}

test.before(async (ctx) => {
  ctx.deps = await startTestDeps();
  const DATABASE_URL = await ctx.deps.pg.createDatabase('signal_outages');
  ctx.svc = await startSignalService(
    loadSignalConfig({
      DATABASE_URL,
      REDIS_URL: ctx.deps.redis.url,
      SYMBOLS: SYMBOLS.join(','),
      LOG_LEVEL: 'silent',
      PROBE_INTERVAL_MS: String(PROBE_INTERVAL_MS),
      MODEL_POLL_MS: '100',
    }),
  );
  const created = await call<{ model: { id: number } }>(ctx.svc.url, 'POST', '/models', { name: 'mom', version: 3, kind: 'momentum', params: { lookback: 2, topN: 1 } });
  assert.is((await call(ctx.svc.url, 'POST', `/models/${created.body.model.id}/activate`)).status, 200);
  ctx.db = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  // The outage test kills this pool's idle connection too; the next query reconnects.
  ctx.db.on('error', () => undefined);
  ctx.redis = new Redis(ctx.deps.redis.url, { maxRetriesPerRequest: 1 });
  ctx.redis.on('error', () => undefined);
  await seedPrices(ctx.redis);
});

test.after(async (ctx) => {
  await ctx.svc?.close();
  await ctx.db?.end().catch(() => undefined);
  ctx.redis?.disconnect();
  await ctx.deps?.owner.stopAll();
});

test('serves signals while both dependencies are up', async ({ svc }) => {
  const res = await call<{ signals: Array<{ symbol: string; score: number; target_weight: number }> }>(svc!.url, 'POST', '/signals', {});
  assert.is(res.status, 200);
  assert.equal(res.body.signals.map((s) => [s.symbol, s.target_weight]), [['AAA', 0.5], ['BBB', -0.5]]);
  assert.is(await metric(svc!.url, 'signal_service_redis_connection_status'), 1);
  assert.is(await metric(svc!.url, 'signal_service_database_connection_status'), 1);
});

test('Redis stopped: status 0 and signal requests 503 naming Redis; recovers when it returns', async ({ svc, deps, redis }) => {
  await deps!.redis.stop();
  const detectMs = await waitFor('redis status 0', async () => (await metric(svc!.url, 'signal_service_redis_connection_status')) === 0);
  const res = await call<ErrorBody>(svc!.url, 'POST', '/signals', {});
  assert.is(res.status, 503);
  assert.is(res.body.error.details?.dependency, 'redis');
  assert.match(res.body.error.message, /^redis unavailable/);
  assert.is((await call(svc!.url, 'GET', '/signals/latest')).status, 503);
  assert.is((await fetch(`${svc!.url}/ready`)).status, 503);
  const fiveXx = await (await fetch(`${svc!.url}/metrics`)).text();
  assert.match(fiveXx, /signal_service_requests_total\{endpoint="signals_generate",status="5xx"\} 1/);
  // The model needs Postgres, not Redis: it stays loaded.
  assert.is(await metric(svc!.url, 'signal_service_model_loaded_status'), 1);

  await deps!.redis.start();
  const recoverMs = await waitFor('redis status 1', async () => (await metric(svc!.url, 'signal_service_redis_connection_status')) === 1);
  process.stdout.write(`  [redis down detected in ${detectMs} ms, recovery in ${recoverMs} ms, probe interval ${PROBE_INTERVAL_MS} ms]\n`);
  // Redis runs without persistence, so the price history is gone after the restart, as it would be in production.
  await waitFor('test client reconnect', async () => redis!.status === 'ready');
  await seedPrices(redis!);
  const after = await call<{ signals: unknown[] }>(svc!.url, 'POST', '/signals', {});
  assert.is(after.status, 200);
  assert.is(after.body.signals.length, 2);
  assert.is((await fetch(`${svc!.url}/ready`)).status, 200);
});

test('Postgres stopped: database status 0, signals still served from the loaded model; recovers when it returns', async ({ svc, deps, db }) => {
  const failuresBefore = await metric(svc!.url, 'signal_service_model_reload_total{status="failure"}');
  const pollErrorsBefore = (await metric(svc!.url, POLL_ERRORS))!;
  await deps!.pg.stop();
  const detectMs = await waitFor('database status 0', async () => (await metric(svc!.url, 'signal_service_database_connection_status')) === 0);
  const res = await call<{ model_version: number; signals: unknown[] }>(svc!.url, 'POST', '/signals', {});
  assert.is(res.status, 200);
  assert.is(res.body.model_version, 3);
  assert.is(res.body.signals.length, 2);
  const list = await call<ErrorBody>(svc!.url, 'GET', '/models');
  assert.is(list.status, 503);
  assert.is(list.body.error.details?.dependency, 'postgres');
  assert.is((await call(svc!.url, 'POST', '/models/reload')).status, 503);
  // Polls keep failing against the stopped registry; once three have, check that an unreachable registry was not
  // counted as a broken model.
  await waitFor('three registry polls failing', async () => (await metric(svc!.url, POLL_ERRORS))! >= pollErrorsBefore + 3);
  assert.is(await metric(svc!.url, 'signal_service_model_reload_total{status="failure"}'), failuresBefore);
  assert.is(await metric(svc!.url, 'signal_service_model_loaded_status'), 1);
  assert.is((await fetch(`${svc!.url}/ready`)).status, 200);

  await deps!.pg.start();
  const recoverMs = await waitFor('database status 1', async () => (await metric(svc!.url, 'signal_service_database_connection_status')) === 1);
  process.stdout.write(`  [postgres down detected in ${detectMs} ms, recovery in ${recoverMs} ms, probe interval ${PROBE_INTERVAL_MS} ms]\n`);
  assert.is((await call(svc!.url, 'GET', '/models')).status, 200);
  // Polling survived the outage: a model activated now is picked up.
  const created = await call<{ model: { id: number } }>(svc!.url, 'POST', '/models', { name: 'mom', version: 4, kind: 'momentum', params: { lookback: 2, topN: 1 } });
  const client = await db!.connect();
  try {
    await client.query('BEGIN');
    await client.query('UPDATE models SET active = false WHERE active');
    await client.query('UPDATE models SET active = true WHERE id = $1', [created.body.model.id]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  await waitFor('poll to load version 4', async () => (await metric(svc!.url, 'signal_service_model_version')) === 4);
});

test.run();
