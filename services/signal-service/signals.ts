// Signal generation: score each symbol's Redis price history with the loaded model, rank, and assign long/short weights.
import type { Redis } from '../kit/redis.ts';
import { scorePrices, type LoadedModel } from './models.ts';

/** Redis list of mid prices, newest first, written by market-data. */
export const priceKey = (symbol: string): string => `prices:${symbol}`;
/** Redis key holding the most recent signal set as JSON. */
export const LATEST_SIGNALS_KEY = 'signals:latest';

/** Gross exposure per side: longs sum to +0.5 and shorts to -0.5, so the book is dollar-neutral at gross 1. */
export const SIDE_WEIGHT = 0.5;

export interface Signal {
  symbol: string;
  score: number;
  target_weight: number;
}

export interface SignalSet {
  model_name: string;
  model_version: number;
  generated_at: string;
  signals: Signal[];
  /** Symbols left out because they lack `lookback` usable prices. */
  skipped: string[];
}

/**
 * Ranks by score (highest first, ties by symbol) and gives the top n an equal long weight and the bottom n an equal short
 * weight, where n = min(topN, floor(count / 2)) so no symbol is both; everything in between gets weight 0.
 */
export function rankSignals(scores: ReadonlyArray<{ symbol: string; score: number }>, topN: number): Signal[] {
  const ranked = [...scores].sort((a, b) => b.score - a.score || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  const n = Math.min(topN, Math.floor(ranked.length / 2));
  return ranked.map(({ symbol, score }, i) => {
    let target_weight = 0;
    if (i < n) target_weight = SIDE_WEIGHT / n;
    else if (i >= ranked.length - n) target_weight = -SIDE_WEIGHT / n;
    return { symbol, score, target_weight };
  });
}

/** Reads the `lookback` newest prices of every symbol in one round trip. */
export async function readPriceHistory(redis: Redis, symbols: readonly string[], lookback: number): Promise<Map<string, number[]>> {
  const pipeline = redis.pipeline();
  for (const symbol of symbols) pipeline.lrange(priceKey(symbol), 0, lookback - 1);
  const replies = (await pipeline.exec()) ?? [];
  const history = new Map<string, number[]>();
  symbols.forEach((symbol, i) => {
    const [err, values] = replies[i] ?? [new Error('no reply'), null];
    if (err) throw err;
    history.set(symbol, (values as string[]).map(Number));
  });
  return history;
}

export interface GenerateInput {
  redis: Redis;
  model: LoadedModel;
  symbols: readonly string[];
  topN: number;
  now: Date;
}

/** Generates a signal set from Redis price history and caches it at LATEST_SIGNALS_KEY. */
export async function generateSignals(input: GenerateInput): Promise<SignalSet> {
  const { model } = input;
  const history = await readPriceHistory(input.redis, input.symbols, model.params.lookback);
  const scores: Array<{ symbol: string; score: number }> = [];
  const skipped: string[] = [];
  for (const symbol of input.symbols) {
    const score = scorePrices(model.kind, history.get(symbol) ?? [], model.params.lookback);
    if (score === undefined) skipped.push(symbol);
    else scores.push({ symbol, score });
  }
  const set: SignalSet = {
    model_name: model.name,
    model_version: model.version,
    generated_at: input.now.toISOString(),
    signals: rankSignals(scores, input.topN),
    skipped,
  };
  await input.redis.set(LATEST_SIGNALS_KEY, JSON.stringify(set));
  return set;
}
