// The fault matrix: every alert in alerts/rules is expected by at least one scenario here (the harness fails
// otherwise). Each scenario injects one real fault into the running stack and names the alerts it must fire.
import pg from 'pg';
import type { ServiceName } from '../stack/index.ts';
import { service, setProxy, passProxy, type Dependency, type FaultContext, type Scenario } from './scenario.ts';
import { sleep } from '../stack/ports.ts';
import { loadThresholds, numberOf } from '../alerts/model.ts';

/** Kill (SIGKILL) or freeze (SIGSTOP) a service; it inhibits its own alerts while down, so it excludes them. */
function serviceDown(name: ServiceName, alert: string, how: 'kill' | 'pause', mayAlsoFire: string[], extraTouches: string[] = []): Scenario {
  return {
    id: `${name}-${how === 'kill' ? 'killed' : 'paused'}`,
    description: how === 'kill' ? `SIGKILL ${name}, then start it again` : `SIGSTOP ${name} (hung process), then SIGCONT`,
    touches: [`service:${name}`, ...extraTouches],
    excludes: [`alerts:${name}`],
    expect: [alert],
    mayAlsoFire,
    inject: async (ctx) => (how === 'kill' ? service(ctx, name).kill() : service(ctx, name).pause()),
    recover: async (ctx) => (how === 'kill' ? service(ctx, name).start() : service(ctx, name).resume()),
  };
}

function proxyFault(id: string, dep: Dependency, mode: Parameters<typeof setProxy>[1], description: string, expect: string[], mayAlsoFire: string[]): Scenario {
  const part = dep === 'execution-gateway' || dep === 'signal-service' ? `link:${dep}` : `dep:${dep}`;
  return { id, description, touches: [part], expect, mayAlsoFire, inject: setProxy(dep, mode), recover: passProxy(dep) };
}

/** A connection to one service's own database, for registry faults a bad deploy would make. */
async function withSignalsDb<T>(ctx: FaultContext, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(ctx.stack.postgres.url);
  url.pathname = '/signals';
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Remembers the model that was active before a registry fault, to restore it on recovery. */
const activeBefore = new Map<string, number>();

async function restoreModel(ctx: FaultContext, scenario: string): Promise<void> {
  const id = activeBefore.get(scenario);
  if (id === undefined) throw new Error(`${scenario}: no model was active before the fault; nothing to restore`);
  await withSignalsDb(ctx, async (c) => {
    await c.query('BEGIN');
    await c.query('UPDATE models SET active = false WHERE active');
    await c.query('UPDATE models SET active = true WHERE id = $1', [id]);
    await c.query('COMMIT');
  });
}

async function rememberActive(ctx: FaultContext, scenario: string): Promise<void> {
  const { rows } = await withSignalsDb(ctx, (c) => c.query<{ id: number }>('SELECT id FROM models WHERE active'));
  if (!rows[0]) throw new Error(`${scenario}: the signal service has no active model to begin with`);
  activeBefore.set(scenario, rows[0].id);
}

/** How many orders broker-symbol-outage leaves stuck: well above OrdersStuckPendingSubmit's threshold, well below ten times it. */
export function stuckBatch(thresholds = loadThresholds()): number {
  return Math.ceil(4 * numberOf(thresholds.OrdersStuckPendingSubmit ?? {}, 'threshold', 'OrdersStuckPendingSubmit'));
}

/** Runs that trade nothing: while order flow is stopped, the harness keeps orchestration runs going on one symbol. */
const runLoops = new Map<string, { stop: boolean; done: Promise<void> }>();

async function idleSymbol(ctx: FaultContext): Promise<string> {
  // What runs size against: positions plus open orders, per symbol (symbols with neither are left out).
  const body = (await ctx.call('execution-gateway', 'GET', '/exposure')) as { exposure?: { symbol: string }[] };
  const held = new Set((body.exposure ?? []).map((e) => e.symbol));
  const universe = ((await ctx.call('market-data', 'GET', '/subscriptions')) as { subscribed?: string[] }).subscribed ?? [];
  // A symbol with no exposure: a capital-1 run on it computes a zero target and a zero delta, so it submits nothing.
  return universe.find((s) => !held.has(s)) ?? universe[0] ?? 'AAPL';
}

/**
 * Touch vocabulary (see waves.ts): "service:<name>", "dep:postgres", "dep:redis", "registry" (the model registry in
 * Postgres), "broker:rest", "broker:stream", "link:<service>" (a service-to-service hop), "load:<flow>".
 * "order-flow" is touched by scenarios whose alerts need orders to reach the broker, and excluded by every fault that
 * stops orders on the way (a store outage, a dead gateway or broker, the circuit breaker, paused order flow).
 */
const BREAKS_ORDERS = ['order-flow'];

export const SCENARIOS: Scenario[] = [
  // Service health: processes gone or hung. Prometheus sees up == 0.
  serviceDown('execution-gateway', 'ExecutionGatewayDown', 'kill', ['OrchestratorExecutionGatewayUnavailable', 'OrchestrationRunsFailing', 'MarketDataPositionSyncFailing', 'SlowOrchestration']),
  serviceDown('signal-service', 'SignalServiceDown', 'pause', ['OrchestratorSignalServiceUnavailable', 'OrchestrationRunsFailing', 'SlowOrchestration', 'SlowSignalGeneration', 'NoSignalsGenerated']),
  serviceDown('orchestrator', 'OrchestratorDown', 'kill', []),
  serviceDown('market-data', 'MarketDataDown', 'kill', ['NoMarketData', 'MarketDataSubscriptionFailures']),
  serviceDown('fake-alpaca', 'FakeAlpacaDown', 'kill', [
    'ExecutionGatewayAlpacaDisconnected', 'MarketDataWebSocketDisconnected', 'MarketDataReconnectStorm', 'NoMarketData', 'MarketDataSubscriptionFailures',
    'AlpacaApiErrorRateHigh', 'OrdersStuckPendingSubmit', 'OrderFailureRateHigh', 'SlowOrderPlacement', 'SlowAlpacaRequests', 'SlowOrchestration', 'OrchestrationRunsFailing',
  ], ['broker:rest', 'broker:stream']),

  // Stores: Postgres stopped, a slow Redis, a dropped stream; then Redis hung and the Postgres network black hole.
  {
    id: 'postgres-stopped',
    description: 'stop Postgres (fast shutdown), then start it again',
    touches: ['dep:postgres', 'registry'],
    excludes: BREAKS_ORDERS,
    expect: ['ExecutionGatewayDatabaseDisconnected', 'SignalServiceDatabaseDisconnected', 'OrchestratorDatabaseDisconnected'],
    mayAlsoFire: ['OrchestrationRunsFailing', 'OrderFailureRateHigh', 'SlowOrderPlacement', 'SlowOrchestration', 'MarketDataPositionSyncFailing'],
    inject: (ctx) => ctx.stack.postgres.stop(),
    recover: (ctx) => ctx.stack.postgres.start(),
  },
  { ...proxyFault('redis-latency', 'redis', { kind: 'latency', ms: 150 }, 'TCP proxy adds 150 ms each way to every Redis round trip',
    ['SlowSignalGeneration'], ['SlowOrderPlacement', 'SlowOrchestration', 'OrchestrationRunsFailing']) },
  {
    id: 'stream-dropped',
    description: 'fake Alpaca drops every stream client and refuses reconnects',
    touches: ['broker:stream'],
    expect: ['MarketDataWebSocketDisconnected', 'MarketDataReconnectStorm'],
    mayAlsoFire: ['NoMarketData', 'MarketDataSubscriptionFailures'],
    inject: (ctx) => ctx.broker.set({ wsDrop: true }).then(() => undefined),
    recover: (ctx) => ctx.broker.set({ wsDrop: false }).then(() => undefined),
  },
  {
    id: 'redis-paused',
    description: 'SIGSTOP Redis (hung, connections open), then SIGCONT',
    touches: ['dep:redis'],
    excludes: BREAKS_ORDERS,
    // The gateway fails closed without its circuit-breaker state, and signals cannot read prices.
    expect: ['ExecutionGatewayRedisDisconnected', 'SignalServiceRedisDisconnected', 'MarketDataRedisDisconnected', 'OrderFailureRateHigh', 'NoSignalsGenerated'],
    mayAlsoFire: ['OrchestrationRunsFailing', 'SlowOrderPlacement', 'SlowOrchestration', 'SlowSignalGeneration', 'MarketDataPositionSyncFailing'],
    inject: async (ctx) => ctx.stack.redis.pause(),
    recover: async (ctx) => ctx.stack.redis.resume(),
  },
  {
    id: 'stream-silent',
    description: 'fake Alpaca keeps stream sockets open but sends nothing',
    touches: ['broker:stream'],
    expect: ['NoMarketData', 'MarketDataSubscriptionFailures'],
    mayAlsoFire: ['MarketDataWebSocketDisconnected', 'MarketDataReconnectStorm'],
    inject: (ctx) => ctx.broker.set({ wsSilent: true }).then(() => undefined),
    recover: (ctx) => ctx.broker.set({ wsSilent: false }).then(() => undefined),
  },
  {
    id: 'model-broken',
    description: 'the registry activates a model the service cannot load (unknown kind)',
    touches: ['registry'],
    expect: ['SignalServiceModelReloadFailing'],
    mayAlsoFire: [],
    async inject(ctx) {
      await rememberActive(ctx, 'model-broken');
      await withSignalsDb(ctx, async (c) => {
        await c.query('BEGIN');
        await c.query('UPDATE models SET active = false WHERE active');
        await c.query(`INSERT INTO models (name, version, kind, params, active) VALUES ('verify-broken', $1, 'neural_net_v0', '{"lookback": 0}', true)`, [Date.now() % 1_000_000_000]);
        await c.query('COMMIT');
      });
    },
    recover: (ctx) => restoreModel(ctx, 'model-broken'),
  },
  { ...proxyFault('postgres-blackhole', 'postgres', { kind: 'timeout' }, 'TCP proxy to Postgres holds every byte (network black hole)',
    ['ExecutionGatewayDatabaseDisconnected', 'SignalServiceDatabaseDisconnected', 'OrchestratorDatabaseDisconnected'],
    ['OrchestrationRunsFailing', 'OrderFailureRateHigh', 'SlowOrderPlacement', 'SlowOrchestration', 'MarketDataPositionSyncFailing']), touches: ['dep:postgres', 'registry'], excludes: BREAKS_ORDERS },
  { ...proxyFault('redis-reset', 'redis', { kind: 'reset' }, 'TCP proxy to Redis resets every connection',
    ['ExecutionGatewayRedisDisconnected', 'SignalServiceRedisDisconnected', 'MarketDataRedisDisconnected'],
    ['OrderFailureRateHigh', 'NoSignalsGenerated', 'OrchestrationRunsFailing', 'SlowOrderPlacement', 'SlowOrchestration', 'SlowSignalGeneration', 'MarketDataPositionSyncFailing']), excludes: BREAKS_ORDERS },

  // The broker's REST faults (each needs orders flowing), with link and registry faults beside them.
  {
    id: 'broker-5xx',
    description: 'fake Alpaca answers half of all REST calls with 500/503',
    touches: ['broker:rest', 'order-flow'],
    // Half, not all: an error share of 0.5 crosses the 0.2 threshold and stays far below a threshold made tenfold less
    // sensitive (0.92), where a total outage (share 1) would cross every threshold and prove none. Retries get most
    // orders through, so the stuck backlog stays small; broker-symbol-outage is the scenario for it.
    expect: ['AlpacaApiErrorRateHigh'],
    mayAlsoFire: ['OrdersStuckPendingSubmit', 'ExecutionGatewayAlpacaDisconnected', 'SlowOrderPlacement', 'SlowAlpacaRequests', 'SlowOrchestration', 'OrchestrationRunsFailing'],
    resetS: 90,
    inject: (ctx) => ctx.broker.set({ errorRate: 0.5 }).then(() => undefined),
    recover: (ctx) => ctx.broker.set({ errorRate: 0 }).then(() => undefined),
  },
  {
    id: 'broker-symbol-outage',
    description: 'fake Alpaca answers 503 to orders for one symbol the load does not trade, and the harness places a fixed batch of them',
    // The backlog is bounded (4x the alert threshold), unlike a whole-broker outage where it grows with the load: a
    // threshold raised tenfold never fires here, so this scenario is what proves the threshold itself matters.
    touches: ['broker:rest', 'order-flow'],
    expect: ['OrdersStuckPendingSubmit'],
    // The gateway retries every stuck order each second, and every retry is a broker 503.
    mayAlsoFire: ['AlpacaApiErrorRateHigh'],
    async inject(ctx) {
      const symbol = ctx.load?.untradedSymbols.at(-1);
      if (!symbol) throw new Error('broker-symbol-outage needs the baseline load running with a symbol it does not trade (SYMBOLS has one left over)');
      const n = stuckBatch();
      await ctx.broker.set({ errorSymbols: [symbol] });
      const stamp = Date.now().toString(36);
      const placed = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          ctx.call('execution-gateway', 'POST', '/orders', { client_order_id: `verify-stuck-${stamp}-${i}`, symbol, side: 'buy', qty: 1, type: 'market' }),
        ),
      );
      const pending = placed.filter((o) => (o as { status?: string }).status === 'pending_submit').length;
      if (pending !== n) throw new Error(`broker-symbol-outage: ${pending} of ${n} orders for ${symbol} were kept pending_submit; expected all of them`);
      ctx.log(`  [broker-symbol-outage] ${n} orders for ${symbol} pending_submit`);
    },
    recover: (ctx) => ctx.broker.set({ errorSymbols: [] }).then(() => undefined),
  },
  proxyFault('gateway-link-down', 'execution-gateway', { kind: 'down' }, 'orchestrator and market-data cannot connect to the gateway (link refused)',
    ['OrchestratorExecutionGatewayUnavailable', 'MarketDataPositionSyncFailing'], ['OrchestrationRunsFailing']),
  {
    id: 'model-none-active',
    description: 'the registry has no active model (deactivated)',
    touches: ['registry'],
    expect: ['SignalServiceModelNotLoaded'],
    // Signal requests fail while unloaded; once a model is back, the window still holds those failures.
    mayAlsoFire: ['OrchestrationRunsFailing', 'NoSignalsGenerated'],
    async inject(ctx) {
      await rememberActive(ctx, 'model-none-active');
      await withSignalsDb(ctx, (c) => c.query('UPDATE models SET active = false WHERE active'));
    },
    recover: (ctx) => restoreModel(ctx, 'model-none-active'),
  },
  {
    id: 'broker-rejects',
    description: 'fake Alpaca rejects half of all orders (403 insufficient buying power)',
    touches: ['broker:rest', 'order-flow'],
    // Half, for the reason broker-5xx fails half: a rejected share of 0.5 proves the 0.2 threshold, a share of 1 would not.
    expect: ['OrderRejectionRateHigh'],
    mayAlsoFire: [],
    inject: (ctx) => ctx.broker.set({ rejectRate: 0.5 }).then(() => undefined),
    recover: (ctx) => ctx.broker.set({ rejectRate: 0 }).then(() => undefined),
  },
  {
    id: 'broker-rate-limited',
    description: 'fake Alpaca answers half of all REST calls 429 "rate limit exceeded" with Retry-After: 1',
    touches: ['broker:rest', 'order-flow'],
    // Half, for the reason broker-5xx fails half: a 429 share of 0.5 proves AlpacaRateLimited's 0.2 threshold and stays
    // far below the tenfold less sensitive 0.92. The gateway retries every 429 after its Retry-After, so orders are
    // late (slow placements, a few left pending_submit) but none is rejected: OrderRejectionRateHigh must stay quiet,
    // and so must AlpacaApiErrorRateHigh and ExecutionGatewayAlpacaDisconnected (a 429 is an answer, not an outage).
    expect: ['AlpacaRateLimited'],
    mayAlsoFire: ['OrdersStuckPendingSubmit', 'SlowOrderPlacement', 'SlowOrchestration'],
    inject: (ctx) => ctx.broker.set({ rateLimit: { share: 0.5, retryAfterS: 1 } }).then(() => undefined),
    recover: (ctx) => ctx.broker.set({ rateLimit: { share: 0, retryAfterS: 1 } }).then(() => undefined),
  },
  proxyFault('signal-link-down', 'signal-service', { kind: 'down' }, 'orchestrator cannot connect to the signal service (link refused)',
    ['OrchestratorSignalServiceUnavailable', 'OrchestrationRunsFailing'], []),
  {
    id: 'broker-latency',
    description: 'fake Alpaca answers every REST call 1.5 s late',
    touches: ['broker:rest', 'order-flow'],
    expect: ['SlowAlpacaRequests', 'SlowOrderPlacement'],
    mayAlsoFire: ['SlowOrchestration', 'ExecutionGatewayAlpacaDisconnected', 'AlpacaApiErrorRateHigh', 'OrdersStuckPendingSubmit', 'OrderFailureRateHigh', 'OrchestrationRunsFailing'],
    inject: (ctx) => ctx.broker.set({ latencyMs: 1500 }).then(() => undefined),
    recover: (ctx) => ctx.broker.set({ latencyMs: 0 }).then(() => undefined),
  },
  {
    id: 'broker-refused',
    description: 'fake Alpaca refuses every connection (listener closed), REST and stream',
    touches: ['broker:rest', 'broker:stream'],
    excludes: BREAKS_ORDERS,
    expect: ['ExecutionGatewayAlpacaDisconnected'],
    mayAlsoFire: ['AlpacaApiErrorRateHigh', 'OrdersStuckPendingSubmit', 'OrderFailureRateHigh', 'SlowOrderPlacement', 'SlowAlpacaRequests', 'SlowOrchestration',
      'MarketDataWebSocketDisconnected', 'MarketDataReconnectStorm', 'NoMarketData', 'MarketDataSubscriptionFailures'],
    inject: (ctx) => ctx.broker.set({ refuseConnections: true }).then(() => undefined),
    recover: (ctx) => ctx.broker.set({ refuseConnections: false }).then(() => undefined),
  },
  {
    id: 'circuit-breaker-tripped',
    description: 'trip the gateway circuit breaker, then reset it',
    touches: ['gateway:circuit-breaker'],
    // Tripping writes the breaker state to Redis, which a Redis fault would refuse.
    excludes: [...BREAKS_ORDERS, 'dep:redis'],
    expect: ['CircuitBreakerTripped'],
    mayAlsoFire: [],
    inject: (ctx) => ctx.call('execution-gateway', 'POST', '/circuit-breaker/trip', { reason: 'verify-alerts fault' }).then(() => undefined),
    recover: (ctx) => ctx.call('execution-gateway', 'POST', '/circuit-breaker/reset', {}).then(() => undefined),
  },
  {
    id: 'order-flow-stopped',
    description: 'direct orders stop and orchestration runs keep completing without trading',
    touches: ['load:orders', 'load:runs'],
    // Runs must keep completing, and a database outage would rightly silence the alert.
    excludes: [...BREAKS_ORDERS, 'dep:postgres', 'dep:redis', 'registry', 'link:signal-service', 'link:execution-gateway', 'service:signal-service', 'service:execution-gateway', 'service:orchestrator'],
    expect: ['NoOrdersWhileMarketOpen'],
    mayAlsoFire: [],
    async inject(ctx) {
      if (!ctx.load) throw new Error('order-flow-stopped needs the baseline load running');
      ctx.load.pauseFlow('orders');
      ctx.load.pauseFlow('runs');
      const symbol = await idleSymbol(ctx);
      const loop = { stop: false, done: Promise.resolve() };
      loop.done = (async () => {
        while (!loop.stop) {
          await ctx.call('orchestrator', 'POST', '/runs', { symbols: [symbol], capital: 1 }).catch((err: Error) => ctx.log(`  [order-flow-stopped] run failed: ${err.message}`));
          await sleep(3000);
        }
      })();
      runLoops.set('order-flow-stopped', loop);
    },
    async recover(ctx) {
      const loop = runLoops.get('order-flow-stopped');
      if (loop) {
        loop.stop = true;
        await loop.done;
      }
      ctx.load?.resumeFlow('orders');
      ctx.load?.resumeFlow('runs');
    },
  },
  // A 3 s round trip also fails the orchestrator's 1 s health probe of the signal service: unavailable, rightly.
  { ...proxyFault('signal-link-latency', 'signal-service', { kind: 'latency', ms: 1500 }, 'link to the signal service adds 1.5 s each way',
    ['SlowOrchestration'], ['OrchestratorSignalServiceUnavailable', 'OrchestrationRunsFailing']), touches: ['link:signal-service', 'load:runs'] },
];
