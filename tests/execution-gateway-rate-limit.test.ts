// execution-gateway against a rate-limiting broker (fake-alpaca rateLimit, HTTP 429): retried after Retry-After, counted
// as status "429", never a rejection; an order limited on every attempt stays pending_submit until the resubmit loop places it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_RETRY_AFTER_MS, parseRetryAfter, worstCaseSubmitMs } from '../services/execution-gateway/broker.ts';
import type { RunningGateway } from '../services/execution-gateway/server.ts';
import type { Order } from '../services/execution-gateway/store.ts';
import { brokerOrders, call, eventually, metricsText, newId, sample, startGatewayFixture, type GatewayFixture, type Reply } from './execution-gateway-fixture.ts';

interface Ctx {
  fx?: GatewayFixture;
  gw?: RunningGateway;
}

const test = suite<Ctx>('execution-gateway broker rate limit', {});

/** The fixture's ALPACA_TIMEOUT_MS and ALPACA_RETRIES. */
const TIMEOUT_MS = 300;
const RETRIES = 2;

test.before(async (ctx) => {
  ctx.fx = await startGatewayFixture();
  ctx.gw = await ctx.fx.start();
});

test.after.each(async (ctx) => {
  await ctx.fx?.alpaca.clearFaults();
});

test.after(async (ctx) => {
  await ctx.fx?.close();
});

const market = (symbol: string, id = newId('rl')) => ({ client_order_id: id, symbol, side: 'buy', qty: 1, type: 'market' });

async function alpacaRequests(url: string, endpoint: string, status: string): Promise<number> {
  return sample(await metricsText(url), 'execution_gateway_alpaca_api_requests_total', { endpoint, status }) ?? 0;
}

/** Sum of execution_gateway_orders_total over every series with this status. */
async function ordersWithStatus(url: string, status: string): Promise<number> {
  let total = 0;
  for (const line of (await metricsText(url)).split('\n')) {
    if (line.startsWith('execution_gateway_orders_total{') && line.includes(`status="${status}"`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Places an order while the broker rate limits every call, and lifts the limit as soon as the gateway has seen one 429. */
async function placeThroughOne429(fx: GatewayFixture, gw: RunningGateway, retryAfterS: number): Promise<{ res: Reply<Order>; ms: number; id: string }> {
  const before = await alpacaRequests(gw.url, 'orders', '429');
  await fx.alpaca.setFaults({ rateLimit: { share: 1, retryAfterS } });
  const body = market('AAPL');
  const t0 = performance.now();
  const placing = call<Order>(gw.url, 'POST', '/orders', body).then((res) => ({ res, ms: performance.now() - t0 }));
  await eventually('the gateway sees a 429 on its order post', async () => (await alpacaRequests(gw.url, 'orders', '429')) > before, 2000);
  await fx.alpaca.clearFaults();
  return { ...(await placing), id: body.client_order_id };
}

test('parses Retry-After as delay-seconds or an HTTP date, and ignores anything else', () => {
  const now = Date.parse('2026-03-02T10:00:00Z');
  assert.is(parseRetryAfter('2', now), 2000);
  assert.is(parseRetryAfter(' 0 ', now), 0);
  assert.is(parseRetryAfter('Mon, 02 Mar 2026 10:00:03 GMT', now), 3000);
  assert.is(parseRetryAfter('Mon, 02 Mar 2026 09:59:00 GMT', now), 0, 'a date in the past means retry now');
  assert.is(parseRetryAfter(null, now), undefined);
  assert.is(parseRetryAfter('-1', now), undefined);
  assert.is(parseRetryAfter('soon', now), undefined);
});

test('the submit lease bound covers a capped Retry-After wait before every retry', () => {
  for (const retries of [0, 1, 2, 5, 10]) {
    const attempts = (retries + 1) * 3 * TIMEOUT_MS;
    assert.ok(worstCaseSubmitMs(TIMEOUT_MS, retries) >= attempts + retries * MAX_RETRY_AFTER_MS, `retries ${retries}`);
  }
});

test('a 429 then success: the order is placed (201) and the 429 is counted as status "429", not "4xx"', async ({ fx, gw }) => {
  const before4xx = await alpacaRequests(gw!.url, 'orders', '4xx');
  const before429 = await alpacaRequests(gw!.url, 'orders', '429');
  const rejectedBefore = await ordersWithStatus(gw!.url, 'rejected');
  const { res, id } = await placeThroughOne429(fx!, gw!, 1);
  assert.is(res.status, 201);
  assert.is(res.body.status, 'filled');
  assert.ok((await alpacaRequests(gw!.url, 'orders', '429')) - before429 >= 1);
  assert.is(await alpacaRequests(gw!.url, 'orders', '4xx'), before4xx, 'a 429 is not a 4xx rejection');
  assert.is(await ordersWithStatus(gw!.url, 'rejected'), rejectedBefore);
  assert.is((await brokerOrders(fx!.alpaca)).filter((o) => o.client_order_id === id).length, 1, 'placed once');
});

test('Retry-After is honoured: the retry after a 429 waits at least the header\'s value', async ({ fx, gw }) => {
  const retryAfterS = 1;
  assert.ok(retryAfterS * 1000 <= MAX_RETRY_AFTER_MS, 'the header is within the cap, so all of it is honoured');
  const { res, ms } = await placeThroughOne429(fx!, gw!, retryAfterS);
  console.log(`  measured: placement through one 429 with Retry-After ${retryAfterS} s took ${ms.toFixed(0)} ms (backoff alone: 50 ms)`);
  assert.is(res.status, 201);
  assert.ok(ms >= retryAfterS * 1000, `placement took ${ms} ms, less than the ${retryAfterS} s the broker asked to wait`);
});

test('429 on every attempt: 202 pending_submit, never rejected, then placed by the resubmit loop once the limit lifts', async ({ fx, gw }) => {
  const rejectedBefore = await ordersWithStatus(gw!.url, 'rejected');
  const clock429Before = await alpacaRequests(gw!.url, 'clock', '429');
  await fx!.alpaca.setFaults({ rateLimit: { share: 1, retryAfterS: 1 } });
  const body = market('MSFT');
  const t0 = performance.now();
  const res = await call<Order>(gw!.url, 'POST', '/orders', body);
  const ms = performance.now() - t0;
  console.log(`  measured: placement limited on all ${RETRIES + 1} attempts answered ${res.status} after ${ms.toFixed(0)} ms (lease bound ${worstCaseSubmitMs(TIMEOUT_MS, RETRIES)} ms)`);
  assert.is(res.status, 202);
  assert.is(res.body.status, 'pending_submit');
  assert.ok(ms < worstCaseSubmitMs(TIMEOUT_MS, RETRIES), 'the placement stayed within the submit lease');
  // The resubmit loop keeps trying while the limit lasts (each try looks the order up first), and the order stays pending.
  const lookupsAfterPlacement = await alpacaRequests(gw!.url, 'order_lookup', '429');
  await eventually('the resubmit loop retries the limited order', async () => (await alpacaRequests(gw!.url, 'order_lookup', '429')) > lookupsAfterPlacement, 5000);
  assert.is((await call<Order>(gw!.url, 'GET', `/orders/${body.client_order_id}`)).body.status, 'pending_submit');
  assert.is(await ordersWithStatus(gw!.url, 'rejected'), rejectedBefore, 'orders_total counts no rejection');
  // A rate-limited clock probe still reached the broker: the connection gauge stays 1.
  await eventually('clock probes rate limited', async () => (await alpacaRequests(gw!.url, 'clock', '429')) >= clock429Before + 2, 3000);
  assert.is(sample(await metricsText(gw!.url), 'execution_gateway_alpaca_connection_status'), 1);
  await fx!.alpaca.clearFaults();
  const placed = await eventually(
    'the resubmit loop places the order',
    async () => {
      const o = (await call<Order>(gw!.url, 'GET', `/orders/${body.client_order_id}`)).body;
      return o.status === 'pending_submit' ? undefined : o;
    },
    8000,
  );
  console.log(`  measured: placed ${placed.ms} ms after the limit lifted`);
  assert.is(placed.value.status, 'filled');
  assert.is(await ordersWithStatus(gw!.url, 'rejected'), rejectedBefore);
  assert.is((await brokerOrders(fx!.alpaca)).filter((o) => o.client_order_id === body.client_order_id).length, 1, 'placed once');
});

test.run();
