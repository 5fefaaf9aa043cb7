// execution-gateway HTTP API against real Postgres, Redis and fake-alpaca: orders, idempotency, risk, positions, P&L, metrics.
import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { ALPACA_ENDPOINTS, ALPACA_STATUSES, ORDER_STATUSES, PLACEMENT_BUCKETS } from '../services/execution-gateway/metrics.ts';
import type { Order } from '../services/execution-gateway/store.ts';
import type { RunningGateway } from '../services/execution-gateway/server.ts';
import { call, eventually, metricsText, newId, sample, startGatewayFixture, type GatewayFixture } from './execution-gateway-fixture.ts';

interface Ctx {
  fx?: GatewayFixture;
  gw?: RunningGateway;
  dry?: RunningGateway;
  redis?: Redis;
}
type ErrorBody = { error: { code: string; message: string; details?: unknown } };

const test = suite<Ctx>('execution-gateway api', {});

test.before(async (ctx) => {
  ctx.fx = await startGatewayFixture();
  ctx.gw = await ctx.fx.start({ MAX_POSITION_QTY: '100' });
  ctx.dry = await ctx.fx.start({ DRY_RUN: 'true', DATABASE_URL: await ctx.fx.deps.pg.createDatabase('dryrun') });
  ctx.redis = new Redis(ctx.fx.deps.redis.url);
});

test.after(async (ctx) => {
  ctx.redis?.disconnect();
  await ctx.fx?.close();
});

const market = (symbol: string, side: 'buy' | 'sell', qty: number, id = newId()) => ({ client_order_id: id, symbol, side, qty, type: 'market' });

test('places a market order: 201, filled, persisted, and at the broker once', async ({ gw, fx }) => {
  const body = market('AAPL', 'buy', 5);
  const res = await call<Order>(gw!.url, 'POST', '/orders', body);
  assert.is(res.status, 201);
  assert.is(res.body.status, 'filled');
  assert.is(res.body.filled_qty, 5);
  assert.ok(res.body.filled_avg_price! > 0);
  assert.type(res.body.broker_order_id, 'string');
  const stored = await call<Order>(gw!.url, 'GET', `/orders/${body.client_order_id}`);
  assert.is(stored.status, 200);
  assert.is(stored.body.broker_order_id, res.body.broker_order_id);
  const atBroker = await fetch(`${fx!.alpaca.url}/v2/orders:by_client_order_id?client_order_id=${body.client_order_id}`, {
    headers: { 'APCA-API-KEY-ID': 'test-key', 'APCA-API-SECRET-KEY': 'test-secret' },
  });
  assert.is(atBroker.status, 200);
  assert.is(((await atBroker.json()) as { id: string }).id, res.body.broker_order_id);
});

test('replays the same client_order_id and fields with 200 and no second broker order', async ({ gw, fx }) => {
  const body = market('MSFT', 'buy', 2);
  const first = await call<Order>(gw!.url, 'POST', '/orders', body);
  const again = await call<Order>(gw!.url, 'POST', '/orders', body);
  assert.is(first.status, 201);
  assert.is(again.status, 200);
  assert.is(again.body.broker_order_id, first.body.broker_order_id);
  const all = (await (
    await fetch(`${fx!.alpaca.url}/v2/orders?status=all&limit=500`, { headers: { 'APCA-API-KEY-ID': 'test-key', 'APCA-API-SECRET-KEY': 'test-secret' } })
  ).json()) as { client_order_id: string }[];
  assert.is(all.filter((o) => o.client_order_id === body.client_order_id).length, 1);
});

test('refuses the same client_order_id with other fields with 409 naming the differences', async ({ gw }) => {
  const body = market('MSFT', 'buy', 1);
  assert.is((await call(gw!.url, 'POST', '/orders', body)).status, 201);
  const res = await call<ErrorBody>(gw!.url, 'POST', '/orders', { ...body, qty: 3, side: 'sell' });
  assert.is(res.status, 409);
  assert.match(res.body.error.message, /differs in side, qty/);
});

test('rejects bad input with 400 naming the field', async ({ gw }) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ symbol: 'AAPL', side: 'buy', qty: 1, type: 'market' }, /client_order_id/],
    [{ ...market('AAPL', 'buy', 1), qty: -1 }, /qty/],
    [{ ...market('AAPL', 'buy', 1), qty: 'ten' }, /qty/],
    [{ ...market('AAPL', 'buy', 1), side: 'hold' }, /side/],
    [{ ...market('AAPL', 'buy', 1), symbol: '123' }, /symbol/],
    [{ ...market('AAPL', 'buy', 1), type: 'limit' }, /limit_price: required/],
    [{ ...market('AAPL', 'buy', 1), limit_price: 10 }, /limit_price: not allowed/],
    [{ ...market('AAPL', 'buy', 1), client_order_id: 'has space' }, /client_order_id/],
  ];
  const countOrders = (m: string): number =>
    m.split('\n').filter((l) => l.startsWith('execution_gateway_orders_total{')).reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  const before = await metricsText(gw!.url);
  for (const [body, field] of cases) {
    const res = await call<ErrorBody>(gw!.url, 'POST', '/orders', body);
    assert.is(res.status, 400, JSON.stringify(body));
    assert.match(res.body.error.message, field);
  }
  const after = await metricsText(gw!.url);
  const timed = (m: string): number => sample(m, 'execution_gateway_order_placement_duration_seconds_count')!;
  assert.is(timed(after) - timed(before), cases.length, 'invalid requests are timed too');
  assert.is(countOrders(after), countOrders(before), 'but not counted under a symbol they may not have');
  const limit = await call<ErrorBody>(gw!.url, 'GET', '/orders?limit=0');
  assert.is(limit.status, 400);
  assert.match(limit.body.error.message, /limit/);
  const trip = await call<ErrorBody>(gw!.url, 'POST', '/circuit-breaker/trip', {});
  assert.is(trip.status, 400);
  assert.match(trip.body.error.message, /reason/);
});

test('lists orders newest first within the limit, and 404s an unknown id', async ({ gw }) => {
  const a = market('SPY', 'buy', 1);
  const b = market('SPY', 'buy', 1);
  await call(gw!.url, 'POST', '/orders', a);
  await call(gw!.url, 'POST', '/orders', b);
  const res = await call<{ orders: Order[] }>(gw!.url, 'GET', '/orders?limit=2');
  assert.is(res.status, 200);
  assert.equal(res.body.orders.map((o) => o.client_order_id), [b.client_order_id, a.client_order_id]);
  const missing = await call<ErrorBody>(gw!.url, 'GET', '/orders/nope-123');
  assert.is(missing.status, 404);
  assert.match(missing.body.error.message, /nope-123/);
});

test('positions keep the average cost of fills', async ({ gw }) => {
  const one = await call<Order>(gw!.url, 'POST', '/orders', market('SPY', 'buy', 10));
  const before = (await call<{ positions: { symbol: string; qty: number; avg_cost: number }[] }>(gw!.url, 'GET', '/positions')).body.positions.find((p) => p.symbol === 'SPY')!;
  const two = await call<Order>(gw!.url, 'POST', '/orders', market('SPY', 'buy', 10));
  const after = (await call<{ positions: { symbol: string; qty: number; avg_cost: number }[] }>(gw!.url, 'GET', '/positions')).body.positions.find((p) => p.symbol === 'SPY')!;
  assert.is(one.body.status, 'filled');
  assert.is(after.qty, before.qty + 10);
  const expected = (before.qty * before.avg_cost + 10 * two.body.filled_avg_price!) / after.qty;
  assert.ok(Math.abs(after.avg_cost - expected) < 1e-6, `avg_cost ${after.avg_cost} vs ${expected}`);
});

test('refuses an order beyond the position limit with 422 stating the limit', async ({ gw }) => {
  const body = market('AAPL', 'sell', 150);
  const res = await call<ErrorBody>(gw!.url, 'POST', '/orders', body);
  assert.is(res.status, 422);
  assert.is(res.body.error.code, 'position_limit');
  assert.match(res.body.error.message, /position limit of 100/);
  const m = await metricsText(gw!.url);
  assert.is(sample(m, 'execution_gateway_orders_total', { symbol: 'AAPL', side: 'sell', status: 'risk_rejected' }), 1);
  // Not persisted: the same id may be used once the order fits.
  assert.is((await call(gw!.url, 'GET', `/orders/${body.client_order_id}`)).status, 404);
});

test('a tripped circuit breaker refuses orders with 422 and sets the gauge to 1', async ({ gw, redis }) => {
  const trip = await call<{ tripped: boolean; reason: string }>(gw!.url, 'POST', '/circuit-breaker/trip', { reason: 'drawdown limit' });
  assert.equal(trip.body, { tripped: true, reason: 'drawdown limit' });
  assert.is(await redis!.get('circuit_breaker:state'), 'tripped');
  assert.is(sample(await metricsText(gw!.url), 'execution_gateway_circuit_breaker_status'), 1);
  const res = await call<ErrorBody>(gw!.url, 'POST', '/orders', market('AAPL', 'buy', 1));
  assert.is(res.status, 422);
  assert.is(res.body.error.code, 'circuit_breaker_tripped');
  assert.match(res.body.error.message, /drawdown limit/);
  await call(gw!.url, 'POST', '/circuit-breaker/reset');
  assert.equal((await call(gw!.url, 'GET', '/circuit-breaker')).body, { tripped: false, reason: null });
  assert.is((await call(gw!.url, 'POST', '/orders', market('AAPL', 'buy', 1))).status, 201);
  // A breaker set in Redis by someone else shows on the gauge within a probe interval.
  await redis!.set('circuit_breaker:state', 'tripped');
  await eventually('breaker gauge 1', async () => sample(await metricsText(gw!.url), 'execution_gateway_circuit_breaker_status') === 1);
  await redis!.del('circuit_breaker:state');
  await eventually('breaker gauge 0', async () => sample(await metricsText(gw!.url), 'execution_gateway_circuit_breaker_status') === 0);
});

test('a broker rejection is 422 with the broker message and the order is stored rejected', async ({ gw, fx }) => {
  const alpaca = (m: string, endpoint: string, status: string): number => sample(m, 'execution_gateway_alpaca_api_requests_total', { endpoint, status })!;
  const before = await metricsText(gw!.url);
  await fx!.alpaca.setFaults({ rejectRate: 1 });
  const body = market('MSFT', 'buy', 1);
  const res = await call<ErrorBody>(gw!.url, 'POST', '/orders', body).finally(() => fx!.alpaca.clearFaults());
  const after = await metricsText(gw!.url);
  assert.is(alpaca(after, 'orders', '4xx') - alpaca(before, 'orders', '4xx'), 1, 'a 4xx is never retried');
  assert.is(alpaca(after, 'order_lookup', '2xx') + alpaca(after, 'order_lookup', '4xx'), alpaca(before, 'order_lookup', '2xx') + alpaca(before, 'order_lookup', '4xx'));
  assert.is(res.status, 422);
  assert.is(res.body.error.code, 'broker_rejected');
  assert.match(res.body.error.message, /insufficient buying power/);
  const stored = await call<Order>(gw!.url, 'GET', `/orders/${body.client_order_id}`);
  assert.is(stored.body.status, 'rejected');
  assert.match(stored.body.reject_reason!, /insufficient buying power/);
});

test('orders_total counts each order once at its outcome; replays and conflicts only on order_replays_total', async ({ gw, fx }) => {
  const total = (m: string): number => ORDER_STATUSES.reduce((n, status) => n + (sample(m, 'execution_gateway_orders_total', { symbol: 'MSFT', side: 'buy', status }) ?? 0), 0);
  const replays = (m: string, result: string): number => sample(m, 'execution_gateway_order_replays_total', { result })!;
  const of = (m: string, status: string): number => sample(m, 'execution_gateway_orders_total', { symbol: 'MSFT', side: 'buy', status })!;
  const m0 = await metricsText(gw!.url);
  const order = market('MSFT', 'buy', 1);
  assert.is((await call(gw!.url, 'POST', '/orders', order)).status, 201);
  assert.is((await call(gw!.url, 'POST', '/orders', order)).status, 200);
  assert.is((await call(gw!.url, 'POST', '/orders', { ...order, qty: 2 })).status, 409);
  const m1 = await metricsText(gw!.url);
  assert.is(total(m1) - total(m0), 1, 'one order, one count, however often it is posted');
  assert.is(replays(m1, 'replayed') - replays(m0, 'replayed'), 1);
  assert.is(replays(m1, 'conflict') - replays(m0, 'conflict'), 1);
  await fx!.alpaca.setFaults({ rejectRate: 1 });
  try {
    assert.is((await call(gw!.url, 'POST', '/orders', market('MSFT', 'buy', 1))).status, 422);
  } finally {
    await fx!.alpaca.clearFaults();
  }
  const m2 = await metricsText(gw!.url);
  assert.is(of(m2, 'rejected') - of(m1, 'rejected'), 1);
  assert.is(total(m2) - total(m1), 1);
});

test('a symbol outside the universe is labelled "other"', async ({ gw }) => {
  const res = await call<ErrorBody>(gw!.url, 'POST', '/orders', market('ZZZZ', 'buy', 1));
  assert.is(res.status, 422);
  assert.match(res.body.error.message, /ZZZZ/);
  const m = await metricsText(gw!.url);
  assert.is(sample(m, 'execution_gateway_orders_total', { symbol: 'other', side: 'buy', status: 'rejected' }), 1);
  assert.not.match(m, /ZZZZ/);
});

test('dry-run fills at the Redis quote; P&L is realized on closing trades and unrealized at the quote', async ({ dry, redis }) => {
  await redis!.hset('quote:AAPL', { price: '100', bid: '99.99', ask: '100.01', ts: String(Date.now()) });
  const buy = await call<Order>(dry!.url, 'POST', '/orders', market('AAPL', 'buy', 10));
  assert.is(buy.status, 201);
  assert.is(buy.body.filled_avg_price, 100);
  assert.is(buy.body.broker_order_id, null);
  await redis!.hset('quote:AAPL', 'price', '110');
  const sell = await call<Order>(dry!.url, 'POST', '/orders', market('AAPL', 'sell', 4));
  assert.is(sell.body.filled_avg_price, 110);
  const pnl = await call<{ realized: number; unrealized: number; total: number; by_symbol: { symbol: string; qty: number; price: number }[] }>(dry!.url, 'GET', '/pnl');
  assert.is(pnl.status, 200);
  assert.is(pnl.body.realized, 40);
  assert.is(pnl.body.unrealized, 60);
  assert.is(pnl.body.total, 100);
  assert.equal(pnl.body.by_symbol[0], { symbol: 'AAPL', qty: 6, avg_cost: 100, price: 110, realized: 40, unrealized: 60 });
  await eventually('P&L gauges', async () => {
    const m = await metricsText(dry!.url);
    return (
      sample(m, 'execution_gateway_pnl_realized_dollars', { symbol: 'AAPL' }) === 40 &&
      sample(m, 'execution_gateway_pnl_unrealized_dollars', { symbol: 'AAPL' }) === 60 &&
      sample(m, 'execution_gateway_pnl_total_dollars') === 100 &&
      sample(m, 'execution_gateway_positions_current', { symbol: 'AAPL' }) === 6
    );
  });
});

test('dry-run: market order without a quote is rejected; a resting limit order fills when the quote crosses', async ({ dry, redis }) => {
  const none = await call<ErrorBody>(dry!.url, 'POST', '/orders', market('MSFT', 'buy', 1));
  assert.is(none.status, 422);
  assert.match(none.body.error.message, /no quote for MSFT at Redis key quote:MSFT/);
  await redis!.hset('quote:SPY', 'price', '500');
  const id = newId();
  const rest = await call<Order>(dry!.url, 'POST', '/orders', { client_order_id: id, symbol: 'SPY', side: 'buy', qty: 1, type: 'limit', limit_price: 490 });
  assert.is(rest.status, 201);
  assert.is(rest.body.status, 'accepted');
  await redis!.hset('quote:SPY', 'price', '489.5');
  const filled = await eventually('resting order filled', async () => {
    const o = (await call<Order>(dry!.url, 'GET', `/orders/${id}`)).body;
    return o.status === 'filled' ? o : undefined;
  });
  assert.is(filled.value.filled_avg_price, 489.5);
});

test('metrics: exact names, closed label sets and placement buckets', async ({ gw }) => {
  const m = await metricsText(gw!.url);
  const types: Record<string, string> = {
    execution_gateway_orders_total: 'counter',
    execution_gateway_order_replays_total: 'counter',
    execution_gateway_order_placement_duration_seconds: 'histogram',
    execution_gateway_positions_current: 'gauge',
    execution_gateway_alpaca_api_requests_total: 'counter',
    execution_gateway_alpaca_request_duration_seconds: 'histogram',
    execution_gateway_database_connection_status: 'gauge',
    execution_gateway_alpaca_connection_status: 'gauge',
    execution_gateway_redis_connection_status: 'gauge',
    execution_gateway_circuit_breaker_status: 'gauge',
    execution_gateway_orders_pending_submit: 'gauge',
    execution_gateway_market_open: 'gauge',
    execution_gateway_pnl_realized_dollars: 'gauge',
    execution_gateway_pnl_unrealized_dollars: 'gauge',
    execution_gateway_pnl_total_dollars: 'gauge',
    execution_gateway_background_rounds_total: 'counter',
  };
  for (const [name, type] of Object.entries(types)) assert.ok(m.includes(`# TYPE ${name} ${type}\n`), `${name} ${type}`);
  const symbols = new Set<string>();
  const statuses = new Set<string>();
  for (const line of m.split('\n').filter((l) => l.startsWith('execution_gateway_orders_total{'))) {
    symbols.add(line.match(/symbol="([^"]+)"/)![1]!);
    statuses.add(line.match(/status="([^"]+)"/)![1]!);
  }
  assert.equal([...symbols].sort(), ['AAPL', 'MSFT', 'SPY', 'other']);
  assert.equal([...statuses].sort(), [...ORDER_STATUSES].sort());
  const les = [...m.matchAll(/^execution_gateway_order_placement_duration_seconds_bucket\{le="([^"]+)"\}/gm)].map((x) => x[1]);
  assert.equal(les, [...PLACEMENT_BUCKETS.map(String), '+Inf']);
  assert.ok(sample(m, 'execution_gateway_order_placement_duration_seconds_count')! > 10, 'every placement is timed, errors included');
  for (const endpoint of ALPACA_ENDPOINTS) {
    for (const status of ALPACA_STATUSES) assert.type(sample(m, 'execution_gateway_alpaca_api_requests_total', { endpoint, status }), 'number');
  }
  assert.ok(sample(m, 'execution_gateway_alpaca_api_requests_total', { endpoint: 'orders', status: '2xx' })! > 0);
  assert.ok(sample(m, 'execution_gateway_alpaca_api_requests_total', { endpoint: 'clock', status: '2xx' })! > 0);
  assert.is(sample(m, 'execution_gateway_database_connection_status'), 1);
  assert.is(sample(m, 'execution_gateway_redis_connection_status'), 1);
  assert.is(sample(m, 'execution_gateway_alpaca_connection_status'), 1);
  assert.is(sample(m, 'execution_gateway_market_open'), 1);
});

test('promtool check metrics accepts the /metrics output', async ({ gw }) => {
  const text = await metricsText(gw!.url);
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, output }));
    child.stdin.end(text);
  });
  assert.is(code, 0, output);
  assert.is(output.trim(), '', output);
});

test('/health and /ready answer ok', async ({ gw }) => {
  assert.is((await call(gw!.url, 'GET', '/health')).status, 200);
  const ready = await call<{ checks: Record<string, string> }>(gw!.url, 'GET', '/ready');
  assert.is(ready.status, 200);
  assert.equal(ready.body.checks, { postgres: 'ok', redis: 'ok' });
});

test.run();
