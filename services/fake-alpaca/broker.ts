// The simulated brokerage account: cash, orders and positions, filled against the price simulator's quotes.
import { randomUUID } from 'node:crypto';
import type { PriceSimulator } from './simulator.ts';

export type OrderSide = 'buy' | 'sell';
export type OrderType = 'market' | 'limit';
export type TimeInForce = 'day' | 'gtc' | 'ioc' | 'fok';
export type OrderStatus = 'accepted' | 'new' | 'filled' | 'canceled';

export interface OrderRequest {
  symbol: string;
  qty: number;
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  limitPrice?: number;
  clientOrderId?: string;
}

export interface Order {
  id: string;
  clientOrderId: string;
  symbol: string;
  qty: number;
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  limitPrice?: number;
  status: OrderStatus;
  filledQty: number;
  filledAvgPrice?: number;
  createdAt: Date;
  updatedAt: Date;
  filledAt?: Date;
  canceledAt?: Date;
}

export interface Position {
  symbol: string;
  /** Signed: negative is a short position. */
  qty: number;
  avgEntryPrice: number;
}

/** A broker-side refusal with Alpaca's HTTP status and error code. */
export class BrokerError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'BrokerError';
  }
}

export const insufficientBuyingPower = (): BrokerError => new BrokerError(403, 40310000, 'insufficient buying power');

const round = (n: number, places: number): number => Math.round(n * 10 ** places) / 10 ** places;

export class Broker {
  readonly accountId = randomUUID();
  readonly accountNumber: string;
  readonly createdAt = new Date();
  private cashValue: number;
  private readonly orders = new Map<string, Order>();
  /** Insertion order, so listing the newest N does not sort every order ever placed. */
  private readonly history: Order[] = [];
  /** Orders still working ("accepted" or "new"): the only ones a tick needs to look at. */
  private readonly open = new Set<Order>();
  private readonly byClientId = new Map<string, string>();
  private readonly positions = new Map<string, Position>();

  constructor(
    private readonly sim: PriceSimulator,
    readonly initialCash: number,
    /** Called with each order whose status changed, so metrics stay in one place. */
    private readonly onStatus: (order: Order) => void = () => undefined,
  ) {
    this.cashValue = initialCash;
    this.accountNumber = `PA${this.accountId.replace(/-/g, '').slice(0, 10).toUpperCase()}`;
  }

  get cash(): number {
    return this.cashValue;
  }

  /** Mark-to-market at the last trade price, as Alpaca values positions. */
  lastPrice(symbol: string): number {
    const trade = this.sim.trade(symbol);
    if (!trade) throw new BrokerError(404, 40410000, `symbol not found: ${symbol}`);
    return trade.price;
  }

  listPositions(): Position[] {
    return [...this.positions.values()].sort((a, b) => a.symbol.localeCompare(b.symbol));
  }

  position(symbol: string): Position | undefined {
    return this.positions.get(symbol);
  }

  longMarketValue(): number {
    return this.listPositions().reduce((sum, p) => sum + (p.qty > 0 ? p.qty * this.lastPrice(p.symbol) : 0), 0);
  }

  shortMarketValue(): number {
    return this.listPositions().reduce((sum, p) => sum + (p.qty < 0 ? p.qty * this.lastPrice(p.symbol) : 0), 0);
  }

  equity(): number {
    return round(this.cashValue + this.longMarketValue() + this.shortMarketValue(), 2);
  }

  /** Cash account semantics: you can spend the cash you hold, no margin. */
  buyingPower(): number {
    return Math.max(0, round(this.cashValue, 2));
  }

  /** Places an order; market orders fill at once while the market is open, limit orders when marketable. */
  place(req: OrderRequest, marketOpen: boolean, now = new Date()): Order {
    if (!this.sim.has(req.symbol)) throw new BrokerError(422, 40010001, `asset "${req.symbol}" not found`);
    if (req.clientOrderId !== undefined && this.byClientId.has(req.clientOrderId)) {
      throw new BrokerError(422, 40010001, 'client_order_id must be unique');
    }
    if (req.side === 'buy') {
      const quote = this.sim.quote(req.symbol);
      const price = req.type === 'limit' ? (req.limitPrice ?? 0) : (quote?.askPrice ?? 0);
      if (req.qty * price > this.buyingPower()) throw insufficientBuyingPower();
    }
    const order: Order = {
      id: randomUUID(),
      clientOrderId: req.clientOrderId ?? randomUUID(),
      symbol: req.symbol,
      qty: req.qty,
      side: req.side,
      type: req.type,
      timeInForce: req.timeInForce,
      limitPrice: req.limitPrice,
      status: marketOpen ? 'new' : 'accepted',
      filledQty: 0,
      createdAt: now,
      updatedAt: now,
    };
    this.orders.set(order.id, order);
    this.history.push(order);
    this.open.add(order);
    this.byClientId.set(order.clientOrderId, order.id);
    if (marketOpen) this.tryFill(order, now);
    if (order.status === 'new' && (order.timeInForce === 'ioc' || order.timeInForce === 'fok')) {
      // Immediate-or-cancel and fill-or-kill never rest on the book.
      this.setCanceled(order, now);
    } else if (order.status !== 'filled') {
      this.onStatus(order);
    }
    return order;
  }

  /** Re-checks resting orders against the new prices; called on every simulator tick. */
  onTick(marketOpen: boolean, now = new Date()): void {
    if (!marketOpen) return;
    for (const order of this.open) {
      if (order.status === 'accepted') {
        order.status = 'new';
        order.updatedAt = now;
      }
      this.tryFill(order, now);
    }
  }

  get(id: string): Order | undefined {
    return this.orders.get(id);
  }

  getByClientOrderId(clientOrderId: string): Order | undefined {
    const id = this.byClientId.get(clientOrderId);
    return id === undefined ? undefined : this.orders.get(id);
  }

  /** Orders by submission time (desc is Alpaca's default), filtered, at most limit of them. */
  list(filter: { status: 'open' | 'closed' | 'all'; limit: number; symbols?: string[]; direction: 'asc' | 'desc' }): Order[] {
    const source = filter.status === 'open' ? [...this.open] : this.history;
    const out: Order[] = [];
    const n = source.length;
    for (let k = 0; k < n && out.length < filter.limit; k++) {
      const o = source[filter.direction === 'desc' ? n - 1 - k : k]!;
      if (filter.status === 'closed' && this.open.has(o)) continue;
      if (filter.symbols !== undefined && !filter.symbols.includes(o.symbol)) continue;
      out.push(o);
    }
    return out;
  }

  cancel(id: string, now = new Date()): Order {
    const order = this.orders.get(id);
    if (!order) throw new BrokerError(404, 40410000, 'order not found');
    if (order.status !== 'new' && order.status !== 'accepted') {
      throw new BrokerError(422, 42210000, `order is already in "${order.status}" state`);
    }
    this.setCanceled(order, now);
    return order;
  }

  private setCanceled(order: Order, now: Date): void {
    this.open.delete(order);
    order.status = 'canceled';
    order.canceledAt = now;
    order.updatedAt = now;
    this.onStatus(order);
  }

  private tryFill(order: Order, now: Date): void {
    const quote = this.sim.quote(order.symbol);
    if (!quote) return;
    // Buys take the ask, sells hit the bid; a limit only fills when that price is at least as good as the limit.
    const price = order.side === 'buy' ? quote.askPrice : quote.bidPrice;
    if (order.type === 'limit' && order.limitPrice !== undefined) {
      const marketable = order.side === 'buy' ? price <= order.limitPrice : price >= order.limitPrice;
      if (!marketable) return;
    }
    const signed = order.side === 'buy' ? order.qty : -order.qty;
    this.cashValue = round(this.cashValue - signed * price, 2);
    this.applyFill(order.symbol, signed, price);
    this.open.delete(order);
    order.status = 'filled';
    order.filledQty = order.qty;
    order.filledAvgPrice = price;
    order.filledAt = now;
    order.updatedAt = now;
    this.onStatus(order);
  }

  private applyFill(symbol: string, signedQty: number, price: number): void {
    const pos = this.positions.get(symbol);
    if (!pos) {
      this.positions.set(symbol, { symbol, qty: signedQty, avgEntryPrice: price });
      return;
    }
    const qty = round(pos.qty + signedQty, 9);
    if (qty === 0) {
      this.positions.delete(symbol);
    } else if (Math.sign(pos.qty) === Math.sign(signedQty)) {
      // Adding to the position: the entry price is the quantity-weighted average.
      pos.avgEntryPrice = (pos.avgEntryPrice * Math.abs(pos.qty) + price * Math.abs(signedQty)) / Math.abs(qty);
      pos.qty = qty;
    } else if (Math.sign(qty) === Math.sign(pos.qty)) {
      // Reducing keeps the entry price of what is left.
      pos.qty = qty;
    } else {
      // Flipped from long to short or back: what remains was entered at this fill.
      pos.qty = qty;
      pos.avgEntryPrice = price;
    }
  }
}
