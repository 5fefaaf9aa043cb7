// Starts one execution gateway from a config: Postgres (migrated), Redis, broker client, app, HTTP listener.
import { createLogger } from '../kit/logger.ts';
import { createPool } from '../kit/pg.ts';
import { LINK_ENV } from '../kit/platform.ts';
import { createRedis, redisReady } from '../kit/redis.ts';
import { listen } from '../kit/service.ts';
import { createApp } from './app.ts';
import { createAlpacaBroker } from './broker.ts';
import type { GatewayConfig } from './config.ts';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
import type { OrderService } from './orders.ts';
import { orderOutcomes } from './outcomes.ts';
import { OrderStore } from './store.ts';

export interface RunningGateway {
  url: string;
  /** In-process access for tests that drive many orders without HTTP overhead. */
  orders: OrderService;
  metrics: GatewayMetrics;
  close(): Promise<void>;
}

function describeDb(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}${u.pathname}`;
}

export async function startExecutionGateway(config: GatewayConfig): Promise<RunningGateway> {
  const logger = createLogger('execution-gateway', config.LOG_LEVEL);
  const pool = createPool(config.DATABASE_URL, logger);
  const redis = createRedis(config.REDIS_URL, logger);
  const release = async (): Promise<void> => {
    redis.disconnect();
    await pool.end();
  };
  try {
    const metrics = createGatewayMetrics(config.SYMBOLS);
    const outcomes = orderOutcomes(metrics, config.SYMBOLS);
    const store = new OrderStore(pool, { onDecided: (order) => outcomes.decided(order) });
    try {
      await store.migrate();
    } catch (err) {
      throw new Error(`cannot prepare the orders schema in Postgres at ${describeDb(config.DATABASE_URL)} (${(err as Error).message}); is it running and is ${LINK_ENV.postgres} right?`);
    }
    // Redis may be down at startup: the gateway still starts and refuses orders (503) until it is back.
    await redisReady(redis, 2000).catch((err: Error) => logger.warn({ err: err.message }, 'redis not ready at startup; orders refused until it is'));
    const broker = createAlpacaBroker({
      baseUrl: config.ALPACA_BASE_URL,
      keyId: config.ALPACA_KEY_ID,
      secretKey: config.ALPACA_SECRET_KEY,
      timeoutMs: config.ALPACA_TIMEOUT_MS,
      retries: config.ALPACA_RETRIES,
      metrics,
      logger,
    });
    const gateway = createApp({ store, redis, broker, metrics, outcomes, config, logger });
    await gateway.refreshNow();
    const server = await listen(gateway.app, config.HOST, config.PORT).catch(async (err: unknown) => {
      await gateway.close();
      throw err;
    });
    logger.info({ url: server.url, dryRun: config.DRY_RUN }, 'execution-gateway listening');
    return {
      url: server.url,
      orders: gateway.orders,
      metrics,
      async close() {
        await server.close();
        await gateway.close();
        await release();
      },
    };
  } catch (err) {
    await release().catch(() => undefined);
    throw err;
  }
}
