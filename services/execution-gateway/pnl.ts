// Positions marked to the Redis quote (`quote:<SYM>` price): unrealized and total P&L, and the position and P&L gauges.
import type { Redis } from 'ioredis';
import { boundedLabel } from '../kit/labels.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { Position } from './store.ts';

export interface SymbolPnl {
  symbol: string;
  qty: number;
  avg_cost: number;
  /** Latest quote price, or null when market-data has not published one. */
  price: number | null;
  realized: number;
  unrealized: number;
}

export interface PnlReport {
  realized: number;
  unrealized: number;
  total: number;
  by_symbol: SymbolPnl[];
}

const cents = (x: number): number => Math.round(x * 1e4) / 1e4;

/** Latest prices for the given symbols; symbols without a usable quote are absent. Throws if Redis is unreachable. */
export async function readPrices(redis: Redis, symbols: readonly string[]): Promise<Map<string, number>> {
  const prices = new Map<string, number>();
  if (symbols.length === 0) return prices;
  const pipe = redis.pipeline();
  for (const s of symbols) pipe.hget(`quote:${s}`, 'price');
  const results = (await pipe.exec()) ?? [];
  results.forEach(([err, value], i) => {
    if (err) throw err;
    const price = Number(value);
    if (value !== null && Number.isFinite(price) && price > 0) prices.set(symbols[i]!, price);
  });
  return prices;
}

/** Unrealized P&L of a position without a quote is 0: unknown is not a loss. */
export function computePnl(positions: readonly Position[], prices: ReadonlyMap<string, number>): PnlReport {
  const by_symbol = positions.map((p): SymbolPnl => {
    const price = prices.get(p.symbol) ?? null;
    const unrealized = price === null || p.qty === 0 ? 0 : cents(p.qty * (price - p.avg_cost));
    return { symbol: p.symbol, qty: p.qty, avg_cost: p.avg_cost, price, realized: cents(p.realized_pnl), unrealized };
  });
  const realized = cents(by_symbol.reduce((a, s) => a + s.realized, 0));
  const unrealized = cents(by_symbol.reduce((a, s) => a + s.unrealized, 0));
  return { realized, unrealized, total: cents(realized + unrealized), by_symbol };
}

function setBySymbol(gauge: GatewayMetrics['positionsCurrent'], metrics: GatewayMetrics, values: Iterable<[string, number]>): void {
  const universe = new Set(metrics.symbolLabels);
  const sums = new Map(metrics.symbolLabels.map((s) => [s, 0]));
  for (const [symbol, v] of values) {
    const label = boundedLabel(symbol, universe);
    sums.set(label, (sums.get(label) ?? 0) + v);
  }
  for (const [symbol, v] of sums) gauge.set({ symbol }, cents(v));
}

export function setPositionGauges(metrics: GatewayMetrics, positions: readonly Position[]): void {
  setBySymbol(metrics.positionsCurrent, metrics, positions.map((p) => [p.symbol, p.qty]));
  setBySymbol(metrics.pnlRealized, metrics, positions.map((p) => [p.symbol, p.realized_pnl]));
}

export function setPnlGauges(metrics: GatewayMetrics, report: PnlReport): void {
  setBySymbol(metrics.pnlUnrealized, metrics, report.by_symbol.map((s) => [s.symbol, s.unrealized]));
  metrics.pnlTotal.set(report.total);
}
