// The user journeys the load drives, matching docs/contracts.md: orchestration runs, direct orders, signals, subscription churn, position and P&L reads.
import { randomBytes } from 'node:crypto';
import type { FlowFn } from '../runner/engine.ts';
import type { LoadResponse } from '../runner/http.ts';
import type { FlowName, LoadConfig, LoadService } from './config.ts';

type Flow = FlowFn<LoadService>;
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const body = (r: LoadResponse): Json => (isObject(r.body) ? r.body : {});
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Share of direct orders sent as marketable limit orders; the rest are market orders, as in most automated flow. */
const LIMIT_ORDER_SHARE = 0.1;
/** Capital per orchestration run: small enough that target positions stay far inside MAX_POSITION_QTY (1000 shares). */
const RUN_CAPITAL = 20_000;

const RUN_STATUSES = new Set(['completed', 'partial']);
const ORDER_STATUSES = new Set(['pending_submit', 'accepted', 'filled', 'rejected', 'canceled']);

/** Builds the flows for one run; ids and position bookkeeping are private to it. */
export function createFlows(cfg: LoadConfig): Record<FlowName, Flow> {
  // Unique per run, so client_order_ids never collide with an earlier run against the same database.
  const runToken = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  let orderSeq = 0;
  let churnSeq = 0;
  let pick = 0;
  /** Net shares this run has bought per symbol; each order leans back toward zero so exposure stays bounded. */
  const net = new Map<string, number>();
  const nextTradeSymbol = (): string => cfg.tradeSymbols[pick++ % cfg.tradeSymbols.length]!;

  const runs: Flow = async (c) => {
    // 409 is the orchestrator's answer while another run (e.g. a scheduled one) is in progress: correct, not a failure.
    const res = await c.http('orchestrator').post('/runs', { symbols: cfg.tradeSymbols, capital: RUN_CAPITAL }, { name: 'create_run', expect: [201, 409] });
    const b = body(res);
    if (res.status === 409) {
      c.check(res, { 'run: 409 says a run is in progress': () => isObject(b.error) && b.error.code === 'conflict' });
      return;
    }
    c.check(res, {
      'run: status 201': (r) => r.status === 201,
      'run: has numeric id': () => isNumber(b.id),
      'run: completed or partial': () => RUN_STATUSES.has(String(b.status)),
      'run: signals and orders are arrays': () => Array.isArray(b.signals) && Array.isArray(b.orders),
    });
  };

  const orders: Flow = async (c) => {
    const symbol = nextTradeSymbol();
    const held = net.get(symbol) ?? 0;
    const side = held > 0 ? 'sell' : held < 0 ? 'buy' : orderSeq % 2 === 0 ? 'buy' : 'sell';
    const client_order_id = `lg-${runToken}-${orderSeq++}`;
    let order: Json = { client_order_id, symbol, side, qty: 1, type: 'market' };
    if (Math.random() < LIMIT_ORDER_SHARE) {
      // A limit order priced through the current quote, so it fills like a market order instead of resting forever.
      const quote = await c.http('market-data').get(`/quotes/${symbol}`, { name: 'quote' });
      const q = body(quote);
      c.check(quote, { 'quote: status 200 with a price': (r) => r.status === 200 && isNumber(q.price) });
      const ref = side === 'buy' ? q.ask ?? q.price : q.bid ?? q.price;
      if (isNumber(ref)) order = { ...order, type: 'limit', limit_price: Math.round(ref * (side === 'buy' ? 1.01 : 0.99) * 100) / 100 };
    }
    net.set(symbol, held + (side === 'buy' ? 1 : -1));
    const res = await c.http('execution-gateway').post('/orders', order, { name: 'place_order', expect: [200, 201] });
    const b = body(res);
    c.check(res, {
      'order: status 201': (r) => r.status === 201,
      'order: echoes client_order_id': () => b.client_order_id === client_order_id,
      'order: known status': () => ORDER_STATUSES.has(String(b.status)),
    });
  };

  const signals: Flow = async (c) => {
    const res = await c.http('signal-service').post('/signals', { symbols: cfg.tradeSymbols }, { name: 'generate_signals', expect: [200] });
    const b = body(res);
    c.check(res, {
      'signals: status 200': (r) => r.status === 200,
      'signals: model named': () => typeof b.model_name === 'string' && isNumber(b.model_version),
      'signals: weights are numbers': () => Array.isArray(b.signals) && b.signals.every((s) => isObject(s) && typeof s.symbol === 'string' && isNumber(s.target_weight)),
    });
  };

  const subscriptions: Flow = async (c) => {
    // Unsubscribe then resubscribe one churn symbol: the change is exercised and the stack ends where it started.
    const symbol = cfg.churnSymbols[churnSeq++ % cfg.churnSymbols.length]!;
    const md = c.http('market-data');
    const listed = (r: LoadResponse): boolean => Array.isArray(body(r).subscribed) && (body(r).subscribed as unknown[]).includes(symbol);
    const sub = await md.post('/subscriptions', { symbols: [symbol] }, { name: 'subscribe', expect: [200] });
    c.check(sub, { 'subscribe: status 200': (r) => r.status === 200, 'subscribe: symbol listed': listed });
    const del = await md.delete(`/subscriptions/${symbol}`, { name: 'unsubscribe', expect: [200] });
    c.check(del, { 'unsubscribe: status 200': (r) => r.status === 200, 'unsubscribe: symbol gone': (r) => Array.isArray(body(r).subscribed) && !listed(r) });
    const again = await md.post('/subscriptions', { symbols: [symbol] }, { name: 'resubscribe', expect: [200] });
    c.check(again, { 'resubscribe: status 200': (r) => r.status === 200, 'resubscribe: symbol listed': listed });
  };

  const positions: Flow = async (c) => {
    const res = await c.http('execution-gateway').get('/positions', { name: 'list_positions', expect: [200] });
    const list = body(res).positions;
    c.check(res, {
      'positions: status 200': (r) => r.status === 200,
      'positions: symbol and qty each': () => Array.isArray(list) && list.every((p) => isObject(p) && typeof p.symbol === 'string' && isNumber(p.qty)),
    });
  };

  const pnl: Flow = async (c) => {
    const res = await c.http('execution-gateway').get('/pnl', { name: 'read_pnl', expect: [200] });
    const b = body(res);
    c.check(res, {
      'pnl: status 200': (r) => r.status === 200,
      'pnl: realized, unrealized, total': () => isNumber(b.realized) && isNumber(b.unrealized) && isNumber(b.total),
      'pnl: by_symbol list': () => Array.isArray(b.by_symbol),
    });
  };

  return { runs, orders, signals, subscriptions, positions, pnl };
}
