// fake-alpaca compatibility with Alpaca's own JavaScript client (@alpacahq/alpaca-trade-api v3): REST and the v2 data stream.
import Alpaca from '@alpacahq/alpaca-trade-api/dist/alpaca-trade-api.js';
import type { AlpacaQuote, AlpacaTrade } from '@alpacahq/alpaca-trade-api/dist/resources/datav2/entityv2.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeAlpaca, type FakeAlpaca } from '../services/fake-alpaca/server.ts';
import { KEY, type Json } from './helpers/fake-alpaca.ts';

interface Ctx {
  fake?: FakeAlpaca;
  alpaca?: Alpaca;
  streams: Alpaca['data_stream_v2'][];
}

const test = suite<Ctx>('fake-alpaca with @alpacahq/alpaca-trade-api', { streams: [] });

function client(fake: FakeAlpaca, secretKey = KEY.secret): Alpaca {
  // baseUrl is the documented override; the client appends the API version ("v2") itself.
  return new Alpaca({ baseUrl: fake.url, dataBaseUrl: fake.url, dataStreamUrl: fake.url, keyId: KEY.id, secretKey, feed: 'iex' });
}

/**
 * The v2 stock stream client always builds a wss:// URL from dataStreamUrl; its session URL is the one it
 * connects to, so pointing that at the fake's plain ws:// URL is how to use it without TLS.
 */
function streamOf(ctx: Ctx, alpaca: Alpaca): Alpaca['data_stream_v2'] {
  const stream = alpaca.data_stream_v2;
  assert.is(stream.session.url, `wss://${ctx.fake!.url.slice('http://'.length)}/v2/iex`);
  stream.session.url = ctx.fake!.wsUrl;
  ctx.streams.push(stream);
  return stream;
}

const allOrders = { status: 'all', until: undefined, after: undefined, limit: undefined, direction: undefined, nested: undefined, symbols: undefined };

test.before(async (ctx) => {
  ctx.fake = await startFakeAlpaca({ tickMs: 50, seed: 21, symbols: ['AAPL', 'MSFT'] });
  ctx.alpaca = client(ctx.fake);
});

test.after(async (ctx) => {
  for (const s of ctx.streams) s.disconnect();
  await ctx.fake?.close();
});

test('getAccount and getClock parse the fake responses', async ({ alpaca }) => {
  const account = (await alpaca!.getAccount()) as Json;
  assert.is(account.status, 'ACTIVE');
  assert.is(Number(account.cash), 100_000);
  const clock = (await alpaca!.getClock()) as Json;
  assert.is(clock.is_open, true);
});

test('createOrder, getOrders, getPosition(s) and cancelOrder round-trip', async ({ alpaca }) => {
  const filled = (await alpaca!.createOrder({ symbol: 'AAPL', qty: 2, side: 'buy', type: 'market', time_in_force: 'day', client_order_id: 'lib-1' })) as Json;
  assert.is(filled.status, 'filled');
  assert.is(filled.client_order_id, 'lib-1');
  const byClient = (await alpaca!.getOrderByClientId('lib-1')) as Json;
  assert.is(byClient.id, filled.id);
  const position = (await alpaca!.getPosition('AAPL')) as Json;
  assert.is(position.qty, '2');
  assert.is(Number(position.avg_entry_price), Number(filled.filled_avg_price));
  const positions = (await alpaca!.getPositions()) as Json[];
  assert.equal(positions.map((p) => p.symbol), ['AAPL']);

  const resting = (await alpaca!.createOrder({ symbol: 'MSFT', qty: 1, side: 'buy', type: 'limit', limit_price: 1, time_in_force: 'gtc' })) as Json;
  assert.is(resting.status, 'new');
  const open = (await alpaca!.getOrders({ ...allOrders, status: 'open' })) as Json[];
  assert.equal(open.map((o) => o.id), [resting.id]);
  await alpaca!.cancelOrder(resting.id);
  const all = (await alpaca!.getOrders(allOrders)) as Json[];
  assert.equal(
    all.map((o) => [o.id, o.status]),
    [
      [resting.id, 'canceled'],
      [filled.id, 'filled'],
    ],
  );
});

test('surfaces Alpaca errors through axios: duplicate client_order_id is 422 and a bad key is 401', async (ctx) => {
  const dup = await ctx.alpaca!.createOrder({ symbol: 'AAPL', qty: 1, side: 'buy', type: 'market', time_in_force: 'day', client_order_id: 'lib-1' }).then(
    () => undefined,
    (err: { response?: { status: number; data: Json } }) => err.response,
  );
  assert.is(dup?.status, 422);
  assert.is(dup?.data.message, 'client_order_id must be unique');
  const denied = await client(ctx.fake!, 'wrong').getAccount().then(
    () => undefined,
    (err: { response?: { status: number; data: Json } }) => err.response,
  );
  assert.is(denied?.status, 401);
  assert.is(denied?.data.code, 40110000);
});

test('the v2 data stream client authenticates over msgpack and receives quotes and trades for its symbol', async (ctx) => {
  const stream = streamOf(ctx, ctx.alpaca!);
  const quotes: AlpacaQuote[] = [];
  const trades: AlpacaTrade[] = [];
  const errors: string[] = [];
  stream.onConnect(() => {
    stream.subscribeForQuotes(['MSFT']);
    stream.subscribeForTrades(['MSFT']);
  });
  stream.onStockQuote((q) => quotes.push(q));
  stream.onStockTrade((t) => trades.push(t));
  stream.onError((err) => errors.push(String(err)));
  stream.connect();
  const deadline = Date.now() + 5000;
  while ((quotes.length < 3 || trades.length < 3) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(errors, []);
  assert.ok(quotes.length >= 3 && trades.length >= 3, `${quotes.length} quotes, ${trades.length} trades`);
  const q = quotes[0]!;
  assert.is(q.Symbol, 'MSFT');
  assert.ok(Number(q.BidPrice) < Number(q.AskPrice));
  assert.instance(q.Timestamp, Date);
  assert.is(trades[0]!.Symbol, 'MSFT');
  assert.ok(quotes.every((x) => x.Symbol === 'MSFT'));
  const subs = stream.getSubscriptions() as unknown as { quotes: string[]; trades: string[] };
  assert.equal(subs.quotes, ['MSFT']);
  assert.equal(subs.trades, ['MSFT']);
  stream.disconnect();
});

test('the v2 data stream client reports "auth failed" for a wrong secret', async (ctx) => {
  const stream = streamOf(ctx, client(ctx.fake!, 'wrong'));
  const errors: string[] = [];
  stream.onError((err) => errors.push(String(err)));
  stream.connect();
  const deadline = Date.now() + 3000;
  while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  stream.disconnect();
  assert.equal(errors, ['auth failed']);
});

test.run();
