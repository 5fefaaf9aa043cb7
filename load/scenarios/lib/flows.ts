// The user journeys the load drives, matching docs/contracts.md: orchestration runs, direct orders, signals, subscription
// churn, position and P&L reads. Each is a k6 exec function; every scenario file re-exports them by name.
import { check } from 'k6';
import exec from 'k6/execution';
import { config } from './env.ts';
import { isNumber, isObject, request, type JsonResponse } from './request.ts';
import type { SetupData } from './setup.ts';

/** Share of direct orders sent as marketable limit orders; the rest are market orders, as in most automated flow. */
const LIMIT_ORDER_SHARE = 0.1;
/** Capital per orchestration run: small enough that target positions stay far inside MAX_POSITION_QTY (1000 shares). */
const RUN_CAPITAL = 20_000;

const RUN_STATUSES: readonly string[] = ['completed', 'partial'];
const ORDER_STATUSES: readonly string[] = ['pending_submit', 'accepted', 'filled', 'rejected', 'canceled'];

const { urls } = config;

export async function runs(): Promise<void> {
  // 409 is the orchestrator's answer while another run (e.g. a scheduled one) is in progress: correct, not a failure.
  const { res, body: b } = await request('POST', `${urls.orchestrator}/runs`, { symbols: config.tradeSymbols, capital: RUN_CAPITAL }, { name: 'create_run', expect: [201, 409] });
  if (res.status === 409) {
    check(res, { 'run: 409 says a run is in progress': () => isObject(b.error) && b.error.code === 'conflict' });
    return;
  }
  check(res, {
    'run: status 201': (r) => r.status === 201,
    'run: has numeric id': () => isNumber(b.id),
    'run: completed or partial': () => RUN_STATUSES.includes(String(b.status)),
    'run: signals and orders are arrays': () => Array.isArray(b.signals) && Array.isArray(b.orders),
  });
}

/**
 * One order of qty 1. Stateless across VUs: iteration i trades symbol i mod n, buying in even rounds over the symbols
 * and selling in odd ones, so each symbol's net position from this test stays at 0 or +1.
 */
export async function orders(data: SetupData): Promise<void> {
  const i = exec.scenario.iterationInTest;
  const n = config.tradeSymbols.length;
  const symbol = config.tradeSymbols[i % n]!;
  const side = Math.floor(i / n) % 2 === 0 ? 'buy' : 'sell';
  const client_order_id = `lg-${data.runToken}-${i}`;
  let order: Record<string, unknown> = { client_order_id, symbol, side, qty: 1, type: 'market' };
  if (Math.random() < LIMIT_ORDER_SHARE) {
    // A limit order priced through the current quote, so it fills like a market order instead of resting forever.
    const quote = await request('GET', `${urls['market-data']}/quotes/${encodeURIComponent(symbol)}`, undefined, { name: 'quote' });
    const q = quote.body;
    check(quote.res, { 'quote: status 200 with a price': (r) => r.status === 200 && isNumber(q.price) });
    const ref = side === 'buy' ? q.ask ?? q.price : q.bid ?? q.price;
    if (isNumber(ref)) order = { ...order, type: 'limit', limit_price: Math.round(ref * (side === 'buy' ? 1.01 : 0.99) * 100) / 100 };
  }
  const { res, body: b } = await request('POST', `${urls['execution-gateway']}/orders`, order, { name: 'place_order', expect: [200, 201] });
  check(res, {
    'order: status 201': (r) => r.status === 201,
    'order: echoes client_order_id': () => b.client_order_id === client_order_id,
    'order: known status': () => ORDER_STATUSES.includes(String(b.status)),
  });
}

export async function signals(): Promise<void> {
  const { res, body: b } = await request('POST', `${urls['signal-service']}/signals`, { symbols: config.tradeSymbols }, { name: 'generate_signals', expect: [200] });
  check(res, {
    'signals: status 200': (r) => r.status === 200,
    'signals: model named': () => typeof b.model_name === 'string' && isNumber(b.model_version),
    'signals: weights are numbers': () => Array.isArray(b.signals) && b.signals.every((s) => isObject(s) && typeof s.symbol === 'string' && isNumber(s.target_weight)),
  });
}

/** Unsubscribe then resubscribe one churn symbol (iteration i churns symbol i mod n): the change is exercised and the stack ends where it started. */
export async function subscriptions(): Promise<void> {
  const symbol = config.churnSymbols[exec.scenario.iterationInTest % config.churnSymbols.length]!;
  const base = `${urls['market-data']}/subscriptions`;
  const listed = (r: JsonResponse): boolean => Array.isArray(r.body.subscribed) && r.body.subscribed.includes(symbol);
  const sub = await request('POST', base, { symbols: [symbol] }, { name: 'subscribe', expect: [200] });
  check(sub.res, { 'subscribe: status 200': (r) => r.status === 200, 'subscribe: symbol listed': () => listed(sub) });
  const del = await request('DELETE', `${base}/${encodeURIComponent(symbol)}`, undefined, { name: 'unsubscribe', expect: [200] });
  check(del.res, { 'unsubscribe: status 200': (r) => r.status === 200, 'unsubscribe: symbol gone': () => Array.isArray(del.body.subscribed) && !listed(del) });
  const again = await request('POST', base, { symbols: [symbol] }, { name: 'resubscribe', expect: [200] });
  check(again.res, { 'resubscribe: status 200': (r) => r.status === 200, 'resubscribe: symbol listed': () => listed(again) });
}

export async function positions(): Promise<void> {
  const { res, body: b } = await request('GET', `${urls['execution-gateway']}/positions`, undefined, { name: 'list_positions', expect: [200] });
  const list = b.positions;
  check(res, {
    'positions: status 200': (r) => r.status === 200,
    'positions: symbol and qty each': () => Array.isArray(list) && list.every((p) => isObject(p) && typeof p.symbol === 'string' && isNumber(p.qty)),
  });
}

export async function pnl(): Promise<void> {
  const { res, body: b } = await request('GET', `${urls['execution-gateway']}/pnl`, undefined, { name: 'read_pnl', expect: [200] });
  check(res, {
    'pnl: status 200': (r) => r.status === 200,
    'pnl: realized, unrealized, total': () => isNumber(b.realized) && isNumber(b.unrealized) && isNumber(b.total),
    'pnl: by_symbol list': () => Array.isArray(b.by_symbol),
  });
}
