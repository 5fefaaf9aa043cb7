// Redis client that fails fast while disconnected (no offline queue), so an outage is a 503, not a hang.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { HttpError, unavailable } from './errors.ts';
import { isRedisUnavailable } from './outages.ts';

export { Redis };

export function createRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    commandTimeout: 1500,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    lazyConnect: false,
  });
  let lastLogged = 0;
  redis.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastLogged > 5000) {
      lastLogged = now;
      logger.warn({ err: err.message }, 'redis error');
    }
  });
  return redis;
}

/** Resolves once the client is connected, or rejects after timeoutMs. */
export function redisReady(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`redis not ready after ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}

/** Runs fn and turns Redis being unreachable or unable to serve into a 503 naming it; reply errors of the command itself (WRONGTYPE, ...) pass through. */
export async function withRedis<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof HttpError || !isRedisUnavailable(err)) throw err;
    throw unavailable('redis', `redis unavailable: ${(err as Error).message}`);
  }
}

export async function pingRedis(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') throw new Error(`redis ${redis.status}`);
  await redis.ping();
}
