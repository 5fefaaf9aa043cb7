// execution-gateway position and P&L arithmetic: average cost, realized P&L on closes and flips, unrealized at the quote, risk limit.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HttpError } from '../services/kit/errors.ts';
import { computePnl } from '../services/execution-gateway/pnl.ts';
import { checkPositionLimit } from '../services/execution-gateway/risk.ts';
import { applyFill, type OrderRequest, type Position } from '../services/execution-gateway/store.ts';

const test = suite('execution-gateway positions');
const flat = (symbol = 'AAPL'): Position => ({ symbol, qty: 0, avg_cost: 0, realized_pnl: 0 });

test('averages the cost of fills on the same side', () => {
  const p = applyFill(applyFill(flat(), 10, 100), 30, 120);
  assert.equal(p, { symbol: 'AAPL', qty: 40, avg_cost: 115, realized_pnl: 0 });
});

test('realizes P&L on a partial close and keeps the cost of the rest', () => {
  const p = applyFill(applyFill(flat(), 10, 100), -4, 110);
  assert.equal(p, { symbol: 'AAPL', qty: 6, avg_cost: 100, realized_pnl: 40 });
});

test('realizes P&L on a short cover (price fell = gain)', () => {
  const p = applyFill(applyFill(flat(), -5, 50), 5, 45);
  assert.equal(p, { symbol: 'AAPL', qty: 0, avg_cost: 0, realized_pnl: 25 });
});

test('flips through zero: closes the old side, opens the new one at the fill price', () => {
  const p = applyFill(applyFill(flat(), 10, 100), -15, 90);
  assert.equal(p, { symbol: 'AAPL', qty: -5, avg_cost: 90, realized_pnl: -100 });
});

test('leaves no float dust after many fractional fills', () => {
  let p = flat();
  for (let i = 0; i < 10; i++) p = applyFill(p, 0.1, 100 + i);
  for (let i = 0; i < 10; i++) p = applyFill(p, -0.1, 100);
  assert.is(p.qty, 0);
  assert.is(p.avg_cost, 0);
});

test('computes unrealized P&L at the quote, and 0 when there is no quote', () => {
  const report = computePnl(
    [
      { symbol: 'AAPL', qty: 6, avg_cost: 100, realized_pnl: 40 },
      { symbol: 'MSFT', qty: -2, avg_cost: 300, realized_pnl: -10 },
      { symbol: 'SPY', qty: 3, avg_cost: 400, realized_pnl: 0 },
    ],
    new Map([
      ['AAPL', 110],
      ['MSFT', 310],
    ]),
  );
  assert.is(report.realized, 30);
  assert.is(report.unrealized, 60 - 20);
  assert.is(report.total, 70);
  assert.equal(report.by_symbol[2], { symbol: 'SPY', qty: 3, avg_cost: 400, price: null, realized: 0, unrealized: 0 });
});

const order = (side: 'buy' | 'sell', qty: number): OrderRequest => ({ client_order_id: 'x', symbol: 'AAPL', side, qty, type: 'market', limit_price: null });

test('position limit refuses growth beyond the limit either way and names it', () => {
  assert.not.throws(() => checkPositionLimit(90, order('buy', 10), 100));
  try {
    checkPositionLimit(90, order('buy', 11), 100);
    assert.unreachable('should refuse');
  } catch (err) {
    assert.instance(err, HttpError);
    assert.is((err as HttpError).status, 422);
    assert.match((err as HttpError).message, /position limit of 100/);
  }
  assert.throws(() => checkPositionLimit(-95, order('sell', 10), 100), /position limit of 100/);
});

test('position limit lets an over-limit exposure shrink', () => {
  assert.not.throws(() => checkPositionLimit(150, order('sell', 20), 100));
  assert.throws(() => checkPositionLimit(150, order('sell', 400), 100), /-250/);
});

test.run();
