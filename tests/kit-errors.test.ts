// service kit outage classification: what node-postgres and ioredis really throw against stopped, paused, black-holed and reset servers, and application errors that are no outage.
import pg from 'pg';
import { Redis } from 'ioredis';
import pino from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HttpError } from '../services/kit/errors.ts';
import { isPostgresUnavailable, isRedisUnavailable } from '../services/kit/outages.ts';
import { createPool, withDb } from '../services/kit/pg.ts';
import { createRedis, redisReady, withRedis } from '../services/kit/redis.ts';
import { startFaultProxy, type FaultProxy } from '../stack/fault-proxy.ts';
import { startTestDeps, type TestDeps } from './helpers/stack.ts';

interface Ctx {
  deps: TestDeps;
  pgProxy: FaultProxy;
  redisProxy: FaultProxy;
  /** Everything a test opens, closed in after() even when the test failed half-way. */
  pools: pg.Pool[];
  clients: Redis[];
}

const test = suite<Ctx>('service kit outage classification', { pools: [], clients: [] } as unknown as Ctx);
const silent = pino({ level: 'silent' });

test.before(async (ctx) => {
  ctx.deps = await startTestDeps();
  ctx.pgProxy = await startFaultProxy({ name: 'postgres', target: { host: ctx.deps.pg.host, port: ctx.deps.pg.port } });
  ctx.redisProxy = await startFaultProxy({ name: 'redis', target: { host: ctx.deps.redis.host, port: ctx.deps.redis.port } });
});

test.after(async (ctx) => {
  await Promise.allSettled(ctx.pools.map((p) => p.end()));
  for (const c of ctx.clients) c.disconnect();
  await Promise.allSettled([ctx.pgProxy?.close(), ctx.redisProxy?.close()]);
  await ctx.deps?.owner.stopAll();
});

function pool(ctx: Ctx, via: 'direct' | 'proxy' = 'direct'): pg.Pool {
  const { host, port } = via === 'proxy' ? ctx.pgProxy : ctx.deps.pg;
  const p = createPool(`postgres://postgres@${host}:${port}/postgres`, silent, 4);
  ctx.pools.push(p);
  return p;
}

async function redis(ctx: Ctx, via: 'direct' | 'proxy' = 'direct'): Promise<Redis> {
  const { host, port } = via === 'proxy' ? ctx.redisProxy : ctx.deps.redis;
  const r = createRedis(`redis://${host}:${port}`, silent);
  ctx.clients.push(r);
  await redisReady(r);
  return r;
}

/** The error a promise rejects with; fails the test when it resolves. */
async function failure(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected the call to fail, it succeeded');
}

/** What the kit's wrapper makes of an error: a 503 naming the dependency, or the error itself passed on unchanged. */
async function verdict(wrap: typeof withDb, err: Error): Promise<string> {
  const out = await failure(wrap(() => Promise.reject(err)));
  if (out === err) return 'passed through';
  if (out instanceof HttpError) return `${out.status} ${(out.details as { dependency: string }).dependency}`;
  return `other: ${out.message}`;
}

const shape = (e: Error & { code?: string; name: string }): string => `${e.constructor.name} ${e.code ?? '-'} ${e.message}`;

async function assertPostgresOutage(err: Error): Promise<void> {
  assert.ok(isPostgresUnavailable(err), `not classified as a Postgres outage: ${shape(err)}`);
  assert.is(await verdict(withDb, err), '503 postgres', shape(err));
}

async function assertRedisOutage(err: Error): Promise<void> {
  assert.ok(isRedisUnavailable(err), `not classified as a Redis outage: ${shape(err)}`);
  assert.is(await verdict(withRedis, err), '503 redis', shape(err));
}

test('Postgres application errors pass through withDb, even when their text says connection or timeout', async (ctx) => {
  const db = pool(ctx);
  await db.query('CREATE TABLE connection_timeouts (id int PRIMARY KEY)');
  await db.query('INSERT INTO connection_timeouts VALUES (1)');
  const cases: [string, () => Promise<unknown>][] = [
    ['23505', () => db.query('INSERT INTO connection_timeouts VALUES (1)')],
    ['42P01', () => db.query('SELECT * FROM lost_connection')],
    ['42601', () => db.query('SELEC 1')],
    ['22P02', () => db.query("SELECT 'terminated'::int")],
    ['22021', () => db.query('SELECT $1::text', ['a\u0000b'])],
    ['22003', () => db.query('SELECT $1::int', ['99999999999999999999'])],
  ];
  for (const [code, p] of cases) {
    const err = await failure(p());
    assert.is(err.code, code, err.message);
    assert.not.ok(isPostgresUnavailable(err), `${code} classified as an outage: ${err.message}`);
    assert.is(await verdict(withDb, err), 'passed through', err.message);
  }
});

test('SQLSTATE decides for server errors: resource, shutdown and I/O classes are outages, statement classes are not', async () => {
  const dbError = (code: string, message: string): Error => Object.assign(new pg.DatabaseError(message, 0, 'error'), { code, severity: 'FATAL' });
  const outages = [
    ['53300', 'sorry, too many clients already'],
    ['53100', 'could not extend file "base/5/16384": No space left on device'],
    ['53200', 'out of memory'],
    ['57P02', 'terminating connection because of crash of another server process'],
    ['57P03', 'the database system is starting up'],
    ['08006', 'server closed the connection'],
    ['58030', 'could not read block 0 in file "base/5/16384": read only 0 of 8192 bytes'],
  ];
  for (const [code, message] of outages) await assertPostgresOutage(dbError(code!, message!));
  const statementErrors = [
    ['40001', 'could not serialize access due to concurrent update'],
    ['40P01', 'deadlock detected'],
    ['22012', 'division by zero'],
    ['42501', 'permission denied for table connections'],
  ];
  for (const [code, message] of statementErrors) {
    const err = dbError(code!, message!);
    assert.not.ok(isPostgresUnavailable(err), `${code} ${message}`);
    assert.is(await verdict(withDb, err), 'passed through', `${code} ${message}`);
  }
});

test('Postgres stopped: the in-flight query (57P01) and the next one (ECONNREFUSED) are outages', async (ctx) => {
  const db = pool(ctx);
  await db.query('SELECT 1');
  const inflight = failure(db.query('SELECT pg_sleep(5)'));
  await new Promise((r) => setTimeout(r, 200));
  await ctx.deps.pg.stop();
  try {
    const during = await inflight;
    assert.is(during.code, '57P01', during.message);
    await assertPostgresOutage(during);
    const refused = await failure(db.query('SELECT 1'));
    assert.is(refused.code, 'ECONNREFUSED', refused.message);
    await assertPostgresOutage(refused);
  } finally {
    await ctx.deps.pg.start();
  }
});

test('a terminated backend (57P01) and its dead client are outages', async (ctx) => {
  const db = pool(ctx);
  const client = await db.connect();
  client.on('error', () => undefined);
  try {
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const inflight = failure(client.query('SELECT pg_sleep(5)'));
    await new Promise((r) => setTimeout(r, 100));
    await db.query('SELECT pg_terminate_backend($1)', [pid]);
    const terminated = await inflight;
    assert.is(terminated.code, '57P01', terminated.message);
    await assertPostgresOutage(terminated);
    const dead = await failure(client.query('SELECT 1'));
    // Which of the two the dead client throws depends on whether it has processed its socket's end yet; both are real.
    assert.ok(['Connection terminated unexpectedly', 'Client has encountered a connection error and is not queryable'].includes(dead.message), dead.message);
    await assertPostgresOutage(dead);
  } finally {
    client.release(true);
  }
});

test('too many connections for a role (53300) is an outage', async (ctx) => {
  const db = pool(ctx);
  await db.query('CREATE ROLE one_connection LOGIN CONNECTION LIMIT 1');
  const url = `postgres://one_connection@${ctx.deps.pg.host}:${ctx.deps.pg.port}/postgres`;
  const first = new pg.Client({ connectionString: url });
  await first.connect();
  try {
    const second = new pg.Client({ connectionString: url });
    const err = await failure(second.connect());
    assert.is(err.code, '53300', err.message);
    await assertPostgresOutage(err);
  } finally {
    await first.end();
  }
});

test('statement_timeout (57014) is an outage', async (ctx) => {
  const client = await pool(ctx).connect();
  try {
    await client.query('SET statement_timeout = 100');
    const err = await failure(client.query('SELECT pg_sleep(2)'));
    assert.is(err.code, '57014', err.message);
    await assertPostgresOutage(err);
  } finally {
    client.release(true);
  }
});

test('Postgres black-holed: a held connection ("Query read timeout") and a new one (connection timeout) are outages', async (ctx) => {
  const db = pool(ctx, 'proxy');
  await db.query('SELECT 1');
  await ctx.pgProxy.set({ kind: 'timeout' });
  try {
    // pg honours a per-query query_timeout (lib/client.js); @types/pg does not declare it. Shorter than the pool's 5 s.
    const held = await failure(db.query({ text: 'SELECT 1', query_timeout: 300 } as pg.QueryConfig));
    assert.is(held.message, 'Query read timeout');
    await assertPostgresOutage(held);
    const fresh = await failure(pool(ctx, 'proxy').query('SELECT 1'));
    assert.is(fresh.message, 'Connection terminated due to connection timeout');
    await assertPostgresOutage(fresh);
  } finally {
    await ctx.pgProxy.set({ kind: 'pass' });
  }
});

test('Postgres connections reset: the in-flight query and a new connection are outages', async (ctx) => {
  const db = pool(ctx, 'proxy');
  await db.query('SELECT 1');
  const inflight = failure(db.query('SELECT pg_sleep(5)'));
  await new Promise((r) => setTimeout(r, 100));
  await ctx.pgProxy.set({ kind: 'reset' });
  try {
    const during = await inflight;
    await assertPostgresOutage(during);
    const fresh = await failure(db.query('SELECT 1'));
    await assertPostgresOutage(fresh);
  } finally {
    await ctx.pgProxy.set({ kind: 'pass' });
  }
});

test('Redis reply errors of the command pass through withRedis: WRONGTYPE, ERR syntax, unknown command, not an integer', async (ctx) => {
  const r = await redis(ctx);
  await r.set('kit:string', 'connection');
  const cases: [string, () => Promise<unknown>][] = [
    ['WRONGTYPE', () => r.lpush('kit:string', 'x')],
    ['ERR syntax', () => r.call('SET', 'kit:a', 'b', 'XX', 'NX')],
    ['ERR unknown command', () => r.call('NO_SUCH_COMMAND')],
    ['ERR value is not an integer', () => r.incr('kit:string')],
  ];
  for (const [prefix, p] of cases) {
    const err = await failure(p());
    assert.ok(err.message.startsWith(prefix), err.message);
    assert.not.ok(isRedisUnavailable(err), `classified as an outage: ${err.message}`);
    assert.is(await verdict(withRedis, err), 'passed through', err.message);
  }
});

test('a bug inside withRedis is not reported as a Redis outage', async () => {
  const bug = new TypeError("Cannot read properties of undefined (reading 'connect')");
  assert.not.ok(isRedisUnavailable(bug));
  assert.is(await verdict(withRedis, bug), 'passed through');
});

test('Redis that is up but cannot serve: OOM at maxmemory and BUSY behind a running script are outages', async (ctx) => {
  const r = await redis(ctx);
  await r.config('SET', 'maxmemory-policy', 'noeviction');
  await r.config('SET', 'maxmemory', '1');
  try {
    const oom = await failure(r.set('kit:oom', 'x'));
    assert.ok(oom.message.startsWith('OOM '), oom.message);
    await assertRedisOutage(oom);
  } finally {
    await r.config('SET', 'maxmemory', '0');
  }
  await r.config('SET', 'busy-reply-threshold', '50');
  // A plain client without the kit's command timeout, so the script holds the server until SCRIPT KILL.
  const runner = new Redis(ctx.deps.redis.url, { lazyConnect: true });
  runner.on('error', () => undefined);
  ctx.clients.push(runner);
  await runner.connect();
  const script = failure(runner.eval('while true do end', 0));
  try {
    await new Promise((res) => setTimeout(res, 150));
    const busy = await failure(r.get('kit:string'));
    assert.ok(busy.message.startsWith('BUSY '), busy.message);
    await assertRedisOutage(busy);
  } finally {
    await r.call('SCRIPT', 'KILL').catch(() => undefined);
    await script;
    runner.disconnect();
  }
});

test('Redis paused (SIGSTOP): "Command timed out" is an outage', async (ctx) => {
  const r = await redis(ctx);
  await ctx.deps.redis.pause();
  try {
    const err = await failure(r.get('kit:x'));
    assert.is(err.message, 'Command timed out');
    await assertRedisOutage(err);
  } finally {
    await ctx.deps.redis.resume();
  }
});

test('Redis stopped: the in-flight command and the next one are outages', async (ctx) => {
  const r = await redis(ctx);
  const inflight = failure(r.blpop('kit:never', 5));
  await new Promise((res) => setTimeout(res, 100));
  await ctx.deps.redis.stop();
  try {
    const during = await inflight;
    assert.is(during.name, 'MaxRetriesPerRequestError', during.message);
    await assertRedisOutage(during);
    const next = await failure(r.get('kit:x'));
    assert.is(next.message, "Stream isn't writeable and enableOfflineQueue options is false");
    await assertRedisOutage(next);
  } finally {
    await ctx.deps.redis.start();
  }
});

test('Redis connections reset: the in-flight command and the next one are outages', async (ctx) => {
  const r = await redis(ctx, 'proxy');
  const inflight = failure(r.blpop('kit:never', 5));
  await new Promise((res) => setTimeout(res, 100));
  await ctx.redisProxy.set({ kind: 'reset' });
  try {
    await assertRedisOutage(await inflight);
    await assertRedisOutage(await failure(r.get('kit:x')));
  } finally {
    await ctx.redisProxy.set({ kind: 'pass' });
  }
});

test.run();
