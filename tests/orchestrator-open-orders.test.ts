// Sizing counts open orders: with the broker refusing connections, every order waits in pending_submit, and later runs
// must not order the same delta again (issue 13.1). Real Postgres, Redis, fake-alpaca, gateway, signal service, orchestrator.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { loadOrchestratorConfig } from '../services/orchestrator/config.ts';
import { startOrchestrator } from '../services/orchestrator/server.ts';
import type { SignalService } from '../services/signal-service/server.ts';
import type { RunningGateway } from '../services/execution-gateway/server.ts';
import { call, eventually, metricsText, sample, startGatewayFixture, SYMBOLS, type GatewayFixture } from './execution-gateway-fixture.ts';
import { seedPrices, startMomentumSignals } from './helpers/signals.ts';

interface Ctx {
  fx?: GatewayFixture;
  gw?: RunningGateway;
  redis?: Redis;
  signals?: SignalService;
  orch?: { url: string; close(): Promise<void> };
}
interface RunBody {
  id: number;
  status: string;
  orders: { symbol: string; side: string; qty: number; target_qty: number; current_qty: number; status: string }[];
}

const test = suite<Ctx>('orchestrator sizing with open orders', {});
/** AAPL has the best momentum, so a top-1 momentum model puts the whole capital on it. */
const HISTORY = { AAPL: [100, 105, 110], MSFT: [200, 205, 210], SPY: [400, 398, 396] };

test.before(async (ctx) => {
  ctx.fx = await startGatewayFixture();
  const common = { REDIS_URL: ctx.fx.deps.redis.url, SYMBOLS, LOG_LEVEL: 'silent', PROBE_INTERVAL_MS: '200' };
  // A limit far above the targets: the gateway's own position check must not be what stops the over-trading.
  ctx.gw = await ctx.fx.start({ MAX_POSITION_QTY: '1000000' });
  ctx.redis = new Redis(ctx.fx.deps.redis.url, { maxRetriesPerRequest: 1 });
  ctx.redis.on('error', () => undefined);
  await seedPrices(ctx.redis, HISTORY);
  const [signalDb, orchDb] = await Promise.all(['signals', 'orch'].map((n) => ctx.fx!.deps.pg.createDatabase(n)));
  ctx.signals = await startMomentumSignals({ ...common, DATABASE_URL: signalDb });
  ctx.orch = await startOrchestrator(
    loadOrchestratorConfig({ ...common, DATABASE_URL: orchDb, SIGNAL_SERVICE_URL: ctx.signals.url, EXECUTION_GATEWAY_URL: ctx.gw.url, CAPITAL: '10000' }),
  );
});

test.after(async (ctx) => {
  await ctx.orch?.close();
  await ctx.signals?.close();
  ctx.redis?.disconnect();
  await ctx.fx?.close();
});

const run = async (url: string): Promise<RunBody> => {
  const res = await call<RunBody>(url, 'POST', '/runs', {});
  assert.is(res.status, 201, `POST /runs answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
};

test('broker refused for three runs, then back: the final position equals one run\'s target', async ({ fx, gw, orch }) => {
  await fx!.alpaca.setFaults({ refuseConnections: true });
  const runs: RunBody[] = [];
  try {
    for (let i = 0; i < 3; i++) runs.push(await run(orch!.url));
  } finally {
    await fx!.alpaca.clearFaults();
  }
  const [first, ...later] = runs;
  assert.ok(first!.orders.length > 0, 'the first run orders something');
  assert.ok(first!.orders.every((o) => o.status === 'pending'), 'with the broker refused, every order is kept pending');
  // The later runs see the first run's orders as open and have nothing left to order.
  for (const r of later) assert.equal(r.orders, [], `run ${r.id} orders again what is already on order`);

  await eventually('pending orders submitted once the broker is back', async () => sample(await metricsText(gw!.url), 'execution_gateway_orders_pending_submit') === 0 && (await call<{ exposure: { open_qty: number }[] }>(gw!.url, 'GET', '/exposure')).body.exposure.every((e) => e.open_qty === 0), 15_000);
  const { body } = await call<{ positions: { symbol: string; qty: number }[] }>(gw!.url, 'GET', '/positions');
  const held = Object.fromEntries(body.positions.map((p) => [p.symbol, Number(p.qty)]));
  assert.equal(held, Object.fromEntries(first!.orders.map((o) => [o.symbol, o.target_qty])));

  // And a run now, with the broker up and the targets met, orders nothing.
  assert.equal((await run(orch!.url)).orders, []);
});

test('GET /exposure adds open orders to positions per symbol, signed', async ({ fx, gw }) => {
  await fx!.alpaca.setFaults({ refuseConnections: true });
  try {
    const before = (await call<{ exposure: { symbol: string; position_qty: number; open_qty: number }[] }>(gw!.url, 'GET', '/exposure')).body.exposure;
    const held = before.find((e) => e.symbol === 'AAPL')?.position_qty ?? 0;
    for (const [id, side, qty] of [['exp-buy', 'buy', 7], ['exp-sell', 'sell', 3]] as const) {
      const res = await call(gw!.url, 'POST', '/orders', { client_order_id: `${id}-${process.pid}`, symbol: 'AAPL', side, qty, type: 'market' });
      assert.is(res.status, 202);
    }
    const after = (await call<{ exposure: { symbol: string; position_qty: number; open_qty: number }[] }>(gw!.url, 'GET', '/exposure')).body.exposure;
    assert.equal(after.find((e) => e.symbol === 'AAPL'), { symbol: 'AAPL', position_qty: held, open_qty: 4 });
  } finally {
    await fx!.alpaca.clearFaults();
  }
});

test.run();
