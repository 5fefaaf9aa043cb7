// Sizing: signals' target weights x capital / price -> whole-share targets -> order deltas against current positions.

export interface WeightedSignal {
  symbol: string;
  targetWeight: number;
}

export interface PlannedOrder {
  symbol: string;
  side: 'buy' | 'sell';
  qty: number;
  targetQty: number;
  currentQty: number;
  price: number;
}

export interface SkippedSymbol {
  symbol: string;
  reason: string;
}

export interface PlanInput {
  signals: WeightedSignal[];
  /** Signed share counts held now plus what open orders will still add (short < 0). */
  positions: ReadonlyMap<string, number>;
  prices: ReadonlyMap<string, number>;
  capital: number;
  /** Symbols this run manages: held symbols outside it are left alone, held ones inside without a signal are closed. */
  universe: readonly string[];
}

/**
 * Weights summing (in absolute value) above 1 are scaled down to 1, so a run never commits more than its capital;
 * targets round toward zero to whole shares for the same reason.
 */
export function planOrders(input: PlanInput): { orders: PlannedOrder[]; skipped: SkippedSymbol[] } {
  const universe = new Set(input.universe);
  const weights = new Map<string, number>();
  for (const s of input.signals) if (universe.has(s.symbol)) weights.set(s.symbol, (weights.get(s.symbol) ?? 0) + s.targetWeight);
  const gross = [...weights.values()].reduce((a, w) => a + Math.abs(w), 0);
  const scale = gross > 1 ? 1 / gross : 1;

  const symbols = new Set([...weights.keys(), ...[...input.positions.keys()].filter((s) => universe.has(s))]);
  const orders: PlannedOrder[] = [];
  const skipped: SkippedSymbol[] = [];
  for (const symbol of [...symbols].sort()) {
    const weight = (weights.get(symbol) ?? 0) * scale;
    const currentQty = input.positions.get(symbol) ?? 0;
    const price = input.prices.get(symbol);
    let targetQty = 0;
    if (weight !== 0) {
      if (price === undefined || !(price > 0)) {
        skipped.push({ symbol, reason: 'no price in Redis quote:<SYM> yet; is market-data subscribed to it?' });
        continue;
      }
      targetQty = Math.trunc((input.capital * weight) / price);
    }
    const delta = targetQty - currentQty;
    if (delta === 0) continue;
    orders.push({ symbol, side: delta > 0 ? 'buy' : 'sell', qty: Math.abs(delta), targetQty, currentQty, price: price ?? 0 });
  }
  orders.sort(bySideThenSymbol);
  return { orders, skipped };
}

/** The order a run submits in: sells first (they free buying power), then by symbol. */
export function bySideThenSymbol(a: { side: string; symbol: string }, b: { side: string; symbol: string }): number {
  return a.side === b.side ? a.symbol.localeCompare(b.symbol) : a.side === 'sell' ? -1 : 1;
}
