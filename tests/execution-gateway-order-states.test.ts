// execution-gateway order state machine: forward-only transitions, Alpaca's statuses, and the store applying reports out of order on real Postgres.
import pino from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool, type Pool } from '../services/kit/pg.ts';
import { fromAlpacaStatus, isTerminal, nextOrderState, STORED_STATUSES, type StoredStatus } from '../services/execution-gateway/order-states.ts';
import { OrderStore, type OrderUpdate } from '../services/execution-gateway/store.ts';
import { startTestDeps, type TestDeps } from './helpers/stack.ts';
import { newId } from './execution-gateway-fixture.ts';

interface Ctx {
  deps: TestDeps;
  pool: Pool;
  store: OrderStore;
}

const test = suite<Ctx>('execution-gateway order states', {} as Ctx);

test.before(async (ctx) => {
  ctx.deps = await startTestDeps();
  ctx.pool = createPool(await ctx.deps.pg.createDatabase('order_states'), pino({ level: 'silent' }));
  ctx.store = new OrderStore(ctx.pool);
  await ctx.store.migrate();
});

test.after(async (ctx) => {
  await ctx.pool?.end();
  await ctx.deps?.owner.stopAll();
});

const TERMINAL: StoredStatus[] = ['filled', 'canceled', 'rejected'];

test('a late accepted after filled leaves filled', () => {
  const s = nextOrderState({ status: 'filled', filled_qty: 10 }, { status: 'accepted', filled_qty: 0 });
  assert.equal(s, { status: 'filled', filled_qty: 10, advanced: false, filledMore: false });
});

test('moves forward through the lifecycle: pending_submit -> accepted -> partial fills -> filled', () => {
  let s = nextOrderState({ status: 'pending_submit', filled_qty: 0 }, { status: 'accepted', filled_qty: 0 });
  assert.equal(s, { status: 'accepted', filled_qty: 0, advanced: true, filledMore: false });
  s = nextOrderState(s, { status: 'accepted', filled_qty: 4 });
  assert.equal(s, { status: 'accepted', filled_qty: 4, advanced: false, filledMore: true });
  s = nextOrderState(s, { status: 'filled', filled_qty: 10 });
  assert.equal(s, { status: 'filled', filled_qty: 10, advanced: true, filledMore: true });
});

test('partial fills only grow: a late smaller fill keeps the larger one', () => {
  const s = nextOrderState({ status: 'accepted', filled_qty: 7 }, { status: 'accepted', filled_qty: 3 });
  assert.equal(s, { status: 'accepted', filled_qty: 7, advanced: false, filledMore: false });
});

test('an answer that skips accepted still advances (pending_submit straight to filled or rejected)', () => {
  assert.is(nextOrderState({ status: 'pending_submit', filled_qty: 0 }, { status: 'filled', filled_qty: 5 }).status, 'filled');
  assert.is(nextOrderState({ status: 'pending_submit', filled_qty: 0 }, { status: 'rejected', filled_qty: 0 }).status, 'rejected');
});

test('a late pending_submit never takes an accepted order back', () => {
  assert.is(nextOrderState({ status: 'accepted', filled_qty: 0 }, { status: 'pending_submit', filled_qty: 0 }).status, 'accepted');
});

test('a terminal state never changes, whatever the report says', () => {
  for (const terminal of TERMINAL) {
    for (const status of STORED_STATUSES) {
      for (const filled_qty of [0, 2, 10, 11]) {
        const s = nextOrderState({ status: terminal, filled_qty: 2 }, { status, filled_qty });
        assert.equal(s, { status: terminal, filled_qty: 2, advanced: false, filledMore: false }, `${terminal} after ${status} ${filled_qty}`);
      }
    }
  }
});

test("Alpaca's final statuses are terminal; every other one (partially_filled, done_for_day, ...) stays open", () => {
  assert.equal(['filled', 'canceled', 'expired', 'replaced', 'rejected'].map(fromAlpacaStatus), ['filled', 'canceled', 'canceled', 'canceled', 'rejected']);
  const open = ['new', 'accepted', 'pending_new', 'partially_filled', 'done_for_day', 'pending_cancel', 'pending_replace', 'accepted_for_bidding', 'stopped', 'suspended', 'calculated', 'held', 'some_future_status'];
  for (const s of open) assert.is(fromAlpacaStatus(s), 'accepted', s);
  assert.ok(TERMINAL.every(isTerminal) && !isTerminal('accepted') && !isTerminal('pending_submit'));
});

async function newOrder(store: OrderStore, symbol: string, qty: number): Promise<string> {
  const id = newId('states');
  await store.createOrder({ client_order_id: id, symbol, side: 'buy', qty, type: 'market', limit_price: null }, 60_000, () => undefined);
  return id;
}

const report = (status: StoredStatus, filled_qty: number, filled_avg_price: number | null = null): OrderUpdate => ({
  status,
  broker_order_id: 'b-1',
  filled_qty,
  filled_avg_price,
});

async function position(store: OrderStore, symbol: string): Promise<{ qty: number; avg_cost: number } | undefined> {
  const p = (await store.listPositions()).find((x) => x.symbol === symbol);
  return p && { qty: p.qty, avg_cost: p.avg_cost };
}

test('store: a late accepted after filled leaves the order filled and the position filled once', async ({ store }) => {
  const id = await newOrder(store, 'AAA', 10);
  await store.applyUpdate(id, report('filled', 10, 100));
  const after = await store.applyUpdate(id, report('accepted', 0));
  assert.is(after.status, 'filled');
  assert.is(after.filled_qty, 10);
  assert.is(after.filled_avg_price, 100);
  assert.equal(await position(store, 'AAA'), { qty: 10, avg_cost: 100 });
  assert.is(await store.pendingSubmitCount(), 0);
  assert.equal((await store.listAccepted(100)).map((o) => o.client_order_id).filter((x) => x === id), []);
});

test('store: partial fills only grow; a stale partial report changes neither the fill nor its average price', async ({ store }) => {
  const id = await newOrder(store, 'BBB', 10);
  await store.applyUpdate(id, report('accepted', 4, 50));
  await store.applyUpdate(id, report('accepted', 6, 55));
  const stale = await store.applyUpdate(id, report('accepted', 4, 50));
  assert.is(stale.filled_qty, 6);
  assert.is(stale.filled_avg_price, 55);
  const done = await store.applyUpdate(id, report('filled', 10, 56));
  assert.equal([done.status, done.filled_qty, done.filled_avg_price], ['filled', 10, 56]);
  assert.equal(await position(store, 'BBB'), { qty: 10, avg_cost: 56 });
});

test('store: a terminal order never changes: canceled after a partial fill stays canceled with its fill', async ({ store }) => {
  const id = await newOrder(store, 'CCC', 10);
  await store.applyUpdate(id, report('accepted', 3, 20));
  const canceled = await store.applyUpdate(id, report('canceled', 3, 20));
  for (const late of [report('accepted', 3, 20), report('filled', 10, 21), report('rejected', 0)]) {
    const after = await store.applyUpdate(id, { ...late, reject_reason: 'late answer' });
    assert.equal(
      [after.status, after.filled_qty, after.filled_avg_price, after.reject_reason, after.updated_at],
      ['canceled', 3, 20, null, canceled.updated_at],
      `after a late ${late.status}`,
    );
  }
  assert.equal(await position(store, 'CCC'), { qty: 3, avg_cost: 20 });
});

test('store: concurrent reports in any order end filled, with the fill applied to the position once', async ({ store }) => {
  const ids = await Promise.all(Array.from({ length: 8 }, () => newOrder(store, 'DDD', 10)));
  const reports = [report('accepted', 0), report('accepted', 4, 30), report('filled', 10, 30), report('accepted', 7, 30)];
  await Promise.all(ids.flatMap((id, i) => reports.map((_, k) => store.applyUpdate(id, reports[(k + i) % reports.length]!))));
  for (const id of ids) {
    const o = await store.getOrder(id);
    assert.equal([o?.status, o?.filled_qty], ['filled', 10], id);
  }
  assert.equal(await position(store, 'DDD'), { qty: 80, avg_cost: 30 });
});

test.run();
