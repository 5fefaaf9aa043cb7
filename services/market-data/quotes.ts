// Latest quotes into Redis: hash quote:<SYM>, mid-price list prices:<SYM> (for the signal service), pub/sub channel "quotes".
import type { Logger } from 'pino';
import type { Redis } from '../kit/redis.ts';
import { withRedis } from '../kit/redis.ts';
import type { StreamQuote, StreamTrade } from './stream.ts';

export const PRICE_HISTORY_LENGTH = 500;
export const QUOTES_CHANNEL = 'quotes';

export interface Quote {
  symbol: string;
  bid: number;
  ask: number;
  /** Mid price, or the one side present when the other is 0. */
  price: number;
  ts: string;
  /** Last trade price, when a trade has been seen. */
  last?: number;
}

export function midPrice(bid: number, ask: number): number {
  if (bid > 0 && ask > 0) return (bid + ask) / 2;
  return bid > 0 ? bid : ask;
}

export class QuoteStore {
  private lastWarned = 0;

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  /** Writes one quote; a Redis failure is logged (rate-limited) and the quote dropped, never thrown into the stream. */
  async write(q: StreamQuote): Promise<void> {
    const price = midPrice(q.bid, q.ask);
    if (!(price > 0)) return;
    const quote: Quote = { symbol: q.symbol, bid: q.bid, ask: q.ask, price, ts: q.ts };
    try {
      await this.redis
        .multi()
        .hset(`quote:${q.symbol}`, { bid: q.bid, ask: q.ask, price, ts: q.ts })
        .lpush(`prices:${q.symbol}`, price)
        .ltrim(`prices:${q.symbol}`, 0, PRICE_HISTORY_LENGTH - 1)
        .publish(QUOTES_CHANNEL, JSON.stringify(quote))
        .exec();
    } catch (err) {
      this.warn(err);
    }
  }

  async writeTrade(t: StreamTrade): Promise<void> {
    try {
      await this.redis.hset(`quote:${t.symbol}`, { last: t.price });
    } catch (err) {
      this.warn(err);
    }
  }

  /** Latest quote, or undefined when none was written; a Redis failure is a 503 naming Redis. */
  async latest(symbol: string): Promise<Quote | undefined> {
    const h = await withRedis(() => this.redis.hgetall(`quote:${symbol}`));
    if (h.bid === undefined || h.ask === undefined || h.price === undefined) return undefined;
    return {
      symbol,
      bid: Number(h.bid),
      ask: Number(h.ask),
      price: Number(h.price),
      ts: h.ts ?? '',
      ...(h.last === undefined ? {} : { last: Number(h.last) }),
    };
  }

  private warn(err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarned < 5000) return;
    this.lastWarned = now;
    this.logger.warn({ err: (err as Error).message }, 'redis write failed; dropping market data until Redis is back');
  }
}
