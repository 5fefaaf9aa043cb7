// Position sync: polls the execution gateway's GET /positions and subscribes every held symbol of the universe.
import type { Logger } from 'pino';
import { z } from 'zod';
import { LINK_ENV } from '../kit/platform.ts';
import type { MarketDataMetrics } from './metrics.ts';
import type { Subscriptions } from './subscriptions.ts';

const position = z.object({ symbol: z.string(), qty: z.coerce.number() }).passthrough();
/** The gateway answers {positions:[...]}; a bare array is accepted too. */
export const positionsResponse = z.union([z.array(position), z.object({ positions: z.array(position) }).transform((b) => b.positions)]);

export interface PositionSyncOptions {
  gatewayUrl: string;
  intervalMs: number;
  timeoutMs: number;
  universe: string[];
  subscriptions: Subscriptions;
  metrics: Pick<MarketDataMetrics, 'positionSyncs'>;
  logger: Logger;
}

export interface PositionSync {
  /** One sync now; resolves with the held symbols, or undefined when the gateway could not be read. */
  syncOnce(): Promise<string[] | undefined>;
  stop(): void;
}

export function startPositionSync(opts: PositionSyncOptions): PositionSync {
  const universe = new Set(opts.universe);
  const url = `${opts.gatewayUrl.replace(/\/$/, '')}/positions`;
  let running = false;
  let lastWarned = 0;

  const syncOnce = async (): Promise<string[] | undefined> => {
    let held: string[];
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs) });
      if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
      const parsed = positionsResponse.safeParse(await res.json());
      if (!parsed.success) throw new Error(`GET ${url} returned an unexpected body: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      held = [...new Set(parsed.data.filter((p) => p.qty !== 0).map((p) => p.symbol.toUpperCase()))].sort();
    } catch (err) {
      opts.metrics.positionSyncs.inc({ status: 'failure' });
      const now = Date.now();
      if (now - lastWarned > 5000) {
        lastWarned = now;
        opts.logger.warn({ err: (err as Error).message, url }, `position sync failed; is the execution gateway up at ${LINK_ENV['execution-gateway']}?`);
      }
      return undefined;
    }
    opts.metrics.positionSyncs.inc({ status: 'success' });
    const current = new Set(opts.subscriptions.list().subscribed);
    const missing = held.filter((s) => universe.has(s) && !current.has(s));
    if (missing.length > 0) await opts.subscriptions.add(missing);
    return held;
  };

  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void syncOnce().finally(() => {
      running = false;
    });
  }, opts.intervalMs);
  timer.unref();
  return { syncOnce, stop: () => clearInterval(timer) };
}
