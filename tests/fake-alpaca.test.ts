// fake-alpaca REST: every endpoint happy path and bad input, auth, idempotency, fills, determinism, metrics, config, main.
import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../services/kit/config.ts';
import { loadFakeAlpacaConfig } from '../services/fake-alpaca/config.ts';
import { startFakeAlpaca, type FakeAlpaca } from '../services/fake-alpaca/server.ts';
import { PriceSimulator } from '../services/fake-alpaca/simulator.ts';
import { api, json, ticksPass, type Json } from './helpers/fake-alpaca.ts';

interface Ctx {
  /** Ticks once an hour: prices stand still, so fills can be checked against the quote exactly. */
  still?: FakeAlpaca;
  /** Ticks every 50 ms: resting orders get re-checked quickly. */
  live?: FakeAlpaca;
}

const test = suite<Ctx>('fake-alpaca REST', {});

test.before(async (ctx) => {
  ctx.still = await startFakeAlpaca({ tickMs: 3_600_000, seed: 7, initialCash: 100_000 });
  ctx.live = await startFakeAlpaca({ tickMs: 50, seed: 7 });
});

test.after(async (ctx) => {
  await Promise.all([ctx.still?.close(), ctx.live?.close()]);
});

const order = (over: Json = {}): Json => ({ symbol: 'AAPL', qty: 10, side: 'buy', type: 'market', time_in_force: 'day', ...over });

async function quote(base: string, symbol: string): Promise<{ ap: number; bp: number }> {
  const r = await api(base, 'GET', `/v2/stocks/${symbol}/quotes/latest`);
  assert.is(r.status, 200);
  return json(r).quote as { ap: number; bp: number };
}

test('returns an ACTIVE account with Alpaca field names and numbers as strings', async ({ still }) => {
  const r = await api(still!.url, 'GET', '/v2/account');
  assert.is(r.status, 200);
  const a = json(r);
  assert.is(a.status, 'ACTIVE');
  assert.is(a.currency, 'USD');
  assert.match(String(a.id), /^[0-9a-f-]{36}$/);
  assert.type(a.account_number, 'string');
  for (const field of ['cash', 'buying_power', 'equity', 'portfolio_value', 'long_market_value']) assert.type(a[field], 'string', field);
  assert.is(Number(a.cash), 100_000);
});

test('reports the clock open by default with next open and close times', async ({ still }) => {
  const c = json(await api(still!.url, 'GET', '/v2/clock'));
  assert.is(c.is_open, true);
  assert.ok(Date.parse(String(c.next_close)) > Date.parse(String(c.timestamp)));
  assert.ok(Date.parse(String(c.next_open)) > Date.parse(String(c.timestamp)));
});

test('rejects missing or wrong key headers with 401 and an Alpaca error body', async ({ still }) => {
  const none = await api(still!.url, 'GET', '/v2/account', undefined, {});
  assert.is(none.status, 401);
  assert.equal(none.body, { code: 40110000, message: 'request is not authorized' });
  const wrong = await api(still!.url, 'GET', '/v2/orders', undefined, { 'APCA-API-KEY-ID': 'test-key', 'APCA-API-SECRET-KEY': 'nope' });
  assert.is(wrong.status, 401);
});

test('fills a market buy at the ask and moves cash into a long position', async ({ still }) => {
  const before = json(await api(still!.url, 'GET', '/v2/account'));
  const q = await quote(still!.url, 'MSFT');
  const r = await api(still!.url, 'POST', '/v2/orders', order({ symbol: 'MSFT', qty: '3', client_order_id: 'buy-msft-1' }));
  assert.is(r.status, 200);
  const o = json(r);
  assert.is(o.status, 'filled');
  assert.is(o.filled_qty, '3');
  assert.is(o.qty, '3');
  assert.is(Number(o.filled_avg_price), q.ap);
  assert.is(o.client_order_id, 'buy-msft-1');
  assert.match(String(o.id), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  for (const f of ['created_at', 'submitted_at', 'filled_at']) assert.ok(!Number.isNaN(Date.parse(String(o[f]))), f);
  const after = json(await api(still!.url, 'GET', '/v2/account'));
  assert.is(Math.round((Number(before.cash) - Number(after.cash)) * 100), Math.round(3 * q.ap * 100));
  const p = json(await api(still!.url, 'GET', '/v2/positions/MSFT'));
  assert.is(p.qty, '3');
  assert.is(p.side, 'long');
  assert.is(Number(p.avg_entry_price), q.ap);
  assert.is(Number(p.cost_basis), Math.round(3 * q.ap * 100) / 100);
  for (const f of ['market_value', 'unrealized_pl', 'current_price']) assert.type(p[f], 'string', f);
});

test('fills a market sell at the bid and removes a position sold flat', async ({ still }) => {
  await api(still!.url, 'POST', '/v2/orders', order({ symbol: 'NVDA', qty: 5 }));
  const q = await quote(still!.url, 'NVDA');
  const sell = json(await api(still!.url, 'POST', '/v2/orders', order({ symbol: 'NVDA', qty: 5, side: 'sell' })));
  assert.is(sell.status, 'filled');
  assert.is(Number(sell.filled_avg_price), q.bp);
  const gone = await api(still!.url, 'GET', '/v2/positions/NVDA');
  assert.is(gone.status, 404);
  assert.equal(gone.body, { code: 40410000, message: 'position does not exist' });
  const all = (await api(still!.url, 'GET', '/v2/positions')).body as Json[];
  assert.not.ok(all.some((p) => p.symbol === 'NVDA'));
  assert.ok(all.some((p) => p.symbol === 'MSFT'));
});

test('keeps a non-marketable limit order new and open, and cancels it', async ({ still }) => {
  const q = await quote(still!.url, 'AAPL');
  const r = await api(still!.url, 'POST', '/v2/orders', order({ type: 'limit', limit_price: Math.floor(q.ap / 2) }));
  assert.is(r.status, 200);
  const o = json(r);
  assert.is(o.status, 'new');
  assert.is(o.filled_qty, '0');
  assert.is(o.filled_avg_price, null);
  assert.is(Number(o.limit_price), Math.floor(q.ap / 2));
  const open = (await api(still!.url, 'GET', '/v2/orders?status=open')).body as Json[];
  assert.ok(open.some((x) => x.id === o.id));
  const got = json(await api(still!.url, 'GET', `/v2/orders/${String(o.id)}`));
  assert.is(got.client_order_id, o.client_order_id);
  const del = await api(still!.url, 'DELETE', `/v2/orders/${String(o.id)}`);
  assert.is(del.status, 204);
  assert.is(json(await api(still!.url, 'GET', `/v2/orders/${String(o.id)}`)).status, 'canceled');
  const again = await api(still!.url, 'DELETE', `/v2/orders/${String(o.id)}`);
  assert.is(again.status, 422);
  assert.equal(again.body, { code: 42210000, message: 'order is already in "canceled" state' });
});

test('fills a marketable limit buy at the ask, not at its limit', async ({ still }) => {
  const q = await quote(still!.url, 'AMZN');
  const o = json(await api(still!.url, 'POST', '/v2/orders', order({ symbol: 'AMZN', qty: 1, type: 'limit', limit_price: q.ap + 5 })));
  assert.is(o.status, 'filled');
  assert.is(Number(o.filled_avg_price), q.ap);
});

test('re-checks resting orders on ticks: orders placed while closed fill once the market opens', async ({ live }) => {
  await live!.setFaults({ marketOpen: false });
  const q = await quote(live!.url, 'GOOGL');
  const market = json(await api(live!.url, 'POST', '/v2/orders', order({ symbol: 'GOOGL', qty: 1 })));
  // A 10% cushion: the random walk cannot move that far in a few ticks, so this limit stays marketable.
  const limit = json(await api(live!.url, 'POST', '/v2/orders', order({ symbol: 'GOOGL', qty: 1, type: 'limit', limit_price: Math.round(q.ap * 110) / 100 })));
  assert.is(market.status, 'accepted');
  assert.is(limit.status, 'accepted');
  // Ticks re-check resting orders; after two of them the closed market must still have held the market order.
  await ticksPass(live!.url, 2, 'GOOGL');
  assert.is(json(await api(live!.url, 'GET', `/v2/orders/${String(market.id)}`)).status, 'accepted');
  await live!.setFaults({ marketOpen: true });
  const deadline = Date.now() + 3000;
  let statuses: unknown[] = [];
  while (Date.now() < deadline) {
    statuses = await Promise.all([market, limit].map(async (o) => json(await api(live!.url, 'GET', `/v2/orders/${String(o.id)}`)).status));
    if (statuses.every((s) => s === 'filled')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(statuses, ['filled', 'filled']);
  const filledLimit = json(await api(live!.url, 'GET', `/v2/orders/${String(limit.id)}`));
  assert.ok(Number(filledLimit.filled_avg_price) <= Number(filledLimit.limit_price));
});

test('cancels an unfilled immediate-or-cancel limit order at once', async ({ still }) => {
  const q = await quote(still!.url, 'META');
  const o = json(await api(still!.url, 'POST', '/v2/orders', order({ symbol: 'META', type: 'limit', time_in_force: 'ioc', limit_price: Math.floor(q.ap / 2) })));
  assert.is(o.status, 'canceled');
});

test('returns 422 for a duplicate client_order_id and keeps the first order', async ({ still }) => {
  const first = await api(still!.url, 'POST', '/v2/orders', order({ symbol: 'V', qty: 1, client_order_id: 'dup-1' }));
  assert.is(first.status, 200);
  const dup = await api(still!.url, 'POST', '/v2/orders', order({ symbol: 'V', qty: 2, client_order_id: 'dup-1' }));
  assert.is(dup.status, 422);
  assert.equal(dup.body, { code: 40010001, message: 'client_order_id must be unique' });
  const byClient = await api(still!.url, 'GET', '/v2/orders:by_client_order_id?client_order_id=dup-1');
  assert.is(byClient.status, 200);
  assert.is(json(byClient).id, json(first).id);
  assert.is(json(byClient).qty, '1');
  assert.is(json(await api(still!.url, 'GET', '/v2/positions/V')).qty, '1');
});

test('rejects bad order input with Alpaca 422/400 bodies that name the problem', async ({ still }) => {
  const cases: [Json | string, number, RegExp][] = [
    [order({ qty: 0 }), 422, /qty: must be > 0/],
    [order({ qty: 'ten' }), 422, /qty/],
    [order({ side: 'hold' }), 422, /side/],
    [order({ time_in_force: 'forever' }), 422, /time_in_force/],
    [order({ type: 'limit' }), 422, /limit_price is required/],
    [order({ type: 'stop' }), 422, /order type "stop" is not supported/],
    [order({ symbol: 'ZZZZ' }), 422, /asset "ZZZZ" not found/],
    [{ qty: 1, side: 'buy', type: 'market', time_in_force: 'day' }, 422, /symbol/],
    ['{"symbol":', 400, /request body format is invalid/],
  ];
  for (const [body, status, message] of cases) {
    const r = await api(still!.url, 'POST', '/v2/orders', body);
    assert.is(r.status, status, JSON.stringify(body));
    assert.is(json(r).code, status === 400 ? 40010000 : 40010001);
    assert.match(String(json(r).message), message);
  }
});

test('rejects a buy beyond buying power with 403 insufficient buying power', async ({ still }) => {
  const r = await api(still!.url, 'POST', '/v2/orders', order({ symbol: 'SPY', qty: 100_000 }));
  assert.is(r.status, 403);
  assert.equal(r.body, { code: 40310000, message: 'insufficient buying power' });
});

test('lists orders by status with a limit, newest first, and validates the query', async ({ still }) => {
  const all = (await api(still!.url, 'GET', '/v2/orders?status=all&limit=500')).body as Json[];
  assert.ok(all.length >= 6);
  const created = all.map((o) => Date.parse(String(o.created_at)));
  assert.equal(created, [...created].sort((a, b) => b - a));
  const closed = (await api(still!.url, 'GET', '/v2/orders?status=closed')).body as Json[];
  assert.ok(closed.every((o) => o.status === 'filled' || o.status === 'canceled'));
  const two = (await api(still!.url, 'GET', '/v2/orders?status=all&limit=2')).body as Json[];
  assert.is(two.length, 2);
  const msft = (await api(still!.url, 'GET', '/v2/orders?status=all&symbols=MSFT')).body as Json[];
  assert.ok(msft.length >= 1 && msft.every((o) => o.symbol === 'MSFT'));
  const bad = await api(still!.url, 'GET', '/v2/orders?status=sideways');
  assert.is(bad.status, 422);
  assert.match(String(json(bad).message), /status/);
});

test('returns 404 for unknown orders, client order ids, symbols and endpoints', async ({ still }) => {
  const cases = [
    ['GET', '/v2/orders/00000000-0000-4000-8000-000000000000', 'order not found'],
    ['DELETE', '/v2/orders/00000000-0000-4000-8000-000000000000', 'order not found'],
    ['GET', '/v2/orders:by_client_order_id?client_order_id=never', 'order not found'],
    ['GET', '/v2/stocks/ZZZZ/quotes/latest', 'symbol not found: ZZZZ'],
    ['GET', '/v2/stocks/ZZZZ/trades/latest', 'symbol not found: ZZZZ'],
    ['GET', '/v2/nothing', 'endpoint not found: GET /v2/nothing'],
  ] as const;
  for (const [method, path, message] of cases) {
    const r = await api(still!.url, method, path);
    assert.is(r.status, 404, path);
    assert.equal(r.body, { code: 40410000, message });
  }
});

test('answers a wrong method on a known route with 405 in Alpaca form', async ({ still }) => {
  const r = await api(still!.url, 'PUT', '/v2/account', {});
  assert.is(r.status, 405);
  assert.equal(r.body, { code: 40510000, message: 'method not allowed: PUT /v2/account' });
});

test('values positions with the listing exchange and the change since the session open', async ({ live }) => {
  await api(live!.url, 'POST', '/v2/orders', order({ symbol: 'SPY', qty: 1 }));
  // Let the price move off the fill, so the unrealized P&L checked below is not trivially zero.
  await ticksPass(live!.url, 2, 'SPY');
  const p = json(await api(live!.url, 'GET', '/v2/positions/SPY'));
  assert.is(p.exchange, 'ARCA');
  const current = Number(p.current_price);
  const lastday = Number(p.lastday_price);
  assert.ok(lastday > 0);
  assert.ok(Math.abs(Number(p.change_today) - (current - lastday) / lastday) < 1e-4, `${p.change_today} vs ${current}/${lastday}`);
  assert.ok(Math.abs(Number(p.market_value) - current) < 0.011);
  assert.ok(Math.abs(Number(p.unrealized_pl) - (current - Number(p.avg_entry_price))) < 0.011);
});

test('serves latest quotes and trades with bid below ask', async ({ still }) => {
  const q = json(await api(still!.url, 'GET', '/v2/stocks/tsla/quotes/latest'));
  assert.is(q.symbol, 'TSLA');
  const quoteBody = q.quote as Json;
  assert.ok(Number(quoteBody.bp) < Number(quoteBody.ap));
  assert.ok(Number(quoteBody.bs) > 0 && Number(quoteBody.as) > 0);
  const t = json(await api(still!.url, 'GET', '/v2/stocks/TSLA/trades/latest'));
  const trade = t.trade as Json;
  assert.ok(trade.p === quoteBody.bp || trade.p === quoteBody.ap);
  assert.type(trade.i, 'number');
});

test('gives the same prices for the same seed and different prices for another', async () => {
  const symbols = ['AAPL', 'SPY', 'XYZ'];
  const path = (seed: number): number[] => {
    const sim = new PriceSimulator(symbols, seed);
    const out: number[] = [];
    for (let i = 0; i < 200; i++) out.push(...sim.step().quotes.map((q) => q.bidPrice), ...sim.step().trades.map((t) => t.size));
    return out;
  };
  assert.equal(path(42), path(42));
  assert.not.equal(path(42), path(43));
  // Over HTTP too: two fakes with one seed quote the same prices (timestamps aside).
  const a = await startFakeAlpaca({ seed: 99, tickMs: 3_600_000, symbols });
  const b = await startFakeAlpaca({ seed: 99, tickMs: 3_600_000, symbols });
  try {
    for (const symbol of symbols) {
      const [qa, qb] = await Promise.all([a, b].map(async (f) => json(await api(f.url, 'GET', `/v2/stocks/${symbol}/quotes/latest`)).quote as Json));
      assert.equal({ ...qa, t: 0 }, { ...qb, t: 0 }, symbol);
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('counts requests by route template and status and passes promtool check metrics', async ({ still }) => {
  await api(still!.url, 'GET', '/v2/clock');
  await api(still!.url, 'GET', '/v2/orders/not-an-order');
  const res = await fetch(`${still!.adminUrl}/metrics`);
  assert.is(res.status, 200);
  const text = await res.text();
  assert.match(text, /fake_alpaca_requests_total\{endpoint="GET \/v2\/clock",status="200"\} [1-9]/);
  assert.match(text, /fake_alpaca_requests_total\{endpoint="GET \/v2\/orders\/:id",status="404"\} [1-9]/);
  assert.match(text, /fake_alpaca_requests_total\{endpoint="GET \/v2\/account",status="401"\} [1-9]/);
  assert.match(text, /fake_alpaca_orders_total\{status="filled"\} [1-9]/);
  assert.match(text, /fake_alpaca_orders_total\{status="rejected"\} [1-9]/);
  assert.match(text, /fake_alpaca_stream_clients 0/);
  assert.match(text, /fake_alpaca_fault_active\{fault="refuse_connections"\} 0/);
  const check = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  check.stdout.on('data', (c: Buffer) => (out += c.toString()));
  check.stderr.on('data', (c: Buffer) => (out += c.toString()));
  check.stdin.end(text);
  const code = await new Promise<number | null>((resolve) => check.on('close', resolve));
  assert.is(code, 0, out);
});

test('loads options from the environment and names a bad variable', () => {
  const o = loadFakeAlpacaConfig({ PORT: '0', ADMIN_PORT: '0', SYMBOLS: 'aapl, spy', SEED: '5', TICK_MS: '100', ALPACA_KEY_ID: 'k', ALPACA_SECRET_KEY: 's' });
  assert.equal(o.symbols, ['AAPL', 'SPY']);
  assert.is(o.seed, 5);
  assert.is(o.tickMs, 100);
  assert.is(o.keyId, 'k');
  assert.is(loadFakeAlpacaConfig({}).keyId, 'test-key');
  assert.throws(() => loadFakeAlpacaConfig({ TICK_MS: 'fast' }), (err: unknown) => err instanceof ConfigError && /TICK_MS/.test((err as Error).message));
});

test('main.ts prints one listening line with url and adminUrl and stops on SIGTERM', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/fake-alpaca/main.ts'], {
    env: { ...process.env, LOG_LEVEL: 'silent', SEED: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error(`no listening line: ${buf}`)), 15_000);
      child.stdout.on('data', (c: Buffer) => {
        buf += c.toString();
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          resolve(buf.slice(0, nl));
        }
      });
    });
    const started = JSON.parse(line) as Record<string, string>;
    assert.is(started.msg, 'listening');
    assert.is(started.service, 'fake-alpaca');
    assert.is((await api(started.url!, 'GET', '/v2/clock')).status, 200);
    assert.is((await fetch(`${started.adminUrl!}/health`)).status, 200);
    assert.match(started.wsUrl!, /^ws:\/\/127\.0\.0\.1:\d+\/v2\/iex$/);
  } finally {
    child.kill('SIGTERM');
  }
  const code = child.exitCode ?? (await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c))));
  assert.is(code, 0);
});

test.run();
