// Pre-trade risk checks: the Redis circuit breaker (fails closed when Redis is unreachable) and the per-symbol position limit.
import type { Redis } from 'ioredis';
import { HttpError, unavailable } from '../kit/errors.ts';
import { isRedisUnavailable } from '../kit/outages.ts';
import { LINK_ENV } from '../kit/platform.ts';
import type { OrderRequest } from './store.ts';

export const BREAKER_STATE_KEY = 'circuit_breaker:state';
export const BREAKER_REASON_KEY = 'circuit_breaker:reason';

export interface BreakerState {
  tripped: boolean;
  reason: string | null;
}

async function redisCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    // Any error leaves the breaker state unknown, so the order is refused either way; only an outage is a 503 naming Redis.
    if (!isRedisUnavailable(err)) throw err;
    throw unavailable('redis', `${what}: Redis unreachable (${(err as Error).message}); check the Redis at ${LINK_ENV.redis}`);
  }
}

export async function readBreaker(redis: Redis): Promise<BreakerState> {
  const [state, reason] = await redisCall('circuit breaker state unknown, orders are refused', () => redis.mget(BREAKER_STATE_KEY, BREAKER_REASON_KEY));
  const tripped = state === 'tripped';
  return { tripped, reason: tripped ? (reason ?? null) : null };
}

export async function tripBreaker(redis: Redis, reason: string): Promise<BreakerState> {
  await redisCall('cannot trip the circuit breaker', () => redis.multi().set(BREAKER_STATE_KEY, 'tripped').set(BREAKER_REASON_KEY, reason).exec());
  return { tripped: true, reason };
}

export async function resetBreaker(redis: Redis): Promise<BreakerState> {
  await redisCall('cannot reset the circuit breaker', () => redis.del(BREAKER_STATE_KEY, BREAKER_REASON_KEY));
  return { tripped: false, reason: null };
}

export async function assertBreakerClosed(redis: Redis): Promise<void> {
  const b = await readBreaker(redis);
  if (b.tripped) {
    throw new HttpError(422, 'circuit_breaker_tripped', `circuit breaker is tripped (${b.reason ?? 'no reason given'}); POST /circuit-breaker/reset to resume trading`);
  }
}

/**
 * Refuses an order that would take the symbol's exposure (position plus open orders) beyond maxQty either way.
 * An order that shrinks an exposure already over the limit is allowed: it reduces risk.
 */
export function checkPositionLimit(exposure: number, req: OrderRequest, maxQty: number): void {
  const projected = exposure + (req.side === 'buy' ? req.qty : -req.qty);
  if (Math.abs(projected) > maxQty && Math.abs(projected) > Math.abs(exposure)) {
    throw new HttpError(
      422,
      'position_limit',
      `order would take ${req.symbol} exposure to ${projected} shares, beyond the position limit of ${maxQty} (MAX_POSITION_QTY); current exposure incl. open orders is ${exposure}`,
      { symbol: req.symbol, exposure, projected, limit: maxQty },
    );
  }
}
