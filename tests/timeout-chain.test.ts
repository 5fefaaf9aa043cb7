// The timeout chain (issue 13.2): every caller waits longer than its callee can take to answer, so an order the
// gateway took is never recorded as failed by a caller that gave up first. Both sides come from the configs.
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadGatewayConfig } from '../services/execution-gateway/config.ts';
import { worstCaseSubmitMs } from '../services/execution-gateway/broker.ts';
import { loadOrchestratorConfig } from '../services/orchestrator/config.ts';
import { PG_WORST_CASE_QUERY_MS } from '../services/kit/pg.ts';
import type { RunningGateway } from '../services/execution-gateway/server.ts';
import type { Order } from '../services/execution-gateway/store.ts';
import { brokerOrders, call, eventually, metricsText, newId, sample, startGatewayFixture, type GatewayFixture } from './execution-gateway-fixture.ts';

interface Ctx {
  fx?: GatewayFixture;
  gw?: RunningGateway;
}
const test = suite<Ctx>('timeout chain', {});

/** Between the gateway's deadline firing and its answer reaching the caller: one event-loop turn and a loopback hop, generously. */
const ANSWER_ALLOWANCE_MS = 1000;

const URLS = { DATABASE_URL: 'postgres://u@127.0.0.1:1/db', REDIS_URL: 'redis://127.0.0.1:1', ALPACA_BASE_URL: 'http://127.0.0.1:1', SIGNAL_SERVICE_URL: 'http://127.0.0.1:1', EXECUTION_GATEWAY_URL: 'http://127.0.0.1:1' };

test('defaults: the orchestrator waits longer than the gateway\'s slowest answer to it', () => {
  const gw = loadGatewayConfig(URLS);
  const orch = loadOrchestratorConfig(URLS);
  // The orchestrator calls POST /orders (answered by PLACEMENT_DEADLINE_MS) and GET /exposure (one Postgres query).
  const slowest = Math.max(gw.PLACEMENT_DEADLINE_MS, PG_WORST_CASE_QUERY_MS);
  assert.ok(orch.requestTimeoutMs >= slowest + ANSWER_ALLOWANCE_MS, `orchestrator REQUEST_TIMEOUT_MS ${orch.requestTimeoutMs} < gateway's slowest answer ${slowest} + ${ANSWER_ALLOWANCE_MS}`);
  // Without the deadline a placement could take the whole submit: that is what the 5 s timeout used to lose.
  assert.ok(worstCaseSubmitMs(gw.ALPACA_TIMEOUT_MS, gw.ALPACA_RETRIES) > gw.PLACEMENT_DEADLINE_MS, 'the deadline is what bounds a slow submit');
});

test.before(async (ctx) => {
  ctx.fx = await startGatewayFixture();
  // A broker slower than the deadline but well within the per-request timeout: the submit succeeds, late.
  ctx.gw = await ctx.fx.start({ PLACEMENT_DEADLINE_MS: '300', ALPACA_TIMEOUT_MS: '5000', ALPACA_RETRIES: '0' });
});

test.after(async (ctx) => {
  await ctx.fx?.close();
});

test('a placement slower than PLACEMENT_DEADLINE_MS is answered 202 by then, then filled once and counted once', async ({ fx, gw }) => {
  const latencyMs = 1500;
  await fx!.alpaca.setFaults({ latencyMs });
  const id = newId('deadline');
  let answeredMs: number;
  try {
    const t0 = performance.now();
    const res = await call<Order>(gw!.url, 'POST', '/orders', { client_order_id: id, symbol: 'AAPL', side: 'buy', qty: 2, type: 'market' });
    answeredMs = performance.now() - t0;
    assert.is(res.status, 202);
    assert.is(res.body.status, 'pending_submit');
    // The answer came before the broker's: the broker alone takes latencyMs for the one POST.
    assert.ok(answeredMs < latencyMs, `answered after ${answeredMs.toFixed(0)} ms, not before the broker's ${latencyMs} ms`);
    await eventually('the submit that went on is recorded', async () => (await call<Order>(gw!.url, 'GET', `/orders/${id}`)).body.status === 'filled', 10_000);
  } finally {
    await fx!.alpaca.clearFaults();
  }
  console.log(`  measured: answered 202 after ${answeredMs.toFixed(0)} ms (deadline 300 ms, broker ${latencyMs} ms)`);
  assert.is((await brokerOrders(fx!.alpaca)).filter((o) => o.client_order_id === id).length, 1, 'one order at the broker');
  assert.is(sample(await metricsText(gw!.url), 'execution_gateway_orders_total', { symbol: 'AAPL', side: 'buy', status: 'filled' }), 1, 'counted once, at its outcome');
});

test('a placement stuck before its order is recorded is a 503 naming Postgres, is called off, and a retry places it once', async ({ fx, gw }) => {
  const id = newId('deadline-db');
  const order = { client_order_id: id, symbol: 'MSFT', side: 'buy', qty: 1, type: 'market' };
  const failed = async (): Promise<number> => sample(await metricsText(gw!.url), 'execution_gateway_orders_total', { symbol: 'MSFT', side: 'buy', status: 'failed' }) ?? 0;
  const failedBefore = await failed();
  // A real slow Postgres: another session holds the orders table, so the placement's lookup waits on the lock.
  const locker = new pg.Client({ connectionString: fx!.databaseUrl });
  await locker.connect();
  let res;
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
    res = await call<{ error: { code: string; message: string; details?: { dependency?: string } } }>(gw!.url, 'POST', '/orders', order);
  } finally {
    await locker.query('ROLLBACK').finally(() => locker.end());
  }
  assert.is(res.status, 503);
  assert.is(res.body.error.details?.dependency, 'postgres');
  assert.match(res.body.error.message, 'was not recorded');
  // Once the lock is gone the lookup returns, sees the placement was called off, and counts it as the refusal it was.
  await eventually('the abandoned placement is counted failed', async () => (await failed()) === failedBefore + 1, 10_000);
  assert.is((await call(gw!.url, 'GET', `/orders/${id}`)).status, 404, 'not recorded after all');
  const retried = await call<Order>(gw!.url, 'POST', '/orders', order);
  assert.is(retried.status, 201);
  await eventually('filled', async () => (await call<Order>(gw!.url, 'GET', `/orders/${id}`)).body.status === 'filled', 10_000);
  assert.is((await brokerOrders(fx!.alpaca)).filter((o) => o.client_order_id === id).length, 1, 'one order at the broker');
});

test.run();
