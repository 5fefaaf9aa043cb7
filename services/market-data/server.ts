// Starts market-data: Redis, the stream client, quote writer, subscriptions, probes, position sync and HTTP.
import { createLogger } from '../kit/logger.ts';
import { startProbes } from '../kit/probes.ts';
import { createRedis, pingRedis, redisReady } from '../kit/redis.ts';
import { listen, type RunningServer } from '../kit/service.ts';
import { createApp } from './app.ts';
import type { MarketDataConfig } from './config.ts';
import { createMarketDataMetrics } from './metrics.ts';
import { startPositionSync } from './positions.ts';
import { QuoteStore } from './quotes.ts';
import { MarketStream } from './stream.ts';
import { Subscriptions } from './subscriptions.ts';

export async function startMarketData(config: MarketDataConfig): Promise<{ url: string; close(): Promise<void> }> {
  const logger = createLogger('market-data', config.logLevel);
  const metrics = createMarketDataMetrics();
  const redis = createRedis(config.redisUrl, logger);
  const quotes = new QuoteStore(redis, logger);
  const stream = new MarketStream({
    url: config.dataWsUrl,
    keyId: config.keyId,
    secretKey: config.secretKey,
    staleAfterMs: config.staleAfterMs,
    healthyAfterMs: config.streamHealthyAfterMs,
    logger,
    metrics,
    onQuote: (q) => void quotes.write(q),
    onTrade: (t) => void quotes.writeTrade(t),
  });
  const subscriptions = new Subscriptions(stream, config.symbols, metrics, config.subscriptionTimeoutMs);
  // The initial set is applied by the first authenticated connection; no request is counted for it.
  void stream.subscribe(config.initialSubscriptions, config.subscriptionTimeoutMs);
  const probes = startProbes([{ gauge: metrics.redisConnectionStatus, check: () => pingRedis(redis) }], config.probeIntervalMs);
  const sync = config.gatewayUrl
    ? startPositionSync({
        gatewayUrl: config.gatewayUrl,
        intervalMs: config.positionSyncMs,
        // Bounded so a hung gateway cannot stall syncs for long, yet not so tight that a busy one counts as down.
        timeoutMs: Math.min(Math.max(config.positionSyncMs, 1000), 3000),
        universe: config.symbols,
        subscriptions,
        metrics,
        logger,
      })
    : undefined;
  const app = createApp({ registry: metrics.registry, logger, redis, stream, subscriptions, quotes });
  // The first scrape must see the real Redis state, not the gauge's initial 0 (a false "disconnected" after a restart).
  await redisReady(redis, 5000).catch(() => undefined);
  await probes.runOnce();
  let server: RunningServer;
  try {
    server = await listen(app, config.host, config.port);
  } catch (err) {
    sync?.stop();
    probes.stop();
    redis.disconnect();
    throw err;
  }
  stream.start();
  return {
    url: server.url,
    async close() {
      sync?.stop();
      probes.stop();
      stream.stop();
      await server.close();
      redis.disconnect();
    },
  };
}
