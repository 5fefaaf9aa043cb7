import net from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import pg from 'pg';
import { Redis } from 'ioredis';
import { startTestDeps, type TestDeps } from './helpers/stack.ts';
import { freePort } from '../stack/ports.ts';
import { startFaultProxy, type FaultProxy } from '../stack/fault-proxy.ts';

interface Ctx {
  deps?: TestDeps;
  redisProxy?: FaultProxy;
  pgProxy?: FaultProxy;
  clients: { close(): Promise<unknown> | void }[];
}

const test = suite<Ctx>('fault proxy', { clients: [] });

test.before(async (ctx) => {
  ctx.deps = await startTestDeps();
  ctx.redisProxy = await startFaultProxy({ name: 'redis', target: { host: ctx.deps.redis.host, port: ctx.deps.redis.port } });
  ctx.pgProxy = await startFaultProxy({ name: 'postgres', target: { host: ctx.deps.pg.host, port: ctx.deps.pg.port } });
});

test.after.each(async (ctx) => {
  for (const c of ctx.clients.splice(0)) await Promise.resolve(c.close()).catch(() => undefined);
  await ctx.redisProxy?.set({ kind: 'pass' });
  await ctx.pgProxy?.set({ kind: 'pass' });
});

test.after(async (ctx) => {
  await ctx.redisProxy?.close();
  await ctx.pgProxy?.close();
  await ctx.deps?.owner.stopAll();
});

/** A client of `to`: a proxy, or the server itself for a direct baseline. */
function redisVia(ctx: Ctx, to: { host: string; port: number }, commandTimeout = 2000): Redis {
  const r = new Redis({ host: to.host, port: to.port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, commandTimeout, connectTimeout: 1000 });
  r.on('error', () => undefined);
  ctx.clients.push({ close: () => r.disconnect() });
  return r;
}

async function pgVia(ctx: Ctx, to: { host: string; port: number }, extra: pg.ClientConfig = {}): Promise<pg.Client> {
  const c = new pg.Client({ host: to.host, port: to.port, user: 'postgres', database: 'postgres', ...extra });
  c.on('error', () => undefined);
  ctx.clients.push({ close: () => c.end() });
  await c.connect();
  return c;
}

/** A raw Redis connection, so a test sees exactly what the socket sees (errors and codes), with no client library retries. */
function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function rawPing(sock: net.Socket, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reply')), timeoutMs);
    sock.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve(d.toString());
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.write('PING\r\n');
  });
}

/** How a fresh connection to port ends: "connected" or the error code (ECONNREFUSED, ...). */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

function socketOutcome(sock: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    sock.once('close', () => resolve('closed'));
  });
}

async function medianMs(n: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)]!;
}

test('forwards Redis and Postgres traffic unchanged in pass mode', async (ctx) => {
  const r = redisVia(ctx, ctx.redisProxy!);
  await r.connect();
  await r.set('proxy:k', 'v1');
  assert.is(await r.get('proxy:k'), 'v1');
  const big = 'x'.repeat(3 * 1024 * 1024);
  await r.set('proxy:big', big);
  assert.is((await r.get('proxy:big'))?.length, big.length);
  const c = await pgVia(ctx, ctx.pgProxy!);
  const res = await c.query<{ n: number }>('SELECT generate_series(1, 5000) AS n');
  assert.is(res.rows.length, 5000);
  assert.is(res.rows[4999]!.n, 5000);
  assert.ok(ctx.redisProxy!.connections() >= 1);
});

/**
 * Checks a round trip measured through the proxy against the same one measured directly: pass mode adds far less than
 * the fault would (under a quarter of it), and latency mode adds about 2 x ms. Every chunk waits at least ms each way,
 * so the slow round trip cannot be shorter than 2 x ms; the upper bound leaves half the injected delay again for a loaded
 * machine, which still fails a delay applied twice or to every chunk in turn.
 */
function assertAddsLatency(what: string, ms: number, t: { direct: number; pass: number; slow: number }): void {
  const injected = 2 * ms;
  console.log(`  latency: ${what} median ${t.direct.toFixed(1)} ms direct, ${t.pass.toFixed(1)} ms through the proxy, ${t.slow.toFixed(1)} ms at ${ms} ms each way`);
  assert.ok(t.pass - t.direct < injected / 4, `${what}: pass mode added ${(t.pass - t.direct).toFixed(1)} ms, expected far less than ${injected} ms`);
  assert.ok(t.slow >= injected, `${what}: round trip ${t.slow.toFixed(1)} ms at ${ms} ms each way, expected at least ${injected} ms`);
  assert.ok(t.slow - t.pass < 1.5 * injected, `${what}: latency mode added ${(t.slow - t.pass).toFixed(1)} ms, expected about ${injected} ms`);
}

test('adds the configured delay in each direction in latency mode, and next to nothing in pass mode', async (ctx) => {
  const deps = ctx.deps!;
  const directRedis = redisVia(ctx, deps.redis);
  await directRedis.connect();
  const r = redisVia(ctx, ctx.redisProxy!);
  await r.connect();
  const redis = { direct: await medianMs(9, () => directRedis.ping()), pass: await medianMs(9, () => r.ping()), slow: 0 };
  await ctx.redisProxy!.set({ kind: 'latency', ms: 100 });
  redis.slow = await medianMs(9, () => r.ping());
  const directPg = await pgVia(ctx, deps.pg);
  const c = await pgVia(ctx, ctx.pgProxy!);
  const pgTimes = { direct: await medianMs(5, () => directPg.query('SELECT 1')), pass: await medianMs(5, () => c.query('SELECT 1')), slow: 0 };
  await ctx.pgProxy!.set({ kind: 'latency', ms: 100 });
  pgTimes.slow = await medianMs(5, () => c.query('SELECT 1'));
  assertAddsLatency('redis PING', 100, redis);
  assertAddsLatency('postgres SELECT 1', 100, pgTimes);
});

test('keeps byte order when latency changes mid-stream', async (ctx) => {
  const r = redisVia(ctx, ctx.redisProxy!);
  await r.connect();
  await ctx.redisProxy!.set({ kind: 'latency', ms: 150 });
  const first = r.incr('proxy:order');
  await new Promise((res) => setTimeout(res, 20));
  await ctx.redisProxy!.set({ kind: 'pass' });
  const second = r.incr('proxy:order');
  const [a, b] = await Promise.all([first, second]);
  assert.is(b, a + 1);
});

test('makes clients time out in timeout mode, for existing and new connections', async (ctx) => {
  const r = redisVia(ctx, ctx.redisProxy!, 300);
  await r.connect();
  const c = await pgVia(ctx, ctx.pgProxy!, { query_timeout: 300 });
  await ctx.redisProxy!.set({ kind: 'timeout' });
  await ctx.pgProxy!.set({ kind: 'timeout' });
  try {
    await r.get('proxy:k');
    assert.unreachable('redis command should time out');
  } catch (err) {
    assert.match((err as Error).message, /timed out/i);
  }
  try {
    await c.query('SELECT 1');
    assert.unreachable('postgres query should time out');
  } catch (err) {
    assert.match((err as Error).message, /timeout/i);
  }
  const fresh = new pg.Client({ host: ctx.pgProxy!.host, port: ctx.pgProxy!.port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 300 });
  fresh.on('error', () => undefined);
  try {
    await fresh.connect();
    assert.unreachable('postgres connect should time out');
  } catch (err) {
    assert.match((err as Error).message, /timeout/i);
  } finally {
    await fresh.end().catch(() => undefined);
  }
});

test('delivers held bytes at once when a black hole ends', async (ctx) => {
  const holdMs = 1000;
  const sock = await rawConnect(ctx.redisProxy!.port);
  ctx.clients.push({ close: () => void sock.destroy() });
  const roundTripMs = await medianMs(5, () => rawPing(sock));
  await ctx.redisProxy!.set({ kind: 'timeout' });
  const reply = rawPing(sock, holdMs + 5000);
  await new Promise((res) => setTimeout(res, holdMs));
  const t0 = performance.now();
  await ctx.redisProxy!.set({ kind: 'pass' });
  assert.is(await reply, '+PONG\r\n');
  const releaseMs = performance.now() - t0;
  console.log(`  black hole: held PING answered ${releaseMs.toFixed(1)} ms after pass (round trip ${roundTripMs.toFixed(1)} ms, held ${holdMs} ms)`);
  // At once: a release that waited anything like the hold again fails; a loaded machine has half the hold to spare.
  assert.ok(releaseMs < holdMs / 2, `held PING answered ${releaseMs.toFixed(1)} ms after the black hole ended`);
});

test('hides a dead target inside a black hole and resets the client once it ends', async (ctx) => {
  const deadPort = await freePort();
  const proxy = await startFaultProxy({ name: 'dead-target', target: { host: '127.0.0.1', port: deadPort } });
  ctx.clients.push({ close: () => proxy.close() });
  await proxy.set({ kind: 'timeout' });
  const sock = await rawConnect(proxy.port);
  ctx.clients.push({ close: () => void sock.destroy() });
  let settled: string | undefined;
  const outcome = socketOutcome(sock).then((o) => (settled = o));
  sock.write('PING\r\n');
  // The proxy dialled the dead port as it accepted; a later dial of ours being refused means its own was refused first.
  const deadline = Date.now() + 2000;
  while (proxy.connections() === 0 && Date.now() < deadline) await new Promise((res) => setImmediate(res));
  assert.is(proxy.connections(), 1, 'the proxy took the connection');
  assert.is(await connectOutcome(deadPort), 'ECONNREFUSED');
  await new Promise((res) => setImmediate(res));
  assert.is(proxy.connections(), 1, 'a refused upstream inside a black hole keeps the client connection');
  assert.is(settled, undefined, 'the client sees nothing of the refused upstream');
  await proxy.set({ kind: 'pass' });
  assert.is(await outcome, 'ECONNRESET');
  assert.is(proxy.connections(), 0);
});

test('delivers the last reply before passing on the target closing the connection', async (ctx) => {
  await ctx.redisProxy!.set({ kind: 'latency', ms: 50 });
  const sock = await rawConnect(ctx.redisProxy!.port);
  ctx.clients.push({ close: () => void sock.destroy() });
  let text = '';
  sock.on('data', (d: Buffer) => (text += d.toString()));
  const ended = new Promise<void>((resolve) => sock.once('end', resolve));
  sock.write('QUIT\r\n');
  await ended;
  assert.is(text, '+OK\r\n');
});

test('resets existing and new connections in reset mode', async (ctx) => {
  const existing = await rawConnect(ctx.redisProxy!.port);
  ctx.clients.push({ close: () => void existing.destroy() });
  assert.is(await rawPing(existing), '+PONG\r\n');
  const c = await pgVia(ctx, ctx.pgProxy!);
  const pgError = new Promise<string>((resolve) => c.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message)));
  const outcome = socketOutcome(existing);
  await ctx.redisProxy!.set({ kind: 'reset' });
  await ctx.pgProxy!.set({ kind: 'reset' });
  assert.is(await outcome, 'ECONNRESET');
  assert.is(await pgError, 'ECONNRESET');
  // The RST may arrive before or after the client sees the handshake complete; either way the socket fails with it.
  const fresh = net.connect({ host: '127.0.0.1', port: ctx.redisProxy!.port });
  assert.is(await socketOutcome(fresh), 'ECONNRESET');
  assert.is(ctx.redisProxy!.connections(), 0);
});

test('refuses connections in down mode and serves again on the same port after pass', async (ctx) => {
  const port = ctx.redisProxy!.port;
  const existing = await rawConnect(port);
  ctx.clients.push({ close: () => void existing.destroy() });
  assert.is(await rawPing(existing), '+PONG\r\n');
  const outcome = socketOutcome(existing);
  await ctx.redisProxy!.set({ kind: 'down' });
  assert.is(await outcome, 'closed');
  try {
    await rawConnect(port);
    assert.unreachable('connect should be refused');
  } catch (err) {
    assert.is((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  }
  await ctx.redisProxy!.set({ kind: 'pass' });
  assert.is(ctx.redisProxy!.port, port);
  const again = await rawConnect(port);
  ctx.clients.push({ close: () => void again.destroy() });
  assert.is(await rawPing(again), '+PONG\r\n');
});

test('leaves no sockets behind on close', async (ctx) => {
  const proxy = await startFaultProxy({ name: 'redis-close', target: { host: ctx.deps!.redis.host, port: ctx.deps!.redis.port } });
  const admin = new Redis(ctx.deps!.redis.url);
  ctx.clients.push({ close: () => admin.disconnect() });
  const viaProxy: Redis[] = [];
  for (let i = 0; i < 3; i++) {
    const r = redisVia(ctx, proxy);
    await r.connect();
    await r.client('SETNAME', `via-proxy-${i}`);
    viaProxy.push(r);
  }
  await proxy.set({ kind: 'latency', ms: 1000 });
  const inFlight = viaProxy[0]!.get('proxy:k').catch((err: Error) => err.message);
  const countNamed = async (): Promise<number> => ((await admin.client('LIST')) as string).split('\n').filter((l) => l.includes('name=via-proxy-')).length;
  assert.is(await countNamed(), 3);
  assert.is(proxy.connections(), 3);
  await proxy.close();
  assert.is(proxy.connections(), 0);
  assert.type(await inFlight, 'string');
  // Redis notices the closed upstream sockets asynchronously; poll briefly.
  const deadline = Date.now() + 2000;
  while ((await countNamed()) > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  assert.is(await countNamed(), 0);
  try {
    await rawConnect(proxy.port);
    assert.unreachable('closed proxy must not accept');
  } catch (err) {
    assert.is((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  }
});

test.run();
