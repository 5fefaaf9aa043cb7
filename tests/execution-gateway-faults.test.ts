// execution-gateway under real dependency failures: Postgres and Redis stopped, broker errors, timeouts, refused connections, restarts.
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ORDER_STATUSES } from '../services/execution-gateway/metrics.ts';
import type { Order } from '../services/execution-gateway/store.ts';
import type { RunningGateway } from '../services/execution-gateway/server.ts';
import { brokerOrders, call, eventually, metricsText, newId, sample, startGatewayFixture, type GatewayFixture } from './execution-gateway-fixture.ts';

interface Ctx {
  fx?: GatewayFixture;
  gw?: RunningGateway;
}
type ErrorBody = { error: { code: string; message: string; details?: { dependency?: string } } };

const test = suite<Ctx>('execution-gateway faults', {});
// The production default, so the measured detection times are the ones Prometheus will see.
const PROBE_MS = 1000;

test.before(async (ctx) => {
  ctx.fx = await startGatewayFixture();
  ctx.gw = await ctx.fx.start({ PROBE_INTERVAL_MS: String(PROBE_MS) });
});

test.after(async (ctx) => {
  await ctx.fx?.close();
});

const market = (symbol: string, qty = 1, id = newId()) => ({ client_order_id: id, symbol, side: 'buy', qty, type: 'market' });
const gauge = async (url: string, name: string): Promise<number | undefined> => sample(await metricsText(url), name);

/** Every id must reach the gateway's final state "filled" and exist exactly once at the broker. */
async function assertExactlyOnce(fx: GatewayFixture, url: string, ids: string[], timeoutMs = 8000): Promise<void> {
  await eventually(
    'all orders filled',
    async () => {
      const orders = await Promise.all(ids.map(async (id) => (await call<Order>(url, 'GET', `/orders/${id}`)).body));
      return orders.every((o) => o.status === 'filled');
    },
    timeoutMs,
  );
  const atBroker = await brokerOrders(fx.alpaca);
  for (const id of ids) assert.is(atBroker.filter((o) => o.client_order_id === id).length, 1, `broker holds ${id} once`);
}

test('Postgres stopped: orders 503, database gauge 0 within two probe intervals, then recovery', async ({ fx, gw }) => {
  const t0 = Date.now();
  await fx!.deps.pg.stop();
  const res = await call<ErrorBody>(gw!.url, 'POST', '/orders', market('AAPL'));
  assert.is(res.status, 503);
  assert.is(res.body.error.details?.dependency, 'postgres');
  assert.is((await call(gw!.url, 'GET', '/orders')).status, 503);
  const down = await eventually('database gauge 0', async () => (await gauge(gw!.url, 'execution_gateway_database_connection_status')) === 0, 2 * PROBE_MS + 500);
  console.log(`  measured: database_connection_status 0 after ${Date.now() - t0} ms (poll ${down.ms} ms)`);
  assert.ok(sample(await metricsText(gw!.url), 'execution_gateway_orders_total', { symbol: 'AAPL', side: 'buy', status: 'failed' })! >= 1);
  await fx!.deps.pg.start();
  const t1 = Date.now();
  await eventually('order accepted again', async () => (await call(gw!.url, 'POST', '/orders', market('AAPL'))).status === 201, 5000);
  await eventually('database gauge 1', async () => (await gauge(gw!.url, 'execution_gateway_database_connection_status')) === 1, 2 * PROBE_MS + 500);
  console.log(`  measured: Postgres recovery (orders + gauge) ${Date.now() - t1} ms after start`);
});

test('Redis stopped: orders 503 (breaker unknown), Postgres-only reads work, redis gauge 0, then recovery', async ({ fx, gw }) => {
  const t0 = Date.now();
  await fx!.deps.redis.stop();
  const res = await call<ErrorBody>(gw!.url, 'POST', '/orders', market('MSFT'));
  assert.is(res.status, 503);
  assert.is(res.body.error.details?.dependency, 'redis');
  assert.match(res.body.error.message, /circuit breaker state unknown/);
  assert.is((await call(gw!.url, 'GET', '/orders?limit=5')).status, 200);
  assert.is((await call(gw!.url, 'GET', '/positions')).status, 200);
  assert.is((await call(gw!.url, 'GET', '/pnl')).status, 503);
  assert.is((await call(gw!.url, 'GET', '/circuit-breaker')).status, 503);
  await eventually('redis gauge 0', async () => (await gauge(gw!.url, 'execution_gateway_redis_connection_status')) === 0, 2 * PROBE_MS + 500);
  console.log(`  measured: redis_connection_status 0 after ${Date.now() - t0} ms`);
  await fx!.deps.redis.start();
  const t1 = Date.now();
  await eventually('order accepted again', async () => (await call(gw!.url, 'POST', '/orders', market('MSFT'))).status === 201, 5000);
  await eventually('redis gauge 1', async () => (await gauge(gw!.url, 'execution_gateway_redis_connection_status')) === 1, 2 * PROBE_MS + 500);
  console.log(`  measured: Redis recovery (orders + gauge) ${Date.now() - t1} ms after start`);
});

test('broker 5xx: orders kept pending_submit (202), submitted exactly once after the broker recovers', async ({ fx, gw }) => {
  const counted = (text: string): number => ORDER_STATUSES.reduce((n, status) => n + (sample(text, 'execution_gateway_orders_total', { symbol: 'SPY', side: 'buy', status }) ?? 0), 0);
  const before = await metricsText(gw!.url);
  const filledBefore = sample(before, 'execution_gateway_orders_total', { symbol: 'SPY', side: 'buy', status: 'filled' })!;
  await fx!.alpaca.setFaults({ errorRate: 1 });
  const ids: string[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const body = market('SPY');
      const res = await call<Order>(gw!.url, 'POST', '/orders', body);
      assert.is(res.status, 202);
      assert.is(res.body.status, 'pending_submit');
      ids.push(body.client_order_id);
    }
    const m = await metricsText(gw!.url);
    assert.ok(sample(m, 'execution_gateway_alpaca_api_requests_total', { endpoint: 'orders', status: '5xx' })! >= 5);
    // Waiting is not an outcome: nothing is counted until the broker decides.
    assert.is(counted(m), counted(before));
    await eventually('pending gauge 5', async () => (await gauge(gw!.url, 'execution_gateway_orders_pending_submit')) === 5, 2 * PROBE_MS + 500);
    await eventually('alpaca gauge 0', async () => (await gauge(gw!.url, 'execution_gateway_alpaca_connection_status')) === 0, 2 * PROBE_MS + 500);
  } finally {
    await fx!.alpaca.clearFaults();
  }
  await assertExactlyOnce(fx!, gw!.url, ids);
  // Each order counted once, at its outcome, though the 202 and the resubmit loop both touched it.
  const filledNow = sample(await metricsText(gw!.url), 'execution_gateway_orders_total', { symbol: 'SPY', side: 'buy', status: 'filled' })!;
  assert.is(filledNow - filledBefore, 5);
  await eventually('pending gauge 0', async () => (await gauge(gw!.url, 'execution_gateway_orders_pending_submit')) === 0, 2 * PROBE_MS + 500);
  await eventually('alpaca gauge 1', async () => (await gauge(gw!.url, 'execution_gateway_alpaca_connection_status')) === 1, 2 * PROBE_MS + 500);
});

test('broker slower than the timeout: the late order is adopted, never posted twice', async ({ fx, gw }) => {
  // fake-alpaca still executes a request after its injected latency, so every timed-out POST lands at the broker later.
  await fx!.alpaca.setFaults({ latencyMs: 450 });
  const ids: string[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const body = market('AAPL');
      const res = await call<Order>(gw!.url, 'POST', '/orders', body);
      assert.is(res.status, 202);
      ids.push(body.client_order_id);
    }
    assert.ok(sample(await metricsText(gw!.url), 'execution_gateway_alpaca_api_requests_total', { endpoint: 'orders', status: 'timeout' })! >= 3);
  } finally {
    await fx!.alpaca.clearFaults();
  }
  await assertExactlyOnce(fx!, gw!.url, ids);
});

test('broker refusing connections: alpaca gauge 0 and error label; orders 202 then filled', async ({ fx, gw }) => {
  const t0 = Date.now();
  await fx!.alpaca.setFaults({ refuseConnections: true });
  const body = market('MSFT');
  try {
    const res = await call<Order>(gw!.url, 'POST', '/orders', body);
    assert.is(res.status, 202);
    await eventually('alpaca gauge 0', async () => (await gauge(gw!.url, 'execution_gateway_alpaca_connection_status')) === 0, 2 * PROBE_MS + 500);
    console.log(`  measured: alpaca_connection_status 0 after ${Date.now() - t0} ms of refused connections`);
    assert.ok(sample(await metricsText(gw!.url), 'execution_gateway_alpaca_api_requests_total', { endpoint: 'orders', status: 'error' })! >= 1);
  } finally {
    await fx!.alpaca.clearFaults();
  }
  await assertExactlyOnce(fx!, gw!.url, [body.client_order_id]);
});

test('graceful restart during a broker outage loses and duplicates nothing', async ({ fx }) => {
  // Its own database, so only the restarted gateway can finish these orders.
  const DATABASE_URL = await fx!.deps.pg.createDatabase('graceful_restart');
  await fx!.alpaca.setFaults({ latencyMs: 450 });
  const ids: string[] = [];
  const first = await fx!.start({ DATABASE_URL });
  try {
    for (let i = 0; i < 2; i++) {
      const body = market(i % 2 ? 'AAPL' : 'SPY');
      assert.is((await call(first.url, 'POST', '/orders', body)).status, 202);
      ids.push(body.client_order_id);
    }
  } finally {
    await first.close();
    await fx!.alpaca.clearFaults();
  }
  const second = await fx!.start({ DATABASE_URL });
  await assertExactlyOnce(fx!, second.url, ids, 15_000);
});

test('gateway killed (SIGKILL) mid-submit: every persisted order is submitted exactly once by the next process', async ({ fx }) => {
  const DATABASE_URL = await fx!.deps.pg.createDatabase('crash_restart');
  const cfg = fx!.config({ DATABASE_URL });
  const proc = fx!.deps.owner.spawn({
    name: 'execution-gateway-crash',
    command: process.execPath,
    args: ['--import', 'tsx', 'services/execution-gateway/main.ts'],
    env: {
      ...process.env,
      DATABASE_URL,
      REDIS_URL: cfg.REDIS_URL,
      ALPACA_BASE_URL: cfg.ALPACA_BASE_URL,
      SYMBOLS: cfg.SYMBOLS.join(','),
      LOG_LEVEL: 'silent',
      ALPACA_TIMEOUT_MS: String(cfg.ALPACA_TIMEOUT_MS),
      ALPACA_RETRIES: String(cfg.ALPACA_RETRIES),
      RESUBMIT_INTERVAL_MS: '200',
    },
  });
  const { value: url } = await eventually(
    'child gateway listening',
    async () => (proc.tail().match(/"url":"(http:[^"]+)"/) ?? [])[1] ?? (proc.running ? undefined : assert.unreachable(`gateway exited: ${proc.tail()}`)),
    20_000,
  );
  await fx!.alpaca.setFaults({ latencyMs: 450 });
  const ids: string[] = [];
  let inFlightId = '';
  try {
    for (let i = 0; i < 2; i++) {
      const body = market('SPY');
      assert.is((await call(url, 'POST', '/orders', body)).status, 202);
      ids.push(body.client_order_id);
    }
    const body = market('AAPL');
    inFlightId = body.client_order_id;
    const inFlight = call(url, 'POST', '/orders', body).catch((err: Error) => err);
    // Persisted, and its first POST is on the way to the broker: the worst moment to die.
    await eventually('in-flight order persisted', async () => (await dbStatus(DATABASE_URL, inFlightId)) === 'pending_submit', 2000);
    await proc.kill();
    assert.instance(await inFlight, Error);
  } finally {
    await fx!.alpaca.clearFaults();
  }
  const t0 = Date.now();
  const next = await fx!.start({ DATABASE_URL });
  await assertExactlyOnce(fx!, next.url, [...ids, inFlightId], 15_000);
  console.log(`  measured: after SIGKILL, the next gateway finished 3 orders in ${Date.now() - t0} ms (lease expiry included)`);
});

/** The order's status straight from Postgres, so the test does not depend on the process it is about to kill. */
async function dbStatus(databaseUrl: string, id: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ status: string }>('SELECT status FROM orders WHERE client_order_id = $1', [id]);
    return rows[0]?.status;
  } finally {
    await client.end();
  }
}

test.run();
