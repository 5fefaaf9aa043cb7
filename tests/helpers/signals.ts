// Test fixture: price history and quotes in Redis, and a signal service with one active momentum model over them.
import type { Redis } from 'ioredis';
import { loadSignalConfig } from '../../services/signal-service/config.ts';
import { startSignalService, type SignalService } from '../../services/signal-service/server.ts';

/** Oldest..newest prices per symbol; the newest is also written as the quote orchestrator sizing reads. */
export type PriceHistory = Record<string, number[]>;

export async function seedPrices(redis: Redis, history: PriceHistory): Promise<void> {
  for (const [symbol, prices] of Object.entries(history)) {
    for (const p of prices) await redis.lpush(`prices:${symbol}`, p);
    await redis.hset(`quote:${symbol}`, { bid: prices.at(-1)! - 0.5, ask: prices.at(-1)! + 0.5, price: prices.at(-1)!, ts: new Date().toISOString() });
  }
}

const post = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** A signal service on its own database with a momentum model (lookback 3, the top `topN` symbols) active. */
export async function startMomentumSignals(env: Record<string, string>, topN = 1): Promise<SignalService> {
  const signals = await startSignalService(loadSignalConfig({ MODEL_POLL_MS: '200', ...env }));
  try {
    const created = await fetch(`${signals.url}/models`, post({ name: 'momentum-test', version: 1, kind: 'momentum', params: { lookback: 3, topN } }));
    const model = ((await created.json()) as { model: { id: number } }).model;
    const activated = await fetch(`${signals.url}/models/${model.id}/activate`, post({}));
    if (activated.status !== 200) throw new Error(`activating the test model failed: ${activated.status} ${await activated.text()}`);
    return signals;
  } catch (err) {
    await signals.close();
    throw err;
  }
}
