// The Alpaca v2 REST subset (trading + latest market data) as a Koa app, with Alpaca's field names and error bodies.
import { randomUUID } from 'node:crypto';
import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from 'pino';
import { z } from 'zod';
import { limitParam, plainText, tickerSchema } from '../kit/validate.ts';
import { Broker, BrokerError, insufficientBuyingPower, type Order, type Position } from './broker.ts';
import type { Faults } from './faults.ts';
import { faultMiddleware } from './faults.ts';
import type { FakeAlpacaMetrics } from './metrics.ts';
import type { PriceSimulator } from './simulator.ts';

export interface RestDeps {
  broker: Broker;
  sim: PriceSimulator;
  faults: () => Faults;
  metrics: FakeAlpacaMetrics;
  keyId: string;
  secretKey: string;
  /** Seeded source for injected errors and rejections. */
  random: () => number;
  /** Aborted on shutdown, ending injected delays. */
  shutdown: AbortSignal;
  logger: Logger;
}

/** IEX, the feed the fake claims to be. */
const EXCHANGE = 'V';
const MAX_BODY_BYTES = 64 * 1024;

const money = (n: number): string => String(Math.round(n * 100) / 100);
const price4 = (n: number): string => String(Math.round(n * 10_000) / 10_000);
const iso = (d: Date | undefined): string | null => (d ? d.toISOString() : null);

const numeric = z
  .union([z.number(), z.string().trim().regex(/^\d+(\.\d+)?$/, 'must be a decimal number').transform(Number)])
  .pipe(z.number().positive('must be > 0').finite());

const orderSchema = z.object({
  symbol: z.string().trim().min(1, 'symbol is required').transform((s) => s.toUpperCase()),
  qty: numeric,
  side: z.enum(['buy', 'sell']),
  type: z.string(),
  time_in_force: z.enum(['day', 'gtc', 'ioc', 'fok']),
  limit_price: numeric.optional().nullable(),
  client_order_id: z.string().min(1).max(128).optional().nullable(),
});

const listSchema = z.object({
  status: z.enum(['open', 'closed', 'all']).default('open'),
  limit: limitParam(50, 500),
  direction: z.enum(['asc', 'desc']).default('desc'),
  symbols: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim().toUpperCase()).filter(Boolean))
    .optional(),
});

const orderIdParams = z.object({ id: plainText({ max: 128, spaces: false }) });
const symbolParams = z.object({ symbol: tickerSchema });
const clientOrderIdQuery = z.object({ client_order_id: plainText({ max: 128, spaces: false }) });

function invalid(error: z.ZodError): BrokerError {
  const first = error.issues[0];
  const what = first ? `${first.path.join('.') || 'body'}: ${first.message}` : 'invalid request';
  return new BrokerError(422, 40010001, what);
}

export function orderJson(o: Order): Record<string, unknown> {
  return {
    id: o.id,
    client_order_id: o.clientOrderId,
    created_at: iso(o.createdAt),
    updated_at: iso(o.updatedAt),
    submitted_at: iso(o.createdAt),
    filled_at: iso(o.filledAt),
    expired_at: null,
    canceled_at: iso(o.canceledAt),
    failed_at: null,
    replaced_at: null,
    replaced_by: null,
    replaces: null,
    asset_id: assetId(o.symbol),
    symbol: o.symbol,
    asset_class: 'us_equity',
    notional: null,
    qty: String(o.qty),
    filled_qty: String(o.filledQty),
    filled_avg_price: o.filledAvgPrice === undefined ? null : money(o.filledAvgPrice),
    order_class: '',
    order_type: o.type,
    type: o.type,
    side: o.side,
    time_in_force: o.timeInForce,
    limit_price: o.limitPrice === undefined ? null : money(o.limitPrice),
    stop_price: null,
    status: o.status,
    extended_hours: false,
    legs: null,
    trail_percent: null,
    trail_price: null,
    hwm: null,
  };
}

const LISTING_EXCHANGE: Record<string, string> = { A: 'NYSE', B: 'ARCA', C: 'NASDAQ' };

function positionJson(p: Position, broker: Broker, sim: PriceSimulator): Record<string, unknown> {
  const current = broker.lastPrice(p.symbol);
  const lastday = sim.openPrice(p.symbol) ?? p.avgEntryPrice;
  const costBasis = p.qty * p.avgEntryPrice;
  const marketValue = p.qty * current;
  const unrealized = marketValue - costBasis;
  const plpc = costBasis === 0 ? 0 : unrealized / Math.abs(costBasis);
  return {
    asset_id: assetId(p.symbol),
    symbol: p.symbol,
    exchange: LISTING_EXCHANGE[sim.quote(p.symbol)?.tape ?? 'C'] ?? 'NASDAQ',
    asset_class: 'us_equity',
    asset_marginable: false,
    avg_entry_price: price4(p.avgEntryPrice),
    qty: String(p.qty),
    qty_available: String(p.qty),
    side: p.qty >= 0 ? 'long' : 'short',
    market_value: money(marketValue),
    cost_basis: money(costBasis),
    unrealized_pl: money(unrealized),
    unrealized_plpc: String(Math.round(plpc * 1e6) / 1e6),
    unrealized_intraday_pl: money(unrealized),
    unrealized_intraday_plpc: String(Math.round(plpc * 1e6) / 1e6),
    current_price: money(current),
    lastday_price: money(lastday),
    change_today: String(Math.round(((current - lastday) / lastday) * 1e6) / 1e6),
  };
}

function accountJson(broker: Broker): Record<string, unknown> {
  const equity = money(broker.equity());
  const buyingPower = money(broker.buyingPower());
  return {
    id: broker.accountId,
    account_number: broker.accountNumber,
    status: 'ACTIVE',
    crypto_status: 'INACTIVE',
    currency: 'USD',
    cash: money(broker.cash),
    buying_power: buyingPower,
    regt_buying_power: buyingPower,
    daytrading_buying_power: '0',
    non_marginable_buying_power: buyingPower,
    portfolio_value: equity,
    equity,
    last_equity: money(broker.initialCash),
    long_market_value: money(broker.longMarketValue()),
    short_market_value: money(broker.shortMarketValue()),
    initial_margin: '0',
    maintenance_margin: '0',
    last_maintenance_margin: '0',
    sma: '0',
    multiplier: '1',
    daytrade_count: 0,
    pattern_day_trader: false,
    trading_blocked: false,
    transfers_blocked: false,
    account_blocked: false,
    trade_suspended_by_user: false,
    shorting_enabled: true,
    created_at: broker.createdAt.toISOString(),
  };
}

/**
 * The simulated session runs in UTC days and reopens at once, so the harness can trade at any hour; while the
 * admin has closed the market, the next open is still reported as the next UTC midnight.
 */
function clockJson(open: boolean, now = new Date()): Record<string, unknown> {
  const midnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  return {
    timestamp: now.toISOString(),
    is_open: open,
    next_open: midnight.toISOString(),
    next_close: (open ? midnight : new Date(midnight.getTime() + 86_400_000)).toISOString(),
  };
}

/** Path parameters or a query, parsed like a body: a bad one is Alpaca's 422. */
function parse<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw invalid(parsed.error);
  return parsed.data;
}

/** Stable per-symbol asset id, shaped like Alpaca's UUIDs. */
function assetId(symbol: string): string {
  const hex = Buffer.from(symbol.padEnd(16, '_')).toString('hex').slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

async function readJsonBody(req: Koa.Request['req']): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BrokerError(400, 40010000, `request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new BrokerError(400, 40010000, 'request body format is invalid');
  }
}

export function createRestApp(deps: RestDeps): Koa {
  const { broker, sim, metrics } = deps;
  const app = new Koa();
  const router = new Router();

  const endpointOf = (method: string, path: string): string => {
    const layer = router.match(path, method).pathAndMethod.find((l) => l.methods.length > 0);
    return layer ? `${method} ${layer.path}` : 'other';
  };

  // Outermost: Alpaca's error body shape and the request counter see every response, injected ones included.
  // Like Alpaca, every answer carries X-Request-ID; an unexpected error answers only that id, the log has the detail.
  app.use(async (ctx, next) => {
    const requestId = randomUUID();
    ctx.set('X-Request-ID', requestId);
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { code: 40410000, message: `endpoint not found: ${ctx.method} ${ctx.path}` };
      } else if (ctx.status === 405) {
        ctx.body = { code: 40510000, message: `method not allowed: ${ctx.method} ${ctx.path}` };
      }
    } catch (err) {
      if (err instanceof BrokerError) {
        ctx.status = err.status;
        ctx.body = { code: err.code, message: err.message };
      } else {
        deps.logger.error({ err, requestId, method: ctx.method, path: ctx.path }, 'unhandled error');
        ctx.status = 500;
        ctx.body = { code: 50000000, message: `internal server error; the fake-alpaca log has the details under request id ${requestId}` };
      }
    }
    metrics.requests.inc({ endpoint: endpointOf(ctx.method, ctx.path), status: String(ctx.status) });
  });

  app.use(faultMiddleware(deps.faults, deps.random, deps.shutdown));

  app.use(async (ctx, next) => {
    if (ctx.get('APCA-API-KEY-ID') !== deps.keyId || ctx.get('APCA-API-SECRET-KEY') !== deps.secretKey) {
      throw new BrokerError(401, 40110000, 'request is not authorized');
    }
    await next();
  });

  router.get('/v2/account', (ctx) => {
    ctx.body = accountJson(broker);
  });

  router.get('/v2/clock', (ctx) => {
    ctx.body = clockJson(deps.faults().marketOpen);
  });

  router.post('/v2/orders', async (ctx) => {
    const parsed = orderSchema.safeParse(await readJsonBody(ctx.req));
    if (!parsed.success) throw invalid(parsed.error);
    const body = parsed.data;
    if (body.type !== 'market' && body.type !== 'limit') {
      throw new BrokerError(422, 40010001, `order type "${body.type}" is not supported by fake-alpaca (market or limit)`);
    }
    if (body.type === 'limit' && (body.limit_price === undefined || body.limit_price === null)) {
      throw new BrokerError(422, 40010001, 'limit_price is required for limit orders');
    }
    if (body.type === 'market' && body.limit_price !== undefined && body.limit_price !== null) {
      throw new BrokerError(422, 40010001, 'limit_price must not be given for market orders');
    }
    if (deps.faults().errorSymbols.includes(body.symbol)) {
      throw new BrokerError(503, 50300000, `service unavailable for orders in ${body.symbol} (injected fault errorSymbols)`);
    }
    if (deps.faults().rejectRate > 0 && deps.random() < deps.faults().rejectRate) {
      metrics.orders.inc({ status: 'rejected' });
      throw insufficientBuyingPower();
    }
    let order: Order;
    try {
      order = broker.place(
        {
          symbol: body.symbol,
          qty: body.qty,
          side: body.side,
          type: body.type,
          timeInForce: body.time_in_force,
          limitPrice: body.limit_price ?? undefined,
          clientOrderId: body.client_order_id ?? undefined,
        },
        deps.faults().marketOpen,
      );
    } catch (err) {
      if (err instanceof BrokerError && err.status === 403) metrics.orders.inc({ status: 'rejected' });
      throw err;
    }
    ctx.body = orderJson(order);
  });

  router.get('/v2/orders', (ctx) => {
    ctx.body = broker.list(parse(listSchema, ctx.query)).map(orderJson);
  });

  // path-to-regexp needs the colon escaped: Alpaca's route is literally "orders:by_client_order_id".
  router.get('/v2/orders\\:by_client_order_id', (ctx) => {
    const { client_order_id: id } = parse(clientOrderIdQuery, ctx.query);
    const order = broker.getByClientOrderId(id);
    if (!order) throw new BrokerError(404, 40410000, 'order not found');
    ctx.body = orderJson(order);
  });

  router.get('/v2/orders/:id', (ctx) => {
    const order = broker.get(parse(orderIdParams, ctx.params).id);
    if (!order) throw new BrokerError(404, 40410000, 'order not found');
    ctx.body = orderJson(order);
  });

  router.delete('/v2/orders/:id', (ctx) => {
    broker.cancel(parse(orderIdParams, ctx.params).id);
    ctx.status = 204;
  });

  router.get('/v2/positions', (ctx) => {
    ctx.body = broker.listPositions().map((p) => positionJson(p, broker, sim));
  });

  router.get('/v2/positions/:symbol', (ctx) => {
    const pos = broker.position(parse(symbolParams, ctx.params).symbol);
    if (!pos) throw new BrokerError(404, 40410000, 'position does not exist');
    ctx.body = positionJson(pos, broker, sim);
  });

  router.get('/v2/stocks/:symbol/quotes/latest', (ctx) => {
    const { symbol } = parse(symbolParams, ctx.params);
    const q = sim.quote(symbol);
    if (!q) throw new BrokerError(404, 40410000, `symbol not found: ${symbol}`);
    ctx.body = {
      symbol,
      quote: { t: q.timestamp.toISOString(), ax: EXCHANGE, ap: q.askPrice, as: q.askSize, bx: EXCHANGE, bp: q.bidPrice, bs: q.bidSize, c: ['R'], z: q.tape },
    };
  });

  router.get('/v2/stocks/:symbol/trades/latest', (ctx) => {
    const { symbol } = parse(symbolParams, ctx.params);
    const t = sim.trade(symbol);
    if (!t) throw new BrokerError(404, 40410000, `symbol not found: ${symbol}`);
    ctx.body = { symbol, trade: { t: t.timestamp.toISOString(), x: EXCHANGE, p: t.price, s: t.size, c: ['@'], i: t.id, z: t.tape } };
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
