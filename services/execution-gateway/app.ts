// The execution gateway's Koa app: routes, dependency probes, and the background resubmit/sync/gauge loop it owns.
import type Koa from 'koa';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { requireAdmin } from '../kit/admin.ts';
import { notFound, unavailable } from '../kit/errors.ts';
import { isPostgresUnavailable, isRedisUnavailable } from '../kit/outages.ts';
import { withDb } from '../kit/pg.ts';
import { startProbes, type ProbeRunner } from '../kit/probes.ts';
import { pingRedis } from '../kit/redis.ts';
import { createService } from '../kit/service.ts';
import { limitParam, parseBody, parseParams, parseQuery, plainText } from '../kit/validate.ts';
import { worstCaseSubmitMs, type Broker } from './broker.ts';
import type { GatewayConfig } from './config.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { OrderOutcomes } from './outcomes.ts';
import { clientOrderIdSchema, createOrderService, type Clock, type OrderService } from './orders.ts';
import { computePnl, readPrices, setPnlGauges, setPositionGauges } from './pnl.ts';
import { readBreaker, resetBreaker, tripBreaker } from './risk.ts';
import type { OrderStore } from './store.ts';

export interface AppDeps {
  store: OrderStore;
  redis: Redis;
  broker: Broker;
  metrics: GatewayMetrics;
  /** The instance the store's onDecided reports to. */
  outcomes: OrderOutcomes;
  config: GatewayConfig;
  logger: Logger;
  clock?: Clock;
}

export interface GatewayApp {
  app: Koa;
  orders: OrderService;
  /** Runs every probe and one background tick now (startup, so gauges are right before the first scrape). */
  refreshNow(): Promise<void>;
  /** Stops the probes and the background loop, waiting for a tick in flight. */
  close(): Promise<void>;
}

const limitQuery = z.object({ limit: limitParam(50, 500) });
const orderParams = z.object({ client_order_id: clientOrderIdSchema });
const tripBody = z.object({ reason: z.string().trim().pipe(plainText({ max: 500 })) });

/** A repeating task that never overlaps itself and whose stop() waits for the run in flight. */
function every(ms: number, task: () => Promise<void>): { runNow(): Promise<void>; stop(): Promise<void> } {
  let inFlight: Promise<void> | undefined;
  const run = (): Promise<void> => {
    inFlight ??= task().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
  const timer = setInterval(() => void run(), ms);
  timer.unref();
  return {
    runNow: run,
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}

export function createApp(deps: AppDeps): GatewayApp {
  const { store, redis, broker, metrics, outcomes, config, logger } = deps;
  const clock = deps.clock ?? { now: () => performance.now() };
  const orders = createOrderService({
    store,
    redis,
    broker,
    metrics,
    outcomes,
    config,
    logger,
    clock,
    leaseMs: worstCaseSubmitMs(config.ALPACA_TIMEOUT_MS, config.ALPACA_RETRIES) + 1000,
  });

  const { app, router } = createService({
    name: 'execution-gateway',
    registry: metrics.registry,
    logger,
    readiness: { postgres: () => store.ping(), redis: () => pingRedis(redis) },
  });

  router.post('/orders', async (ctx) => {
    const result = await orders.place(ctx.request.body);
    ctx.status = result.status;
    ctx.body = result.order;
  });
  router.get('/orders', async (ctx) => {
    const { limit } = parseQuery(limitQuery, ctx.query);
    ctx.body = { orders: await withDb(() => store.listOrders(limit)) };
  });
  router.get('/orders/:client_order_id', async (ctx) => {
    const { client_order_id: id } = parseParams(orderParams, ctx.params);
    const order = await withDb(() => store.getOrder(id));
    if (!order) throw notFound(`no order with client_order_id ${id}`);
    ctx.body = order;
  });
  router.get('/positions', async (ctx) => {
    const positions = await withDb(() => store.listPositions());
    ctx.body = { positions: positions.filter((p) => p.qty !== 0) };
  });
  router.get('/exposure', async (ctx) => {
    ctx.body = { exposure: await withDb(() => store.exposure()) };
  });
  router.get('/pnl', async (ctx) => {
    const positions = await withDb(() => store.listPositions());
    let prices: Map<string, number>;
    try {
      prices = await readPrices(redis, positions.filter((p) => p.qty !== 0).map((p) => p.symbol));
    } catch (err) {
      if (!isRedisUnavailable(err)) throw err;
      throw unavailable('redis', `quotes for unrealized P&L unavailable: Redis unreachable (${(err as Error).message}); GET /positions still works`);
    }
    ctx.body = computePnl(positions, prices);
  });
  router.get('/circuit-breaker', async (ctx) => {
    ctx.body = await readBreaker(redis);
  });
  const admin = requireAdmin(config.ADMIN_TOKEN);
  router.post('/circuit-breaker/trip', admin, async (ctx) => {
    const { reason } = parseBody(tripBody, ctx.request.body);
    ctx.body = await tripBreaker(redis, reason);
    metrics.circuitBreakerStatus.set(1);
  });
  router.post('/circuit-breaker/reset', admin, async (ctx) => {
    ctx.body = await resetBreaker(redis);
    metrics.circuitBreakerStatus.set(0);
  });

  const probes: ProbeRunner = startProbes(
    [
      {
        gauge: metrics.databaseStatus,
        check: async () => metrics.ordersPendingSubmit.set(await store.pendingSubmitCount()),
      },
      {
        gauge: metrics.redisStatus,
        check: async () => metrics.circuitBreakerStatus.set((await readBreaker(redis)).tripped ? 1 : 0),
      },
      {
        gauge: metrics.alpacaStatus,
        check: async () => metrics.marketOpen.set((await broker.getClock()).is_open ? 1 : 0),
      },
    ],
    config.PROBE_INTERVAL_MS,
  );

  // Failures repeat every tick during an outage; log each distinct one once.
  let lastProblem = '';
  const note = (what: string, err: unknown): void => {
    const msg = `${what}: ${(err as Error).message}`;
    if (msg !== lastProblem) logger.warn({ err: msg }, `background ${what} failed`);
    lastProblem = msg;
  };

  const loop = every(config.RESUBMIT_INTERVAL_MS, async () => {
    await orders.resubmitPending().catch((err: unknown) => note('resubmit', err));
    await orders.syncOpen().catch((err: unknown) => note('order sync', err));
    try {
      const positions = await store.listPositions();
      setPositionGauges(metrics, positions);
      const open = positions.filter((p) => p.qty !== 0);
      setPnlGauges(metrics, computePnl(positions, await readPrices(redis, open.map((p) => p.symbol))));
    } catch (err) {
      // Without Redis the unrealized gauges keep their last values; the redis status gauge reports the outage.
      if (!isPostgresUnavailable(err) && !isRedisUnavailable(err)) note('gauge refresh', err);
    }
    metrics.backgroundRounds.inc();
  });

  return {
    app,
    orders,
    async refreshNow() {
      await Promise.all([probes.runOnce(), loop.runNow()]);
    },
    async close() {
      probes.stop();
      await loop.stop();
    },
  };
}
