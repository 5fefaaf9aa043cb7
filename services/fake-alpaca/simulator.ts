// Seeded random-walk market: the same seed gives the same prices tick for tick, feeding REST quotes and the stream.

export interface Quote {
  symbol: string;
  bidPrice: number;
  bidSize: number;
  askPrice: number;
  askSize: number;
  /** Tape A (NYSE), B (NYSE Arca/ETFs) or C (Nasdaq), as Alpaca reports it. */
  tape: string;
  timestamp: Date;
}

export interface Trade {
  symbol: string;
  id: number;
  price: number;
  size: number;
  tape: string;
  timestamp: Date;
}

export interface Tick {
  seq: number;
  quotes: Quote[];
  trades: Trade[];
}

/** Rough real-world levels so simulated prices look plausible; other symbols start from a seeded price. */
const START_PRICES: Record<string, number> = {
  AAPL: 190, MSFT: 410, GOOGL: 150, AMZN: 180, NVDA: 120, META: 500, TSLA: 240, JPM: 200, V: 280, SPY: 550,
};
const TAPES: Record<string, string> = { JPM: 'A', V: 'A', SPY: 'B' };
/** Per-tick volatility of the log price; at 200 ms ticks this is a lively but not absurd intraday move. */
const SIGMA = 0.0005;

/** mulberry32: tiny, fast and good enough for a simulation; deterministic for a 32-bit seed. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cents = (n: number): number => Math.round(n * 100) / 100;

export class PriceSimulator {
  private readonly random: () => number;
  private readonly mids = new Map<string, number>();
  private readonly latestQuotes = new Map<string, Quote>();
  private readonly latestTrades = new Map<string, Trade>();
  private readonly openPrices = new Map<string, number>();
  private seq = 0;
  private tradeId = 0;
  readonly symbols: readonly string[];

  constructor(symbols: readonly string[], seed: number, now: Date = new Date()) {
    this.symbols = [...symbols];
    this.random = createRandom(seed);
    for (const symbol of this.symbols) {
      const start = START_PRICES[symbol] ?? 20 + this.random() * 280;
      this.mids.set(symbol, start);
    }
    for (const trade of this.step(now).trades) this.openPrices.set(trade.symbol, trade.price);
  }

  /** First trade price of the simulated session, standing in for the previous close. */
  openPrice(symbol: string): number | undefined {
    return this.openPrices.get(symbol);
  }

  has(symbol: string): boolean {
    return this.mids.has(symbol);
  }

  quote(symbol: string): Quote | undefined {
    return this.latestQuotes.get(symbol);
  }

  trade(symbol: string): Trade | undefined {
    return this.latestTrades.get(symbol);
  }

  get tickCount(): number {
    return this.seq;
  }

  /** Advances every symbol one step and returns the new quote and trade of each. */
  step(now: Date = new Date()): Tick {
    const quotes: Quote[] = [];
    const trades: Trade[] = [];
    for (const symbol of this.symbols) {
      const mid = (this.mids.get(symbol) ?? 100) * Math.exp(SIGMA * this.gaussian());
      this.mids.set(symbol, mid);
      // Spread of 1-5 basis points, at least one cent, so bid < ask always holds after rounding.
      const halfSpread = Math.max(0.01, mid * (0.0001 + this.random() * 0.0004)) / 2;
      const bidPrice = cents(mid - halfSpread);
      const askPrice = Math.max(cents(mid + halfSpread), cents(bidPrice + 0.01));
      const tape = TAPES[symbol] ?? 'C';
      const quote: Quote = {
        symbol,
        bidPrice,
        askPrice,
        bidSize: 1 + Math.floor(this.random() * 9),
        askSize: 1 + Math.floor(this.random() * 9),
        tape,
        timestamp: now,
      };
      // Trades print at the bid or the ask, as aggressive orders do.
      const trade: Trade = {
        symbol,
        id: ++this.tradeId,
        price: this.random() < 0.5 ? bidPrice : askPrice,
        size: 1 + Math.floor(this.random() * 200),
        tape,
        timestamp: now,
      };
      this.latestQuotes.set(symbol, quote);
      this.latestTrades.set(symbol, trade);
      quotes.push(quote);
      trades.push(trade);
    }
    this.seq += 1;
    return { seq: this.seq, quotes, trades };
  }

  /** Standard normal draw (Box-Muller) from the seeded source. */
  private gaussian(): number {
    const u = 1 - this.random();
    const v = this.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
