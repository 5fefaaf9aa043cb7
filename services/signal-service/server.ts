// Wires the signal service from its config: Postgres (migrated), Redis, probes, model polling and the HTTP listener, all stopped by close().
import { createLogger } from '../kit/logger.ts';
import { createPool, pingDb } from '../kit/pg.ts';
import { LINK_ENV } from '../kit/platform.ts';
import { startProbes } from '../kit/probes.ts';
import { createRedis, pingRedis } from '../kit/redis.ts';
import { listen, type RunningServer } from '../kit/service.ts';
import { createApp } from './app.ts';
import type { SignalConfig } from './config.ts';
import { ModelLoader } from './loader.ts';
import { createSignalMetrics, type SignalMetrics } from './metrics.ts';
import { ModelRegistry } from './registry.ts';

export interface SignalService {
  url: string;
  /** Exposed so tests and the harness can read gauges without scraping. */
  metrics: SignalMetrics;
  close(): Promise<void>;
}

export async function startSignalService(config: SignalConfig): Promise<SignalService> {
  const logger = createLogger('signal-service', config.LOG_LEVEL);
  const metrics = createSignalMetrics();
  const pool = createPool(config.DATABASE_URL, logger);
  const redis = createRedis(config.REDIS_URL, logger);
  const closeClients = async (): Promise<void> => {
    redis.disconnect();
    await pool.end();
  };

  const registry = new ModelRegistry(pool);
  try {
    await registry.migrate();
  } catch (err) {
    await closeClients();
    throw new Error(`signal-service: cannot migrate the model registry at ${redactUrl(config.DATABASE_URL)} (${(err as Error).message}); is Postgres running and ${LINK_ENV.postgres} right?`);
  }

  const loader = new ModelLoader(registry, metrics, logger);
  await loader.reload('poll').catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'initial model load failed; will retry on the next poll'));
  const poller = loader.startPolling(config.MODEL_POLL_MS);
  const probes = startProbes(
    [
      { gauge: metrics.databaseStatus, check: () => pingDb(pool) },
      { gauge: metrics.redisStatus, check: () => pingRedis(redis) },
    ],
    config.PROBE_INTERVAL_MS,
  );
  await probes.runOnce();

  const { app } = createApp({ registry, loader, redis, metrics, logger, symbols: config.SYMBOLS, adminToken: config.ADMIN_TOKEN });
  let server: RunningServer;
  try {
    server = await listen(app, config.HOST, config.PORT);
  } catch (err) {
    poller.stop();
    probes.stop();
    await closeClients();
    throw err;
  }
  logger.info({ url: server.url }, 'signal-service listening');
  return {
    url: server.url,
    metrics,
    async close() {
      poller.stop();
      probes.stop();
      await server.close();
      await closeClients();
    },
  };
}

/** The URL without its password, for error messages. */
function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
