// Starts the orchestrator: Postgres pool, Redis (prices), clients, probes, the runner (and its schedule) and HTTP.
import { createLogger } from '../kit/logger.ts';
import { createPool, pingDb } from '../kit/pg.ts';
import { startProbes } from '../kit/probes.ts';
import { createRedis } from '../kit/redis.ts';
import { listen, type RunningServer } from '../kit/service.ts';
import { createApp } from './app.ts';
import { GatewayClient, PriceReader, SignalClient } from './clients.ts';
import type { OrchestratorConfig } from './config.ts';
import { createOrchestratorMetrics } from './metrics.ts';
import { Runner } from './runs.ts';
import { RunStore } from './store.ts';

export async function startOrchestrator(config: OrchestratorConfig): Promise<{ url: string; close(): Promise<void> }> {
  const logger = createLogger('orchestrator', config.logLevel);
  const metrics = createOrchestratorMetrics();
  const pool = createPool(config.databaseUrl, logger);
  const redis = createRedis(config.redisUrl, logger);
  const store = new RunStore(pool);
  const signals = new SignalClient(config.signalServiceUrl, config.requestTimeoutMs);
  const gateway = new GatewayClient(config.gatewayUrl, config.requestTimeoutMs);
  const runner = new Runner({ store, signals, gateway, prices: new PriceReader(redis), metrics, logger, universe: config.symbols, capital: config.capital });
  // Probe timeouts come from the probe runner; the clients' own timeout only bounds a hung request.
  const probes = startProbes(
    [
      { gauge: metrics.dbStatus, check: () => pingDb(pool) },
      { gauge: metrics.signalServiceAvailable, check: () => signals.health() },
      { gauge: metrics.gatewayAvailable, check: () => gateway.health() },
    ],
    config.probeIntervalMs,
  );
  // Postgres may be down at startup; the service still starts (503s) and creates the schema once it is back.
  await store.ensureSchema().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'could not create the orchestrator schema yet; will retry on first use'));
  let server: RunningServer;
  try {
    server = await listen(createApp({ registry: metrics.registry, logger, pool, redis, store, runner, universe: config.symbols }), config.host, config.port);
  } catch (err) {
    probes.stop();
    redis.disconnect();
    await pool.end();
    throw err;
  }
  await probes.runOnce();
  runner.startSchedule(config.runIntervalMs);
  return {
    url: server.url,
    async close() {
      probes.stop();
      await runner.stop();
      await server.close();
      redis.disconnect();
      await pool.end();
    },
  };
}
