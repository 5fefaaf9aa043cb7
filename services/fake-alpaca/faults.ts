// Injected broker faults: their shape and validation, and the REST middleware that applies latency, rate limits and errors.
import { setTimeout as sleep } from 'node:timers/promises';
import type Koa from 'koa';
import { z } from 'zod';
import type { FakeAlpacaMetrics, FaultLabel } from './metrics.ts';

/** A share (0..1) of REST requests answered 429 as Alpaca's rate limiter does, asking the client to wait retryAfterS. */
export interface RateLimit {
  share: number;
  retryAfterS: number;
}

export interface Faults {
  latencyMs: number;
  errorRate: number;
  rateLimit: RateLimit;
  /** Orders for these symbols are answered 503, as a partial broker outage (one routing shard down) would. */
  errorSymbols: string[];
  rejectRate: number;
  refuseConnections: boolean;
  wsDrop: boolean;
  /** Above 0: each stream connection is dropped this many ms after it authenticates (a feed that flaps right after auth). */
  wsDropAfterAuthMs: number;
  wsSilent: boolean;
  marketOpen: boolean;
}

export const NO_FAULTS: Readonly<Faults> = Object.freeze({
  latencyMs: 0,
  errorRate: 0,
  rateLimit: Object.freeze({ share: 0, retryAfterS: 1 }),
  errorSymbols: [],
  rejectRate: 0,
  refuseConnections: false,
  wsDrop: false,
  wsDropAfterAuthMs: 0,
  wsSilent: false,
  marketOpen: true,
});

/** A PUT /admin/faults body: every field optional, merged into the current faults. */
export const faultsPatchSchema = z
  .object({
    latencyMs: z.number().int().min(0).max(120_000),
    errorRate: z.number().min(0).max(1),
    // Alpaca's window is a minute, so a longer wait is never asked for.
    rateLimit: z.object({ share: z.number().min(0).max(1), retryAfterS: z.number().int().min(0).max(60).default(1) }).strict(),
    errorSymbols: z.array(z.string().trim().min(1, 'a symbol must not be empty').transform((v) => v.toUpperCase())).max(100),
    rejectRate: z.number().min(0).max(1),
    refuseConnections: z.boolean(),
    wsDrop: z.boolean(),
    wsDropAfterAuthMs: z.number().int().min(0).max(600_000),
    wsSilent: z.boolean(),
    marketOpen: z.boolean(),
  })
  .partial()
  .strict();

export function activeFaults(f: Faults): Record<FaultLabel, boolean> {
  return {
    latency: f.latencyMs > 0,
    error_rate: f.errorRate > 0,
    rate_limit: f.rateLimit.share > 0,
    error_symbols: f.errorSymbols.length > 0,
    reject_rate: f.rejectRate > 0,
    refuse_connections: f.refuseConnections,
    ws_drop: f.wsDrop,
    ws_drop_after_auth: f.wsDropAfterAuthMs > 0,
    ws_silent: f.wsSilent,
    market_closed: !f.marketOpen,
  };
}

export function publishFaults(f: Faults, metrics: FakeAlpacaMetrics): void {
  for (const [fault, on] of Object.entries(activeFaults(f))) metrics.faultActive.set({ fault }, on ? 1 : 0);
}

/** Alpaca's rate-limit answer (HTTP 429); the request is not looked at. */
export const RATE_LIMITED_BODY = Object.freeze({ code: 42910000, message: 'rate limit exceeded' });

/**
 * Delays every REST response by latencyMs, then answers a share rateLimit.share of them 429 with Retry-After, and
 * fails a share errorRate of the rest with 500 or 503, as an overloaded broker would. The delay aborts when the fake
 * shuts down, so no timer outlives it.
 */
export function faultMiddleware(faults: () => Faults, random: () => number, shutdown: AbortSignal): Koa.Middleware {
  return async (ctx, next) => {
    const { latencyMs, errorRate, rateLimit } = faults();
    if (latencyMs > 0) {
      try {
        await sleep(latencyMs, undefined, { signal: shutdown });
      } catch {
        ctx.status = 503;
        ctx.body = { code: 50300000, message: 'fake-alpaca is shutting down' };
        return;
      }
    }
    if (rateLimit.share > 0 && random() < rateLimit.share) {
      ctx.status = 429;
      ctx.set('Retry-After', String(rateLimit.retryAfterS));
      ctx.body = { ...RATE_LIMITED_BODY };
      return;
    }
    if (errorRate > 0 && random() < errorRate) {
      const unavailable = random() < 0.5;
      ctx.status = unavailable ? 503 : 500;
      ctx.body = unavailable
        ? { code: 50300000, message: 'service unavailable (injected fault errorRate)' }
        : { code: 50000000, message: 'internal server error (injected fault errorRate)' };
      return;
    }
    await next();
  };
}
