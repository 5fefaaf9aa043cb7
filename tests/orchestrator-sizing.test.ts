import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { planOrders } from '../services/orchestrator/sizing.ts';
import { clientOrderId, orderStatus, runStatus } from '../services/orchestrator/runs.ts';
import { loadOrchestratorConfig } from '../services/orchestrator/config.ts';
import { ConfigError } from '../services/kit/config.ts';

const test = suite('orchestrator sizing');

const prices = new Map([
  ['AAPL', 110],
  ['MSFT', 210],
  ['SPY', 396],
  ['TSLA', 200],
]);
const universe = ['AAPL', 'MSFT', 'SPY', 'TSLA'];

test('sizes whole-share targets from weight x capital / price, rounding toward zero, sells first', () => {
  const plan = planOrders({
    signals: [
      { symbol: 'AAPL', targetWeight: 0.5 },
      { symbol: 'MSFT', targetWeight: 0 },
      { symbol: 'TSLA', targetWeight: -0.5 },
    ],
    positions: new Map(),
    prices,
    capital: 100_000,
    universe,
  });
  assert.equal(plan.orders, [
    { symbol: 'TSLA', side: 'sell', qty: 250, targetQty: -250, currentQty: 0, price: 200 },
    { symbol: 'AAPL', side: 'buy', qty: 454, targetQty: 454, currentQty: 0, price: 110 },
  ]);
  assert.equal(plan.skipped, []);
});

test('orders only the delta against current positions and skips symbols already on target', () => {
  const plan = planOrders({
    signals: [
      { symbol: 'AAPL', targetWeight: 0.5 },
      { symbol: 'TSLA', targetWeight: -0.5 },
    ],
    positions: new Map([
      ['AAPL', 272],
      ['TSLA', -250],
    ]),
    prices,
    capital: 60_000,
    universe,
  });
  assert.equal(plan.orders, [{ symbol: 'TSLA', side: 'buy', qty: 100, targetQty: -150, currentQty: -250, price: 200 }]);
});

test('closes held positions of the run universe that have no signal, and leaves ones outside it alone', () => {
  const plan = planOrders({
    signals: [{ symbol: 'AAPL', targetWeight: 0.25 }],
    positions: new Map([
      ['MSFT', 10],
      ['SPY', -4],
      ['NVDA', 7],
    ]),
    prices,
    capital: 10_000,
    universe: ['AAPL', 'MSFT', 'SPY'],
  });
  assert.equal(plan.orders, [
    { symbol: 'MSFT', side: 'sell', qty: 10, targetQty: 0, currentQty: 10, price: 210 },
    { symbol: 'AAPL', side: 'buy', qty: 22, targetQty: 22, currentQty: 0, price: 110 },
    { symbol: 'SPY', side: 'buy', qty: 4, targetQty: 0, currentQty: -4, price: 396 },
  ]);
});

test('scales weights down when their gross exceeds 1, so a run never commits more than its capital', () => {
  const plan = planOrders({
    signals: [
      { symbol: 'AAPL', targetWeight: 1 },
      { symbol: 'MSFT', targetWeight: 1 },
      { symbol: 'SPY', targetWeight: -2 },
    ],
    positions: new Map(),
    prices,
    capital: 40_000,
    universe,
  });
  // Gross 4 -> scale 0.25: AAPL 10000/110 = 90.9, MSFT 10000/210 = 47.6, SPY -20000/396 = -50.5.
  assert.equal(
    plan.orders.map((o) => [o.symbol, o.side, o.qty]),
    [
      ['SPY', 'sell', 50],
      ['AAPL', 'buy', 90],
      ['MSFT', 'buy', 47],
    ],
  );
  const committed = plan.orders.reduce((a, o) => a + o.qty * o.price, 0);
  assert.ok(committed <= 40_000, `committed ${committed}`);
});

test('skips a weighted symbol without a price and ignores signals outside the universe', () => {
  const plan = planOrders({
    signals: [
      { symbol: 'NVDA', targetWeight: 0.5 },
      { symbol: 'META', targetWeight: 0.5 },
    ],
    positions: new Map(),
    prices,
    capital: 10_000,
    universe: ['NVDA', 'AAPL'],
  });
  assert.equal(plan.orders, []);
  assert.is(plan.skipped.length, 1);
  assert.is(plan.skipped[0]!.symbol, 'NVDA');
  assert.match(plan.skipped[0]!.reason, /no price/);
});

test('maps gateway answers to order outcomes and outcomes to run status', () => {
  assert.is(orderStatus({ httpStatus: 201, body: {} }), 'accepted');
  assert.is(orderStatus({ httpStatus: 200, body: {} }), 'accepted');
  assert.is(orderStatus({ httpStatus: 202, body: {} }), 'pending');
  assert.is(orderStatus({ httpStatus: 422, body: {} }), 'rejected');
  assert.is(orderStatus({ httpStatus: 409, body: {} }), 'rejected');
  assert.is(orderStatus({ httpStatus: 503, body: {} }), 'failed');
  assert.is(orderStatus({ httpStatus: undefined, body: undefined, error: 'ECONNREFUSED' }), 'failed');
  assert.is(runStatus([]), 'completed');
  assert.is(runStatus([{ status: 'accepted' }, { status: 'pending' }]), 'completed');
  assert.is(runStatus([{ status: 'accepted' }, { status: 'rejected' }]), 'partial');
  assert.is(runStatus([{ status: 'failed' }, { status: 'failed' }]), 'failed');
  assert.is(runStatus([{ status: 'accepted' }, { status: 'failed' }]), 'partial');
  assert.is(clientOrderId(42, 'AAPL'), 'run-42-AAPL');
});

test('config needs the database, Redis and both service URLs, and defaults the rest', () => {
  const cfg = loadOrchestratorConfig({
    DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x',
    REDIS_URL: 'redis://127.0.0.1:1',
    SIGNAL_SERVICE_URL: 'http://127.0.0.1:2/',
    EXECUTION_GATEWAY_URL: 'http://127.0.0.1:3',
  });
  assert.is(cfg.capital, 100_000);
  assert.is(cfg.runIntervalMs, 0);
  // REQUEST_TIMEOUT_MS's default is derived from the gateway's slowest answer: tests/timeout-chain.test.ts checks it.
  assert.is(cfg.signalServiceUrl, 'http://127.0.0.1:2');
  assert.is(cfg.symbols.length, 10);
  assert.throws(() => loadOrchestratorConfig({ DATABASE_URL: 'postgres://x@h/db' }), (e: unknown) => e instanceof ConfigError && /SIGNAL_SERVICE_URL/.test((e as Error).message));
});

test.run();
