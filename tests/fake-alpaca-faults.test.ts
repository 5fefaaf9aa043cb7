// fake-alpaca faults: admin API and each injected fault measured from the client side, then recovery.
import net from 'node:net';
import Alpaca from '@alpacahq/alpaca-trade-api/dist/alpaca-trade-api.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { startFakeAlpaca, type FakeAlpaca } from '../services/fake-alpaca/server.ts';
import { api, connectOutcome, json, KEY, StreamClient, ticksPass, type Json } from './helpers/fake-alpaca.ts';

const test = suite<{ fake?: FakeAlpaca; clients: StreamClient[] }>('fake-alpaca faults', { clients: [] });

test.before(async (ctx) => {
  ctx.fake = await startFakeAlpaca({ tickMs: 50, seed: 5, symbols: ['AAPL', 'SPY'], initialCash: 1_000_000 });
});

test.after.each(async (ctx) => {
  for (const c of ctx.clients) c.close();
  ctx.clients = [];
  await ctx.fake?.clearFaults();
});

test.after(async (ctx) => {
  await ctx.fake?.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sell = { symbol: 'SPY', qty: 1, side: 'sell', type: 'market', time_in_force: 'day' };

async function admin(fake: FakeAlpaca, method: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${fake.adminUrl}/admin/faults`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

async function metric(fake: FakeAlpaca, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${fake.adminUrl}/metrics`)).text();
  const m = pattern.exec(text);
  return m ? Number(m[1]) : 0;
}

async function subscribed(ctx: { fake?: FakeAlpaca; clients: StreamClient[] }): Promise<StreamClient> {
  const c = await StreamClient.connect(ctx.fake!.wsUrl);
  ctx.clients.push(c);
  await c.authAndSubscribe({ quotes: ['AAPL'] });
  await c.waitFor((m) => m.T === 'q');
  return c;
}

/** HTTP status of a refused upgrade, or "open" if the upgrade succeeded. */
function upgradeOutcome(url: string): Promise<number | 'open'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve('open');
      ws.terminate();
    });
    ws.once('error', () => undefined);
  });
}

test('admin API reads, merges, validates and clears faults', async ({ fake }) => {
  const initial = await admin(fake!, 'GET');
  assert.equal(initial.body, { latencyMs: 0, errorRate: 0, rateLimit: { share: 0, retryAfterS: 1 }, errorSymbols: [], rejectRate: 0, refuseConnections: false, wsDrop: false, wsDropAfterAuthMs: 0, wsSilent: false, marketOpen: true });
  await admin(fake!, 'PUT', { latencyMs: 10 });
  const merged = await admin(fake!, 'PUT', { errorRate: 0.1 });
  assert.is(merged.status, 200);
  assert.is(merged.body.latencyMs, 10);
  assert.is(merged.body.errorRate, 0.1);
  assert.equal(fake!.faults(), merged.body);
  const bad = await admin(fake!, 'PUT', { errorRate: 2 });
  assert.is(bad.status, 400);
  assert.match(String((bad.body.error as Json).message), /errorRate/);
  const unknown = await admin(fake!, 'PUT', { explode: true });
  assert.is(unknown.status, 400);
  assert.match(String((unknown.body.error as Json).message), /explode/);
  const thrown = await fake!.setFaults({ rejectRate: -1 }).then(() => undefined, (err: unknown) => err);
  assert.match(String(thrown), /rejectRate/);
  const cleared = await admin(fake!, 'DELETE');
  assert.equal(cleared.body, initial.body);
});

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test('delays REST responses by latencyMs and stops when cleared', async ({ fake }) => {
  const latencyMs = 300;
  await fake!.setFaults({ latencyMs });
  assert.is(await metric(fake!, /fake_alpaca_fault_active\{fault="latency"\} (\d)/), 1);
  const slow: number[] = [];
  for (let i = 0; i < 5; i++) slow.push((await api(fake!.url, 'GET', '/v2/clock')).ms);
  await fake!.clearFaults();
  const fast: number[] = [];
  for (let i = 0; i < 5; i++) fast.push((await api(fake!.url, 'GET', '/v2/clock')).ms);
  console.log(`  latency fault ${latencyMs} ms: measured ${slow.map((x) => x.toFixed(0)).join(', ')} ms; cleared: ${fast.map((x) => x.toFixed(1)).join(', ')} ms`);
  // Every delayed request waits the whole delay (less a timer's millisecond), and the fault adds about that much over
  // the cleared median; cleared, none waits it and the median adds under a quarter of it, however loaded the machine.
  assert.ok(slow.every((ms) => ms >= latencyMs - 5), `slow ${slow}`);
  assert.ok(median(slow) - median(fast) < 1.5 * latencyMs, `latency fault added ${median(slow) - median(fast)} ms, expected about ${latencyMs} ms`);
  assert.ok(fast.every((ms) => ms < latencyMs - 5), `cleared ${fast}: one still waited the delay`);
  assert.ok(median(fast) < latencyMs / 4, `cleared median ${median(fast)} ms, expected far less than ${latencyMs} ms`);
  const adminLatencyMs = 2000;
  await fake!.setFaults({ latencyMs: adminLatencyMs });
  const t0 = performance.now();
  assert.is((await fetch(`${fake!.adminUrl}/health`)).status, 200);
  assert.ok(performance.now() - t0 < adminLatencyMs / 2, 'the admin listener is never delayed');
});

test('fails about errorRate of REST requests with 500/503 Alpaca bodies', async ({ fake }) => {
  await fake!.setFaults({ errorRate: 0.5 });
  const n = 400;
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await api(fake!.url, 'GET', '/v2/account');
    statuses.push(r.status);
    if (r.status >= 500) assert.type(json(r).code, 'number');
  }
  const failed = statuses.filter((s) => s >= 500).length;
  console.log(`  errorRate 0.5: ${failed}/${n} failed (${((failed / n) * 100).toFixed(1)}%)`);
  assert.ok(failed / n > 0.4 && failed / n < 0.6, `share ${failed / n}`);
  assert.ok(statuses.every((s) => s === 200 || s === 500 || s === 503));
  assert.ok(statuses.includes(500) && statuses.includes(503));
  assert.ok((await metric(fake!, /fake_alpaca_requests_total\{endpoint="GET \/v2\/account",status="503"\} (\d+)/)) > 0);
  await fake!.clearFaults();
  for (let i = 0; i < 50; i++) assert.is((await api(fake!.url, 'GET', '/v2/account')).status, 200);
});

test('rateLimit answers about its share of REST requests 429 with Alpaca\'s body and Retry-After, and the metric shows it', async ({ fake }) => {
  const set = await admin(fake!, 'PUT', { rateLimit: { share: 0.5, retryAfterS: 3 } });
  assert.is(set.status, 200);
  assert.equal(set.body.rateLimit, { share: 0.5, retryAfterS: 3 });
  assert.is(await metric(fake!, /fake_alpaca_fault_active\{fault="rate_limit"\} (\d)/), 1);
  const n = 400;
  let limited = 0;
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${fake!.url}/v2/account`, { headers: { 'APCA-API-KEY-ID': KEY.id, 'APCA-API-SECRET-KEY': KEY.secret } });
    const body = (await res.json()) as Json;
    if (res.status === 429) {
      limited++;
      assert.equal(body, { code: 42910000, message: 'rate limit exceeded' });
      assert.is(res.headers.get('retry-after'), '3');
    } else {
      assert.is(res.status, 200);
      assert.is(res.headers.get('retry-after'), null);
    }
  }
  console.log(`  rateLimit share 0.5: ${limited}/${n} answered 429`);
  assert.ok(limited / n > 0.4 && limited / n < 0.6, `share ${limited / n}`);
  assert.is(await metric(fake!, /fake_alpaca_requests_total\{endpoint="GET \/v2\/account",status="429"\} (\d+)/), limited);
  await fake!.clearFaults();
  const countBefore = ((await api(fake!.url, 'GET', '/v2/orders?status=all&limit=500')).body as Json[]).length;
  await fake!.setFaults({ rateLimit: { share: 1, retryAfterS: 0 } });
  const order = await api(fake!.url, 'POST', '/v2/orders', sell);
  assert.is(order.status, 429, 'orders are rate limited like every REST call');
  await fake!.clearFaults();
  assert.is(await metric(fake!, /fake_alpaca_fault_active\{fault="rate_limit"\} (\d)/), 0);
  assert.is(((await api(fake!.url, 'GET', '/v2/orders?status=all&limit=500')).body as Json[]).length, countBefore, 'a rate-limited order is not placed');
  for (let i = 0; i < 50; i++) assert.is((await api(fake!.url, 'GET', '/v2/account')).status, 200);
});

test('rateLimit is validated field by field, and retryAfterS defaults to 1 s', async ({ fake }) => {
  for (const [body, field] of [
    [{ rateLimit: { share: 1.5 } }, /rateLimit\.share/],
    [{ rateLimit: { share: 0.5, retryAfterS: -1 } }, /rateLimit\.retryAfterS/],
    [{ rateLimit: { share: 0.5, retryAfterS: 0.5 } }, /rateLimit\.retryAfterS/],
    [{ rateLimit: { share: 0.5, retryAfterS: 61 } }, /rateLimit\.retryAfterS/],
    [{ rateLimit: { retryAfterS: 2 } }, /rateLimit\.share/],
    [{ rateLimit: { share: 0.5, burst: 3 } }, /burst/],
    [{ rateLimit: 0.5 }, /rateLimit/],
  ] as const) {
    const bad = await admin(fake!, 'PUT', body);
    assert.is(bad.status, 400, JSON.stringify(body));
    assert.match(String((bad.body.error as Json).message), field);
  }
  assert.equal((await admin(fake!, 'GET')).body.rateLimit, { share: 0, retryAfterS: 1 }, 'a refused patch changes nothing');
  const defaulted = await admin(fake!, 'PUT', { rateLimit: { share: 0.25 } });
  assert.equal(defaulted.body.rateLimit, { share: 0.25, retryAfterS: 1 });
});

test('the Alpaca client library (@alpacahq/alpaca-trade-api) sees the 429, its body and Retry-After', async ({ fake }) => {
  const alpaca = new Alpaca({ baseUrl: fake!.url, dataBaseUrl: fake!.url, keyId: KEY.id, secretKey: KEY.secret, feed: 'iex' });
  await fake!.setFaults({ rateLimit: { share: 1, retryAfterS: 2 } });
  const seen = await alpaca.getAccount().then(
    () => undefined,
    (err: { response?: { status: number; data: Json; headers: Record<string, string> } }) => err.response,
  );
  assert.is(seen?.status, 429);
  assert.equal(seen?.data, { code: 42910000, message: 'rate limit exceeded' });
  assert.is(seen?.headers['retry-after'], '2');
  await fake!.clearFaults();
  assert.is(((await alpaca.getAccount()) as Json).status, 'ACTIVE');
});

test('errorSymbols answers 503 to orders for those symbols only, and the metric shows it', async ({ fake }) => {
  const set = await admin(fake!, 'PUT', { errorSymbols: ['spy'] });
  assert.is(set.status, 200);
  assert.equal(set.body.errorSymbols, ['SPY'], 'symbols are upper-cased like order symbols');
  assert.is(await metric(fake!, /fake_alpaca_fault_active\{fault="error_symbols"\} (\d+)/), 1);
  const countBefore = ((await api(fake!.url, 'GET', '/v2/orders?status=all&limit=500')).body as Json[]).length;
  for (let i = 0; i < 3; i++) {
    const r = await api(fake!.url, 'POST', '/v2/orders', { ...sell, side: 'buy' });
    assert.is(r.status, 503);
    assert.equal(r.body, { code: 50300000, message: 'service unavailable for orders in SPY (injected fault errorSymbols)' });
  }
  assert.is(((await api(fake!.url, 'GET', '/v2/orders?status=all&limit=500')).body as Json[]).length, countBefore, 'no order created');
  const other = await api(fake!.url, 'POST', '/v2/orders', { ...sell, symbol: 'AAPL', side: 'buy' });
  assert.is(other.status, 200, 'other symbols trade normally');
  assert.is((await api(fake!.url, 'GET', '/v2/account')).status, 200, 'non-order endpoints are untouched');
  const bad = await admin(fake!, 'PUT', { errorSymbols: [''] });
  assert.is(bad.status, 400);
  assert.match(String((bad.body.error as Json).message), /errorSymbols/);
  await fake!.clearFaults();
  assert.is(await metric(fake!, /fake_alpaca_fault_active\{fault="error_symbols"\} (\d+)/), 0);
  assert.is((await api(fake!.url, 'POST', '/v2/orders', { ...sell, side: 'buy' })).status, 200);
});

test('rejects orders with 403 insufficient buying power at about rejectRate', async ({ fake }) => {
  await fake!.setFaults({ rejectRate: 1 });
  const countBefore = ((await api(fake!.url, 'GET', '/v2/orders?status=all&limit=500')).body as Json[]).length;
  const rejectedBefore = await metric(fake!, /fake_alpaca_orders_total\{status="rejected"\} (\d+)/);
  for (let i = 0; i < 5; i++) {
    const r = await api(fake!.url, 'POST', '/v2/orders', sell);
    assert.is(r.status, 403);
    assert.equal(r.body, { code: 40310000, message: 'insufficient buying power' });
  }
  assert.is(((await api(fake!.url, 'GET', '/v2/orders?status=all&limit=500')).body as Json[]).length, countBefore, 'no order created');
  assert.is(await metric(fake!, /fake_alpaca_orders_total\{status="rejected"\} (\d+)/), rejectedBefore + 5);
  await fake!.setFaults({ rejectRate: 0.25 });
  let rejected = 0;
  const n = 200;
  for (let i = 0; i < n; i++) if ((await api(fake!.url, 'POST', '/v2/orders', sell)).status === 403) rejected++;
  console.log(`  rejectRate 0.25: ${rejected}/${n} rejected`);
  assert.ok(rejected / n > 0.15 && rejected / n < 0.35, `share ${rejected / n}`);
  // Other endpoints are untouched by rejectRate.
  assert.is((await api(fake!.url, 'GET', '/v2/account')).status, 200);
});

test('refuses connections (ECONNREFUSED), drops open ones, then serves again on the same port', async (ctx) => {
  const fake = ctx.fake!;
  const stream = await subscribed(ctx);
  assert.is(await connectOutcome(`${fake.url}/v2/clock`), 'ok');
  const r = await admin(fake, 'PUT', { refuseConnections: true });
  assert.is(r.body.refuseConnections, true);
  assert.is(await connectOutcome(`${fake.url}/v2/clock`), 'ECONNREFUSED');
  const raw = await new Promise<string>((resolve) => {
    const s = net.connect(fake.port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: Error & { code?: string }) => resolve(err.code ?? err.message));
  });
  assert.is(raw, 'ECONNREFUSED');
  assert.is((await stream.waitClosed()).code, 1006);
  assert.is(await metric(fake, /fake_alpaca_fault_active\{fault="refuse_connections"\} (\d)/), 1);
  assert.is((await fetch(`${fake.adminUrl}/health`)).status, 200, 'admin stays up');
  const t0 = performance.now();
  await admin(fake, 'DELETE');
  assert.is(await connectOutcome(`${fake.url}/v2/clock`), 'ok');
  console.log(`  refuseConnections cleared: serving again on port ${fake.port} after ${(performance.now() - t0).toFixed(1)} ms`);
  assert.is((await api(fake.url, 'GET', '/v2/clock')).status, 200);
  await subscribed(ctx);
});

test('wsDrop terminates stream clients and refuses new upgrades until cleared', async (ctx) => {
  const fake = ctx.fake!;
  const c = await subscribed(ctx);
  await fake.setFaults({ wsDrop: true });
  assert.is((await c.waitClosed()).code, 1006);
  assert.is(await upgradeOutcome(fake.wsUrl), 503);
  assert.is((await api(fake.url, 'GET', '/v2/clock')).status, 200, 'REST unaffected');
  assert.is(await metric(fake, /fake_alpaca_stream_clients (\d+)/), 0);
  await fake.clearFaults();
  assert.is(await upgradeOutcome(fake.wsUrl), 'open');
  await subscribed(ctx);
});

test('wsDropAfterAuthMs drops each connection that long after it authenticates, data flowing until then; cleared, connections stay', async (ctx) => {
  const fake = ctx.fake!;
  const DROP_MS = 500;
  await fake.setFaults({ wsDropAfterAuthMs: DROP_MS });
  assert.is(await metric(fake, /fake_alpaca_fault_active\{fault="ws_drop_after_auth"\} (\d+)/), 1);
  const c = await StreamClient.connect(fake.wsUrl);
  ctx.clients.push(c);
  await c.waitFor((m) => m.T === 'success' && m.msg === 'connected');
  c.send({ action: 'auth', key: 'test-key', secret: 'test-secret' });
  await c.waitFor((m) => m.T === 'success' && m.msg === 'authenticated');
  const authedAt = Date.now();
  c.send({ action: 'subscribe', quotes: ['AAPL'] });
  await c.waitFor((m) => m.T === 'q');
  assert.is((await c.waitClosed(DROP_MS + 2000)).code, 1006, 'dropped without a close frame');
  const upMs = Date.now() - authedAt;
  assert.ok(upMs >= DROP_MS - 20 && upMs < DROP_MS + 1000, `dropped ${upMs} ms after auth (fault ${DROP_MS} ms)`);
  // Key headers on the upgrade authenticate at once; that connection is dropped the same way.
  const viaHeaders = await StreamClient.connect(fake.wsUrl, { headers: { 'APCA-API-KEY-ID': 'test-key', 'APCA-API-SECRET-KEY': 'test-secret' } });
  ctx.clients.push(viaHeaders);
  await viaHeaders.waitFor((m) => m.T === 'success' && m.msg === 'authenticated');
  assert.is((await viaHeaders.waitClosed(DROP_MS + 2000)).code, 1006);
  // Authenticated under the fault, which is cleared before its drop is due: the connection is spared.
  const spared = await subscribed(ctx);
  const sparedFrom = Date.now();
  await fake.clearFaults();
  assert.is(await metric(fake, /fake_alpaca_fault_active\{fault="ws_drop_after_auth"\} (\d+)/), 0);
  while (Date.now() - sparedFrom < 2 * DROP_MS) await spared.waitForBatches(1);
  assert.is(spared.closed, undefined);
});

test('wsSilent keeps sockets open but sends nothing and answers no pings', async (ctx) => {
  const fake = ctx.fake!;
  const c = await subscribed(ctx);
  await fake.setFaults({ wsSilent: true });
  // A REST round trip lets batches written before the fault arrive first: they were on the wire before the request.
  await api(fake.url, 'GET', '/v2/clock');
  const before = c.messages.length;
  let pongs = 0;
  c.ws.on('pong', () => pongs++);
  c.ws.ping();
  // Each of these ticks would have sent the client a quote, and the ping reached the fake before them.
  await ticksPass(fake.url, 3);
  assert.is(c.messages.length, before, 'no messages while silent');
  assert.is(pongs, 0, 'ping unanswered');
  assert.is(c.ws.readyState, WebSocket.OPEN);
  await fake.clearFaults();
  await c.waitFor((m) => m.T === 'q', 2000, before);
  c.ws.ping();
  const deadline = Date.now() + 2000;
  while (pongs === 0 && Date.now() < deadline) await sleep(10);
  assert.is(pongs, 1);
});

test('marketOpen false closes the clock and holds market orders as accepted', async ({ fake }) => {
  await fake!.setFaults({ marketOpen: false });
  assert.is(json(await api(fake!.url, 'GET', '/v2/clock')).is_open, false);
  assert.is(await metric(fake!, /fake_alpaca_fault_active\{fault="market_closed"\} (\d)/), 1);
  const o = json(await api(fake!.url, 'POST', '/v2/orders', sell));
  assert.is(o.status, 'accepted');
  // Ticks re-check resting orders; after two of them the closed market must still have held this one.
  await ticksPass(fake!.url, 2, 'SPY');
  assert.is(json(await api(fake!.url, 'GET', `/v2/orders/${String(o.id)}`)).status, 'accepted');
  await fake!.clearFaults();
  assert.is(json(await api(fake!.url, 'GET', '/v2/clock')).is_open, true);
  assert.is(await metric(fake!, /fake_alpaca_fault_active\{fault="market_closed"\} (\d)/), 0);
});

test.run();
