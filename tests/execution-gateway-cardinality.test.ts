// execution-gateway label cardinality: 10,000 orders with random symbols must not add a single metric series.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import type { HttpError } from '../services/kit/errors.ts';
import { isProcessMetric } from '../services/kit/process-metrics.ts';
import type { RunningGateway } from '../services/execution-gateway/server.ts';
import { eventually, metricsText, newId, sample, SYMBOLS, startGatewayFixture, type GatewayFixture } from './execution-gateway-fixture.ts';

interface Ctx {
  fx?: GatewayFixture;
  gw?: RunningGateway;
}

const test = suite<Ctx>('execution-gateway cardinality', {});
const ORDERS = 10_000;
const CONCURRENCY = 16;

test.before(async (ctx) => {
  ctx.fx = await startGatewayFixture();
  // Dry-run: random tickers are unknown to any broker; this suite is about labels, not submission.
  ctx.gw = await ctx.fx.start({ DRY_RUN: 'true', MAX_POSITION_QTY: '500', RESUBMIT_INTERVAL_MS: '1000', PROBE_INTERVAL_MS: '1000' });
  const redis = new Redis(ctx.fx.deps.redis.url);
  for (const s of SYMBOLS.split(',')) await redis.hset(`quote:${s}`, 'price', '100');
  redis.disconnect();
});

test.after(async (ctx) => {
  await ctx.fx?.close();
});

/** Every series but the process and runtime ones, whose handle types and GC kinds come and go with Node, not with orders. */
const series = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !isProcessMetric(l, 'execution_gateway'))
    .map((l) => l.slice(0, l.lastIndexOf(' ')));

function randomTicker(): string {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const n = 1 + Math.floor(Math.random() * 5);
  return Array.from({ length: n }, () => letters[Math.floor(Math.random() * letters.length)]).join('');
}

test('10,000 orders with random symbols leave the series set unchanged', async ({ gw }) => {
  const before = series(await metricsText(gw!.url));
  const universe = SYMBOLS.split(',');
  const symbolsUsed = new Set<string>();
  const statuses = new Map<number, number>();
  let next = 0;
  const t0 = Date.now();
  const worker = async (): Promise<void> => {
    while (next < ORDERS) {
      const i = next++;
      // One in five from the universe (market, filled at the quote, some over the position limit); the rest random limit orders.
      const inUniverse = i % 5 === 0;
      const symbol = inUniverse ? universe[i % universe.length]! : randomTicker();
      symbolsUsed.add(symbol);
      const body = inUniverse
        ? { client_order_id: newId('c'), symbol, side: 'buy', qty: 1 + (i % 7), type: 'market' }
        : { client_order_id: newId('c'), symbol, side: i % 2 ? 'buy' : 'sell', qty: 1 + (i % 9), type: 'limit', limit_price: 10 + (i % 50) };
      // In-process: the same placement path as POST /orders minus HTTP, which is not what this suite measures.
      const status = await gw!.orders.place(body).then(
        (r) => r.status,
        (err: HttpError) => err.status,
      );
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const ms = Date.now() - t0;
  console.log(`  measured: ${ORDERS} orders in ${ms} ms (${Math.round((ORDERS * 1000) / ms)}/s at concurrency ${CONCURRENCY}); ${symbolsUsed.size} distinct symbols; HTTP statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  assert.ok(symbolsUsed.size > 1000, `random symbols used: ${symbolsUsed.size}`);
  assert.ok((statuses.get(201) ?? 0) > ORDERS / 2, 'most orders placed');
  assert.equal([...statuses.keys()].sort(), [201, 422], 'only placed or refused by the position limit');
  assert.ok((statuses.get(422) ?? 0) > 0, 'position limit reached for universe symbols');

  // Wait for a background round that started after the last order, so the position and P&L gauges it sets from all
  // those positions are in the scrape: the round in flight now may have listed positions before the last fills, the
  // one after it cannot have.
  const rounds = async (): Promise<number> => sample(await metricsText(gw!.url), 'execution_gateway_background_rounds_total')!;
  const roundsAfterOrders = await rounds();
  const marked = await eventually('a full background round after the orders', async () => (await rounds()) >= roundsAfterOrders + 2, 20_000);
  console.log(`  measured: a full background round after the orders finished ${marked.ms} ms later`);
  const text = await metricsText(gw!.url);
  const after = series(text);
  console.log(`  measured: ${before.length} series before, ${after.length} after`);
  assert.equal(after, before);
  const counted = text
    .split('\n')
    .filter((l) => l.startsWith('execution_gateway_orders_total{'))
    .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  assert.is(counted, ORDERS, 'every order counted once under a bounded label');
});

test.run();
