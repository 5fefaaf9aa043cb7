import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Registry } from 'prom-client';
import { Redis } from 'ioredis';
import { loadOrchestratorConfig } from '../services/orchestrator/config.ts';
import { startOrchestrator } from '../services/orchestrator/server.ts';
import type { SignalService } from '../services/signal-service/server.ts';
import { startExecutionGateway, type RunningGateway } from '../services/execution-gateway/server.ts';
import { loadGatewayConfig } from '../services/execution-gateway/config.ts';
import { createLogger } from '../services/kit/logger.ts';
import { createService, listen, type RunningServer } from '../services/kit/service.ts';
import { freePort } from '../stack/ports.ts';
import { startTestDeps, type TestDeps } from './helpers/stack.ts';
import { seedPrices, startMomentumSignals } from './helpers/signals.ts';
import { metricValue, promtoolCheckMetrics, waitFor } from './helpers/scrape.ts';

interface Started {
  url: string;
  close(): Promise<void>;
}

interface Ctx {
  deps: TestDeps;
  redis: Redis;
  signals: SignalService | undefined;
  gateway: RunningGateway | undefined;
  orch: Started;
  extra: Array<{ close(): Promise<void> }>;
}

interface RunOrderBody {
  symbol: string;
  client_order_id: string;
  side: string;
  qty: number;
  target_qty: number;
  current_qty: number;
  status: string;
  http_status: number | null;
  error: string | null;
}
interface RunBody {
  id: number;
  status: string;
  trigger: string;
  signals: Array<{ symbol: string; target_weight: number }>;
  orders: RunOrderBody[];
  error: string | null;
  model_name: string | null;
}

const UNIVERSE = 'AAPL,MSFT,SPY,TSLA';
const test = suite<Ctx>('orchestrator', { extra: [] } as unknown as Ctx);

/** Momentum over 3 prices (oldest..newest): AAPL +10%, MSFT +5%, SPY -1%, TSLA -20%; the last one is also the quote. */
const HISTORY: Record<string, number[]> = { AAPL: [100, 105, 110], MSFT: [200, 205, 210], SPY: [400, 398, 396], TSLA: [250, 220, 200] };

test.before(async (ctx) => {
  ctx.extra = [];
  ctx.deps = await startTestDeps();
  try {
    ctx.redis = new Redis(ctx.deps.redis.url, { maxRetriesPerRequest: 1 });
    ctx.redis.on('error', () => undefined);
    await seedPrices(ctx.redis, HISTORY);
    const [orchDb, signalDb, gatewayDb] = await Promise.all(['orch', 'signals', 'gateway'].map((n) => ctx.deps.pg.createDatabase(n)));
    const common = { REDIS_URL: ctx.deps.redis.url, SYMBOLS: UNIVERSE, LOG_LEVEL: 'silent', PROBE_INTERVAL_MS: '100' };
    ctx.signals = await startMomentumSignals({ ...common, DATABASE_URL: signalDb });
    ctx.gateway = await startExecutionGateway(
      loadGatewayConfig({ ...common, DATABASE_URL: gatewayDb, ALPACA_BASE_URL: `http://127.0.0.1:${await freePort()}`, DRY_RUN: 'true', MAX_POSITION_QTY: '400' }),
    );
    ctx.orch = await startOrchestrator(
      loadOrchestratorConfig({
        ...common,
        DATABASE_URL: orchDb,
        SIGNAL_SERVICE_URL: ctx.signals.url,
        EXECUTION_GATEWAY_URL: ctx.gateway.url,
        CAPITAL: '100000',
        REQUEST_TIMEOUT_MS: '2000',
      }),
    );
  } catch (err) {
    await stopAll(ctx);
    throw err;
  }
});

async function stopAll(ctx: Ctx): Promise<void> {
  for (const s of ctx.extra ?? []) await s.close();
  await ctx.orch?.close();
  await ctx.gateway?.close();
  await ctx.signals?.close();
  ctx.redis?.disconnect();
  await ctx.deps?.owner.stopAll();
}

test.after(stopAll);

function post(body: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
const metric = (url: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> => metricValue(url, name, labels);
const orders = (run: RunBody): Array<[string, string, number, string]> => run.orders.map((o) => [o.symbol, o.side, o.qty, o.status]);

test('probes report the database, signal service and gateway as up', async (ctx) => {
  await waitFor('probes', async () => (await metric(ctx.orch.url, 'orchestrator_signal_service_available')) === 1 && (await metric(ctx.orch.url, 'orchestrator_execution_gateway_available')) === 1);
  assert.is(await metric(ctx.orch.url, 'orchestrator_database_connection_status'), 1);
  assert.is((await fetch(`${ctx.orch.url}/ready`)).status, 200);
});

test('a run sizes against capital, submits deltas with run-<id>-<symbol> ids, and is partial when the gateway rejects one', async (ctx) => {
  const res = await fetch(`${ctx.orch.url}/runs`, post({}));
  assert.is(res.status, 201);
  const run = (await res.json()) as RunBody;
  assert.is(run.status, 'partial');
  assert.is(run.trigger, 'api');
  assert.is(run.model_name, 'momentum-test');
  assert.equal(
    run.signals.filter((s) => s.target_weight !== 0).map((s) => [s.symbol, s.target_weight]),
    [
      ['AAPL', 0.5],
      ['TSLA', -0.5],
    ],
  );
  // 100000 x -0.5 / 200 = -250 TSLA (within MAX_POSITION_QTY 400); 100000 x 0.5 / 110 = 454.5 -> 454 AAPL, beyond it.
  assert.equal(orders(run), [
    ['TSLA', 'sell', 250, 'accepted'],
    ['AAPL', 'buy', 454, 'rejected'],
  ]);
  assert.is(run.orders[0]!.client_order_id, `run-${run.id}-TSLA`);
  assert.is(run.orders[1]!.http_status, 422);
  assert.match(run.orders[1]!.error ?? '', /position limit/);
  const atGateway = (await (await fetch(`${ctx.gateway!.url}/orders/run-${run.id}-TSLA`)).json()) as { status?: string; order?: { status: string } };
  assert.is(atGateway.order?.status ?? atGateway.status, 'filled');
  const stored = (await (await fetch(`${ctx.orch.url}/runs/${run.id}`)).json()) as RunBody;
  assert.equal(stored, run);
});

test('the next run orders only the deltas against the gateway positions and completes', async (ctx) => {
  const res = await fetch(`${ctx.orch.url}/runs`, post({ capital: 60000 }));
  assert.is(res.status, 201);
  const run = (await res.json()) as RunBody;
  assert.is(run.status, 'completed');
  // Targets: AAPL 30000/110 = 272.7 -> 272 (held 0); TSLA -30000/200 = -150 (held -250) -> buy 100.
  assert.equal(orders(run), [
    ['AAPL', 'buy', 272, 'accepted'],
    ['TSLA', 'buy', 100, 'accepted'],
  ]);
  assert.equal(run.orders.map((o) => [o.target_qty, o.current_qty]), [
    [272, 0],
    [-150, -250],
  ]);
  assert.is(run.error, null);
});

test('a run limited to some symbols leaves positions outside them alone', async (ctx) => {
  const res = await fetch(`${ctx.orch.url}/runs`, post({ symbols: ['AAPL', 'MSFT'], capital: 60000 }));
  assert.is(res.status, 201);
  const run = (await res.json()) as RunBody;
  // Two symbols, topN 1: AAPL +0.5 (already 272), MSFT -0.5: -30000/210 = -142.9 -> -142. TSLA (held) is outside the run.
  assert.equal(orders(run), [['MSFT', 'sell', 142, 'accepted']]);
  assert.is(run.status, 'completed');
  const positions = (await (await fetch(`${ctx.gateway!.url}/positions`)).json()) as { positions: Array<{ symbol: string; qty: number }> };
  assert.equal(
    positions.positions.map((p) => [p.symbol, Number(p.qty)]).sort(),
    [
      ['AAPL', 272],
      ['MSFT', -142],
      ['TSLA', -150],
    ],
  );
});

test('metrics count runs, signals, orders and adjustments', async (ctx) => {
  const m = (name: string, labels: Record<string, string> = {}): Promise<number | undefined> => metric(ctx.orch.url, name, labels);
  assert.is(await m('orchestrator_runs_total', { status: 'partial' }), 1);
  assert.is(await m('orchestrator_runs_total', { status: 'completed' }), 2);
  assert.is(await m('orchestrator_runs_total', { status: 'failed' }), 0);
  assert.is(await m('orchestrator_signals_received_total'), 10);
  assert.is(await m('orchestrator_orders_submitted_total', { status: 'accepted' }), 4);
  assert.is(await m('orchestrator_orders_submitted_total', { status: 'rejected' }), 1);
  assert.is(await m('orchestrator_positions_adjusted_total'), 4);
  assert.is(await m('orchestrator_orchestration_duration_seconds_count'), 3);
});

test('GET /runs lists newest first; bad ids and limits are 400s, unknown ids 404, bad bodies 400', async (ctx) => {
  const list = (await (await fetch(`${ctx.orch.url}/runs?limit=2`)).json()) as { runs: RunBody[] };
  assert.equal(list.runs.map((r) => r.id), [3, 2]);
  assert.is(list.runs[1]!.orders.length, 2);
  assert.is((await fetch(`${ctx.orch.url}/runs?limit=0`)).status, 400);
  assert.is((await fetch(`${ctx.orch.url}/runs/abc`)).status, 400);
  assert.is((await fetch(`${ctx.orch.url}/runs/999`)).status, 404);
  assert.is((await fetch(`${ctx.orch.url}/runs`, post({ symbols: ['ZZZZ'] }))).status, 400);
  assert.is((await fetch(`${ctx.orch.url}/runs`, post({ capital: -5 }))).status, 400);
  assert.is((await fetch(`${ctx.orch.url}/runs`, post({ nope: 1 }))).status, 400);
});

test('scheduled runs never overlap, and POST /runs during a run is a 409', async (ctx) => {
  // A slow stand-in signal service makes runs long enough to overlap if they could. Its universe (SPY, weight 0, not
  // held) yields no orders: this orchestrator's run ids restart at 1 and must not reuse client_order_ids at the shared gateway.
  let active = 0;
  let maxActive = 0;
  let calls = 0;
  const slow = createService({ name: 'slow-signals', registry: new Registry(), logger: createLogger('slow', 'silent') });
  slow.router.get('/health', (c) => {
    c.body = { status: 'ok' };
  });
  slow.router.post('/signals', async (c) => {
    calls += 1;
    active += 1;
    maxActive = Math.max(maxActive, active);
    await new Promise((r) => setTimeout(r, 250));
    active -= 1;
    c.body = { model_name: 'slow', model_version: 1, signals: [{ symbol: 'SPY', score: 0, target_weight: 0 }] };
  });
  const slowSrv: RunningServer = await listen(slow.app);
  ctx.extra.push(slowSrv);
  const db = await ctx.deps.pg.createDatabase('orch_sched');
  const sched = await startOrchestrator(
    loadOrchestratorConfig({
      DATABASE_URL: db,
      REDIS_URL: ctx.deps.redis.url,
      SIGNAL_SERVICE_URL: slowSrv.url,
      EXECUTION_GATEWAY_URL: ctx.gateway!.url,
      SYMBOLS: 'SPY',
      RUN_INTERVAL_MS: '50',
      LOG_LEVEL: 'silent',
    }),
  );
  ctx.extra.unshift(sched);
  await waitFor('a scheduled run in progress', async () => active === 1, 2000, 5);
  const clash = await fetch(`${sched.url}/runs`, post({}));
  assert.is(clash.status, 409);
  await waitFor('three scheduled runs', async () => calls >= 3, 3000);
  assert.is(maxActive, 1);
  const runs = (await (await fetch(`${sched.url}/runs`)).json()) as { runs: RunBody[] };
  const finished = runs.runs.filter((r) => r.status !== 'running');
  assert.ok(finished.length >= 2, `finished runs: ${finished.length}`);
  assert.ok(finished.every((r) => r.trigger === 'schedule' && r.status === 'completed' && r.orders.length === 0), JSON.stringify(finished));
  await sched.close();
  ctx.extra.shift();
});

test('gateway down: the run is recorded as failed and POST /runs is a 503 naming the gateway', async (ctx) => {
  await ctx.gateway?.close();
  ctx.gateway = undefined;
  await waitFor('gateway probe to report 0', async () => (await metric(ctx.orch.url, 'orchestrator_execution_gateway_available')) === 0, 3000);
  const res = await fetch(`${ctx.orch.url}/runs`, post({}));
  assert.is(res.status, 503);
  const body = (await res.json()) as { error: { message: string; details: { dependency: string; run: RunBody } } };
  assert.is(body.error.details.dependency, 'execution-gateway');
  assert.match(body.error.message, /execution-gateway unreachable/);
  assert.is(body.error.details.run.status, 'failed');
  const stored = (await (await fetch(`${ctx.orch.url}/runs/${body.error.details.run.id}`)).json()) as RunBody;
  assert.is(stored.status, 'failed');
  assert.is(await metric(ctx.orch.url, 'orchestrator_runs_total', { status: 'failed' }), 1);
});

test('signal service down: POST /runs is a 503 naming the signal service', async (ctx) => {
  await ctx.signals?.close();
  ctx.signals = undefined;
  await waitFor('signal probe to report 0', async () => (await metric(ctx.orch.url, 'orchestrator_signal_service_available')) === 0, 3000);
  const res = await fetch(`${ctx.orch.url}/runs`, post({}));
  assert.is(res.status, 503);
  const body = (await res.json()) as { error: { details: { dependency: string; run: RunBody } } };
  assert.is(body.error.details.dependency, 'signal-service');
  assert.is(body.error.details.run.status, 'failed');
  assert.is(await metric(ctx.orch.url, 'orchestrator_runs_total', { status: 'failed' }), 2);
});

test('Postgres down: 503 naming Postgres, status 0, and recovery once it is back', async (ctx) => {
  await ctx.deps.pg.stop();
  await waitFor('database status 0', async () => (await metric(ctx.orch.url, 'orchestrator_database_connection_status')) === 0, 3000);
  const res = await fetch(`${ctx.orch.url}/runs`, post({}));
  assert.is(res.status, 503);
  assert.is(((await res.json()) as { error: { details: { dependency: string } } }).error.details.dependency, 'postgres');
  assert.is((await fetch(`${ctx.orch.url}/runs`)).status, 503);
  assert.is((await fetch(`${ctx.orch.url}/ready`)).status, 503);
  assert.is(await metric(ctx.orch.url, 'orchestrator_runs_total', { status: 'failed' }), 3);
  await ctx.deps.pg.start();
  await waitFor('database status 1', async () => (await metric(ctx.orch.url, 'orchestrator_database_connection_status')) === 1, 5000);
  assert.is((await fetch(`${ctx.orch.url}/runs?limit=1`)).status, 200);
});

test('/metrics exposes every orchestrator metric by its exact name and passes promtool check metrics', async (ctx) => {
  const text = await (await fetch(`${ctx.orch.url}/metrics`)).text();
  for (const name of [
    'orchestrator_runs_total',
    'orchestrator_orchestration_duration_seconds_bucket',
    'orchestrator_signals_received_total',
    'orchestrator_orders_submitted_total',
    'orchestrator_positions_adjusted_total',
    'orchestrator_database_connection_status',
    'orchestrator_signal_service_available',
    'orchestrator_execution_gateway_available',
  ]) {
    assert.ok(new RegExp(`^${name}[{ ]`, 'm').test(text), `missing ${name}`);
  }
  const { code, output } = await promtoolCheckMetrics(text);
  assert.is(code, 0, output);
  assert.is(output.trim(), '', output);
});

test.run();
