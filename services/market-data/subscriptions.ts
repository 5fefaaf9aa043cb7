// Subscription requests (REST and position sync): validation against the universe, stream confirmation, metrics.
import { z } from 'zod';
import { badRequest, notFound } from '../kit/errors.ts';
import { parseBody, parseParams, tickerSchema } from '../kit/validate.ts';
import type { MarketDataMetrics } from './metrics.ts';
import type { MarketStream } from './stream.ts';

export interface SubscriptionResult {
  subscribed: string[];
  /** True when the stream confirmed the change; false when it is down (the change applies on reconnect) or slow. */
  confirmed: boolean;
}

const symbolsBody = z.object({
  symbols: z.array(tickerSchema).min(1).max(100),
});

const symbolParams = z.object({ symbol: tickerSchema });

export class Subscriptions {
  private readonly universe: ReadonlySet<string>;

  constructor(
    private readonly stream: MarketStream,
    universe: string[],
    private readonly metrics: Pick<MarketDataMetrics, 'subscriptionRequests' | 'subscriptionDuration'>,
    private readonly timeoutMs: number,
  ) {
    this.universe = new Set(universe);
  }

  list(): { subscribed: string[]; confirmed: string[]; stream: string } {
    return { subscribed: this.stream.symbols, confirmed: this.stream.confirmed, stream: this.stream.state };
  }

  /** POST /subscriptions body -> subscribe; a bad body or a symbol outside the universe is a 400. */
  async addFromBody(body: unknown): Promise<SubscriptionResult> {
    const symbols = this.countInvalid(() => {
      const parsed = parseBody(symbolsBody, body).symbols;
      this.requireUniverse(parsed);
      return [...new Set(parsed)];
    });
    return this.add(symbols);
  }

  async add(symbols: string[]): Promise<SubscriptionResult> {
    return this.timed(() => this.stream.subscribe(symbols, this.timeoutMs));
  }

  /** DELETE /subscriptions/:symbol params -> unsubscribe; a malformed symbol or one outside the universe is a 400, one not subscribed a 404. */
  async remove(params: unknown): Promise<SubscriptionResult> {
    const symbol = this.countInvalid(() => {
      const s = parseParams(symbolParams, params).symbol;
      this.requireUniverse([s]);
      if (!this.stream.symbols.includes(s)) throw notFound(`${s} is not subscribed; GET /subscriptions lists what is`);
      return s;
    });
    return this.timed(() => this.stream.unsubscribe([symbol], this.timeoutMs));
  }

  private requireUniverse(symbols: string[]): void {
    const outside = symbols.filter((s) => !this.universe.has(s));
    if (outside.length > 0) {
      throw badRequest(`symbols not in the configured universe: ${outside.join(', ')}; add them to SYMBOLS to trade them`, { outside });
    }
  }

  private countInvalid<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      this.metrics.subscriptionRequests.inc({ status: 'invalid' });
      throw err;
    }
  }

  private async timed(fn: () => Promise<boolean>): Promise<SubscriptionResult> {
    const end = this.metrics.subscriptionDuration.startTimer();
    const confirmed = await fn();
    end();
    this.metrics.subscriptionRequests.inc({ status: confirmed ? 'success' : 'failure' });
    return { subscribed: this.stream.symbols, confirmed };
  }
}
