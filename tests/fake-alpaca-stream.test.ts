// fake-alpaca market-data stream: Alpaca's v2 protocol round trip over real WebSockets (JSON and msgpack).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { startFakeAlpaca, type FakeAlpaca } from '../services/fake-alpaca/server.ts';
import { AUTH_HEADERS, KEY, StreamClient, type Json } from './helpers/fake-alpaca.ts';

const test = suite<{ fake?: FakeAlpaca; clients: StreamClient[] }>('fake-alpaca stream', { clients: [] });

test.before(async (ctx) => {
  ctx.fake = await startFakeAlpaca({ tickMs: 50, seed: 11, symbols: ['AAPL', 'MSFT', 'SPY'], authTimeoutMs: 300 });
});

test.after.each((ctx) => {
  for (const c of ctx.clients) c.close();
  ctx.clients = [];
});

test.after(async (ctx) => {
  await ctx.fake?.close();
});

async function open(ctx: { fake?: FakeAlpaca; clients: StreamClient[] }, opts: Parameters<typeof StreamClient.connect>[1] = {}, path = '/v2/iex'): Promise<StreamClient> {
  const c = await StreamClient.connect(ctx.fake!.wsUrl.replace('/v2/iex', path), opts);
  ctx.clients.push(c);
  return c;
}

test('greets, authenticates, echoes the subscription and streams trades and quotes for it', async (ctx) => {
  const c = await open(ctx);
  assert.equal(c.messages[0] ?? (await c.waitFor(() => true)), { T: 'success', msg: 'connected' });
  const sub = await c.authAndSubscribe({ trades: ['AAPL'], quotes: ['aapl', 'SPY'] });
  assert.equal(sub, {
    T: 'subscription', trades: ['AAPL'], quotes: ['AAPL', 'SPY'], bars: [], updatedBars: [], dailyBars: [],
    statuses: [], lulds: [], corrections: ['AAPL'], cancelErrors: ['AAPL'],
  });
  const q = await c.waitFor((m) => m.T === 'q' && m.S === 'SPY');
  for (const f of ['bx', 'ax', 'c', 'z']) assert.ok(f in q, f);
  assert.ok(Number(q.bp) < Number(q.ap));
  assert.ok(!Number.isNaN(Date.parse(String(q.t))));
  const t = await c.waitFor((m) => m.T === 't' && m.S === 'AAPL');
  for (const f of ['i', 'x', 'p', 's', 'c', 'z', 't']) assert.ok(f in t, f);
  // Every tick steps MSFT too; over a few more batches it would have shown up had the filter let it through.
  await c.waitForBatches(3);
  const data = c.messages.filter((m) => m.T === 'q' || m.T === 't');
  assert.ok(data.every((m) => (m.T === 't' ? m.S === 'AAPL' : m.S === 'AAPL' || m.S === 'SPY')), 'only subscribed symbols');
  assert.ok(c.frames.every((f) => !f.binary), 'JSON text frames');
});

test('stops sending a symbol after unsubscribe and echoes what is left', async (ctx) => {
  const c = await open(ctx);
  await c.authAndSubscribe({ quotes: ['AAPL', 'MSFT'] });
  await c.waitFor((m) => m.T === 'q' && m.S === 'MSFT');
  const from = c.messages.length;
  c.send({ action: 'unsubscribe', quotes: ['MSFT'] });
  const echo = await c.waitFor((m) => m.T === 'subscription', 2000, from);
  assert.equal(echo.quotes, ['AAPL']);
  const after = c.messages.length;
  // Batches after the echo come from ticks after the unsubscribe; each tick steps MSFT as well.
  await c.waitForBatches(3);
  const later = c.messages.slice(after);
  assert.ok(later.some((m) => m.S === 'AAPL'));
  assert.not.ok(later.some((m) => m.S === 'MSFT'));
});

test('streams every symbol for the "*" wildcard', async (ctx) => {
  const c = await open(ctx, {}, '/v2/sip');
  const sub = await c.authAndSubscribe({ quotes: ['*'] });
  assert.equal(sub.quotes, ['*']);
  for (const s of ['AAPL', 'MSFT', 'SPY']) await c.waitFor((m) => m.T === 'q' && m.S === s);
});

test('answers bad credentials with error 402 and lets the client retry', async (ctx) => {
  const c = await open(ctx, {}, '/v2/test');
  await c.waitFor((m) => m.msg === 'connected');
  // Connected after c, so its auth timer runs out after c's would have.
  const witness = await open(ctx, {}, '/v2/test');
  c.send({ action: 'auth', key: KEY.id, secret: 'wrong' });
  assert.equal(await c.waitFor((m) => m.T === 'error'), { T: 'error', code: 402, msg: 'auth failed' });
  c.send({ action: 'auth', key: KEY.id, secret: KEY.secret });
  await c.waitFor((m) => m.msg === 'authenticated');
  assert.equal(await witness.waitFor((m) => m.T === 'error', 2000), { T: 'error', code: 404, msg: 'auth timeout' });
  // A reply sent after the witness timed out: had c's timer fired, its 404 and close would have come before it.
  const from = c.messages.length;
  c.send({ action: 'auth', key: KEY.id, secret: KEY.secret });
  assert.equal(await c.waitFor((m) => m.T === 'error', 2000, from), { T: 'error', code: 403, msg: 'already authenticated' });
  assert.not.ok(c.messages.some((m) => m.code === 404), 'no auth timeout for a client that authenticated');
  assert.is(c.closed, undefined, 'authenticated in time, so no auth timeout');
});

test('closes a client whose auth keeps failing once the auth timeout passes', async (ctx) => {
  const c = await open(ctx);
  await c.waitFor((m) => m.msg === 'connected');
  c.send({ action: 'auth', key: 'nobody', secret: 'nothing' });
  await c.waitFor((m) => m.T === 'error' && m.code === 402);
  assert.equal(await c.waitFor((m) => m.T === 'error' && m.code === 404, 2000), { T: 'error', code: 404, msg: 'auth timeout' });
  assert.is((await c.waitClosed()).code, 1008);
});

test('refuses to subscribe before auth with error 401', async (ctx) => {
  const c = await open(ctx);
  await c.waitFor((m) => m.msg === 'connected');
  c.send({ action: 'subscribe', quotes: ['AAPL'] });
  assert.equal(await c.waitFor((m) => m.T === 'error'), { T: 'error', code: 401, msg: 'not authenticated' });
});

test('closes a client that does not authenticate in time with error 404 auth timeout', async (ctx) => {
  const c = await open(ctx);
  assert.equal(await c.waitFor((m) => m.T === 'error', 2000), { T: 'error', code: 404, msg: 'auth timeout' });
  await c.waitClosed();
});

test('answers a second auth with 403 and malformed messages with 400', async (ctx) => {
  const c = await open(ctx);
  await c.authAndSubscribe({});
  c.send({ action: 'auth', key: KEY.id, secret: KEY.secret });
  assert.equal(await c.waitFor((m) => m.T === 'error'), { T: 'error', code: 403, msg: 'already authenticated' });
  const from = c.messages.length;
  c.ws.send('{not json');
  assert.equal(await c.waitFor((m) => m.T === 'error', 2000, from), { T: 'error', code: 400, msg: 'invalid syntax' });
  const from2 = c.messages.length;
  c.send({ action: 'subscribe', quotes: 'AAPL' });
  assert.equal(await c.waitFor((m) => m.T === 'error', 2000, from2), { T: 'error', code: 400, msg: 'invalid syntax' });
});

test('authenticates from key headers on the upgrade request', async (ctx) => {
  const c = await open(ctx, { headers: AUTH_HEADERS });
  await c.waitFor((m) => m.msg === 'authenticated');
  assert.equal(c.messages.slice(0, 2), [{ T: 'success', msg: 'connected' }, { T: 'success', msg: 'authenticated' }]);
});

test('speaks msgpack with timestamps as msgpack time when the client asks for it', async (ctx) => {
  const c = await open(ctx, { msgpack: true });
  await c.authAndSubscribe({ quotes: ['AAPL'] });
  const q: Json = await c.waitFor((m) => m.T === 'q');
  assert.instance(q.t, Date);
  assert.ok(c.frames.length > 0 && c.frames.every((f) => f.binary), 'binary frames');
});

test('refuses upgrades on other paths with 404', async (ctx) => {
  const status = await new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(ctx.fake!.wsUrl.replace('/v2/iex', '/v2/nope'));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => reject(new Error('upgrade on an unknown path succeeded')));
    ws.once('error', () => undefined);
  });
  assert.is(status, 404);
});

test('counts open stream clients in fake_alpaca_stream_clients', async (ctx) => {
  const gauge = async (): Promise<number> =>
    Number(/fake_alpaca_stream_clients (\d+)/.exec(await (await fetch(`${ctx.fake!.adminUrl}/metrics`)).text())?.[1]);
  // Earlier tests' sockets close asynchronously on the server side; poll until the gauge settles.
  const settlesAt = async (want: number): Promise<number> => {
    const deadline = Date.now() + 5000;
    let n = await gauge();
    while (n !== want && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      n = await gauge();
    }
    return n;
  };
  assert.is(await settlesAt(0), 0);
  await open(ctx);
  await open(ctx);
  assert.is(await settlesAt(2), 2);
  for (const c of ctx.clients) c.close();
  ctx.clients = [];
  assert.is(await settlesAt(0), 0);
});

test.run();
