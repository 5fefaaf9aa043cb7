// Order placement (validate, replay or conflict, risk, persist, then submit or fill locally) and the resubmit/sync work.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { conflict, HttpError, unavailable } from '../kit/errors.ts';
import { withDb } from '../kit/pg.ts';
import { parseBody, plainText, tickerSchema } from '../kit/validate.ts';
import { BrokerRejectedError, BrokerUnavailableError, type Broker, type BrokerOrder } from './broker.ts';
import type { GatewayConfig } from './config.ts';
import type { GatewayMetrics } from './metrics.ts';
import { fromAlpacaStatus } from './order-states.ts';
import type { OrderOutcomes } from './outcomes.ts';
import { readPrices } from './pnl.ts';
import { assertBreakerClosed, checkPositionLimit } from './risk.ts';
import type { Order, OrderRequest, OrderStore, OrderUpdate } from './store.ts';

export interface Clock {
  /** Milliseconds; only differences are used. */
  now(): number;
}

export interface PlaceResult {
  /** 201 new, 200 replay, 202 accepted but not yet at the broker. */
  status: 200 | 201 | 202;
  order: Order;
}

export interface OrderService {
  place(body: unknown): Promise<PlaceResult>;
  /** Submits pending orders whose lease expired; returns how many reached the broker. */
  resubmitPending(): Promise<number>;
  /** Brings accepted (resting) orders up to date with the broker, or with quotes in dry-run. */
  syncOpen(): Promise<void>;
  /** Longest a submitter may hold an order before another may take it over. */
  leaseMs: number;
}

export interface OrderDeps {
  store: OrderStore;
  redis: Redis;
  broker: Broker;
  metrics: GatewayMetrics;
  /** Counts outcomes; the store must report decided orders to the same instance (OrderStore's onDecided). */
  outcomes: OrderOutcomes;
  config: GatewayConfig;
  logger: Logger;
  clock: Clock;
  leaseMs: number;
}

/** How far a placement got: what a deadline answer can say about it. */
interface Progress {
  step: 'lookup' | 'breaker' | 'record' | 'submit';
  /** Set once the order is recorded (pending_submit): from then on the answer is at worst a 202. */
  persisted?: Order;
  /** Set when the caller was answered 503 before the order was recorded: the placement must not record it after all. */
  abandoned?: boolean;
}

const WAITING_ON: Record<Progress['step'], string> = { lookup: 'postgres', breaker: 'redis', record: 'postgres', submit: 'broker' };

const BATCH = 20;

/** Alpaca's limit is 128 characters; printable, so Postgres stores it and a path can carry it. */
export const clientOrderIdSchema = plainText({ max: 128, spaces: false });

const orderSchema = z
  .object({
    client_order_id: clientOrderIdSchema,
    symbol: tickerSchema,
    side: z.enum(['buy', 'sell']),
    qty: z.number().finite().positive(),
    type: z.enum(['market', 'limit']),
    limit_price: z.number().finite().positive().nullish(),
  })
  .superRefine((o, ctx) => {
    if (o.type === 'limit' && o.limit_price == null) ctx.addIssue({ code: 'custom', path: ['limit_price'], message: 'required for limit orders' });
    if (o.type === 'market' && o.limit_price != null) ctx.addIssue({ code: 'custom', path: ['limit_price'], message: 'not allowed for market orders' });
  })
  .transform((o): OrderRequest => ({ ...o, limit_price: o.limit_price ?? null }));

const FIELDS = ['symbol', 'side', 'qty', 'type', 'limit_price'] as const;

/**
 * The count of a placement that ended in an error before its order was recorded; undefined when the error is
 * counted elsewhere (a conflict is a replay; broker_rejected and no_price come after recording, via onDecided).
 */
/** An error that comes after the order was recorded and decided it (rejected), so onDecided has counted it. */
function decidedByError(err: unknown): boolean {
  return err instanceof HttpError && (err.code === 'broker_rejected' || err.code === 'no_price');
}

function refusalOf(err: unknown): 'risk_rejected' | 'failed' | undefined {
  if (!(err instanceof HttpError)) return 'failed';
  if (err.code === 'circuit_breaker_tripped' || err.code === 'position_limit') return 'risk_rejected';
  if (err.code === 'conflict' || decidedByError(err)) return undefined;
  return 'failed';
}

const TIMED_OUT = Symbol('timed out');

/** p's value, or TIMED_OUT once ms have passed; p keeps running either way. */
async function beforeDeadline<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function fromBroker(b: BrokerOrder): OrderUpdate {
  const filled = Number(b.filled_qty ?? 0);
  const avg = b.filled_avg_price === null || b.filled_avg_price === '' ? null : Number(b.filled_avg_price);
  return { status: fromAlpacaStatus(b.status), broker_order_id: b.id, filled_qty: Number.isFinite(filled) ? filled : 0, filled_avg_price: avg !== null && Number.isFinite(avg) ? avg : null };
}

/** Dry-run fill price: the quote, or the limit price when there is no quote; undefined = a limit order that rests. */
function dryRunPrice(order: Order, quote: number | undefined): number | undefined {
  if (order.type === 'market' || order.limit_price === null) return quote;
  if (quote === undefined) return order.limit_price;
  const marketable = order.side === 'buy' ? quote <= order.limit_price : quote >= order.limit_price;
  return marketable ? quote : undefined;
}

export function createOrderService(deps: OrderDeps): OrderService {
  const { store, redis, broker, metrics, outcomes, config, logger, clock, leaseMs } = deps;

  function replay(existing: Order, req: OrderRequest): PlaceResult {
    const differs = FIELDS.filter((f) => existing[f] !== req[f]);
    outcomes.replayed(differs.length > 0 ? 'conflict' : 'replayed');
    if (differs.length > 0) {
      throw conflict(
        `client_order_id ${req.client_order_id} was already used for a different order (differs in ${differs.join(', ')}); use a new client_order_id`,
        { differs, existing },
      );
    }
    return { status: 200, order: existing };
  }

  /** Sends a persisted pending order to the broker; the broker's client_order_id uniqueness plus lookup-first keeps it single. */
  async function submit(order: Order, lookupFirst: boolean): Promise<Order> {
    let answer: BrokerOrder;
    try {
      answer = await broker.submitOrder(order, { lookupFirst });
    } catch (err) {
      if (err instanceof BrokerRejectedError) {
        const rejected = await withDb(() =>
          store.applyUpdate(order.client_order_id, { status: 'rejected', broker_order_id: null, filled_qty: 0, filled_avg_price: null, reject_reason: err.message }),
        );
        throw new HttpError(422, 'broker_rejected', `broker rejected order ${order.client_order_id}: ${err.message}`, { order: rejected });
      }
      if (err instanceof BrokerUnavailableError) {
        logger.warn({ client_order_id: order.client_order_id, err: err.message }, 'broker unavailable; order kept pending_submit');
        // If Postgres is gone too, the lease simply expires; the order is persisted either way, so this is still a 202.
        await store.releaseLease(order.client_order_id).catch((e: Error) => logger.warn({ err: e.message }, 'could not release submit lease'));
        return order;
      }
      throw err;
    }
    try {
      return await store.applyUpdate(order.client_order_id, fromBroker(answer));
    } catch (err) {
      // The broker has the order but Postgres could not record it: it stays pending_submit, and once the lease
      // expires the resubmit loop looks it up at the broker and records it. Accepted, not failed.
      logger.warn({ client_order_id: order.client_order_id, err: (err as Error).message }, 'broker accepted the order but recording it failed; will reconcile');
      return order;
    }
  }

  async function fillLocally(order: Order): Promise<Order> {
    const quote = (await readPrices(redis, [order.symbol])).get(order.symbol);
    const price = dryRunPrice(order, quote);
    if (price === undefined && order.type === 'market') {
      const reason = `no quote for ${order.symbol} at Redis key quote:${order.symbol}; start market-data or send a limit order`;
      const rejected = await withDb(() => store.applyUpdate(order.client_order_id, { status: 'rejected', broker_order_id: null, filled_qty: 0, filled_avg_price: null, reject_reason: reason }));
      throw new HttpError(422, 'no_price', `dry-run cannot fill order ${order.client_order_id}: ${reason}`, { order: rejected });
    }
    const update: OrderUpdate =
      price === undefined
        ? { status: 'accepted', broker_order_id: null, filled_qty: 0, filled_avg_price: null }
        : { status: 'filled', broker_order_id: null, filled_qty: order.qty, filled_avg_price: price };
    return withDb(() => store.applyUpdate(order.client_order_id, update));
  }

  async function placeValid(req: OrderRequest, progress: Progress): Promise<PlaceResult> {
    const existing = await withDb(() => store.getOrder(req.client_order_id));
    if (existing) return replay(existing, req);
    progress.step = 'breaker';
    await assertBreakerClosed(redis);
    if (progress.abandoned) throw unavailable(WAITING_ON.breaker, `order ${req.client_order_id} abandoned at its placement deadline; not recorded`);
    progress.step = 'record';
    const created = await withDb(() => store.createOrder(req, leaseMs, (exposure) => checkPositionLimit(exposure, req, config.MAX_POSITION_QTY)));
    if (!created.created) return replay(created.order, req);
    progress.persisted = created.order;
    progress.step = 'submit';
    const order = config.DRY_RUN ? await fillLocally(created.order) : await submit(created.order, false);
    return { status: order.status === 'pending_submit' ? 202 : 201, order };
  }

  /**
   * Answers by PLACEMENT_DEADLINE_MS, so a caller whose timeout exceeds it never gives up on an order the gateway
   * took: a recorded order still waiting on the broker is a 202 (its submit goes on under its lease, and the resubmit
   * loop takes over if that fails); one not recorded yet is a 503 naming what was slow, and safe to retry with the
   * same client_order_id. A placement that goes on past its deadline is counted when it ends, not when answered.
   */
  async function placeByDeadline(req: OrderRequest): Promise<PlaceResult> {
    const progress: Progress = { step: 'lookup' };
    const work = placeValid(req, progress).catch((err: unknown) => {
      const refused = progress.persisted ? undefined : refusalOf(err);
      if (refused) outcomes.refused(req, refused);
      throw err;
    });
    const answer = await beforeDeadline(work, config.PLACEMENT_DEADLINE_MS);
    if (answer !== TIMED_OUT) return answer;
    work.then(
      (r) => logger.info({ client_order_id: req.client_order_id, status: r.order.status }, 'placement finished after its deadline answer'),
      (err: Error) => logger.warn({ client_order_id: req.client_order_id, err: err.message }, 'placement failed after its deadline answer'),
    );
    if (progress.persisted) return { status: 202, order: progress.persisted };
    const slow = WAITING_ON[progress.step];
    // Before the insert the placement is called off; during it, the insert may still commit, and only a retry can tell.
    const fate = progress.step === 'record' ? 'may or may not have been recorded' : 'was not recorded';
    progress.abandoned = progress.step !== 'record';
    throw unavailable(
      slow,
      `order ${req.client_order_id} ${fate} within PLACEMENT_DEADLINE_MS (${config.PLACEMENT_DEADLINE_MS} ms) because ${slow} is slow or unreachable; retry with the same client_order_id`,
    );
  }

  return {
    leaseMs,
    async place(body) {
      const started = clock.now();
      try {
        // Requests that fail validation are no order: only the duration records them.
        return await placeByDeadline(parseBody(orderSchema, body, 'order'));
      } finally {
        metrics.placementDuration.observe((clock.now() - started) / 1000);
      }
    },

    async resubmitPending() {
      const claimed = await store.claimPending(BATCH, leaseMs);
      const results = await Promise.allSettled(
        claimed.map(async (o) => {
          // Earlier attempts (maybe by a process that died) may have reached the broker: always look first.
          const after = config.DRY_RUN ? await fillLocally(o) : await submit(o, true);
          return after.status !== 'pending_submit';
        }),
      );
      let submitted = 0;
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') submitted += r.value ? 1 : 0;
        else {
          // A rejection reached the broker (and was counted by onDecided); anything else leaves the order pending.
          if (decidedByError(r.reason)) submitted += 1;
          else logger.warn({ client_order_id: claimed[i]!.client_order_id, err: (r.reason as Error).message }, 'resubmit failed');
        }
      });
      return submitted;
    },

    async syncOpen() {
      const open = await store.listAccepted(BATCH);
      if (open.length === 0) return;
      if (config.DRY_RUN) {
        const prices = await readPrices(redis, [...new Set(open.map((o) => o.symbol))]);
        for (const o of open) {
          const price = dryRunPrice(o, prices.get(o.symbol));
          if (price !== undefined && prices.has(o.symbol)) {
            await store.applyUpdate(o.client_order_id, { status: 'filled', broker_order_id: null, filled_qty: o.qty, filled_avg_price: price });
          }
        }
        return;
      }
      for (const o of open) {
        if (o.broker_order_id === null) continue;
        const b = await broker.getOrder(o.broker_order_id);
        const u = fromBroker(b);
        if (u.status !== o.status || u.filled_qty !== o.filled_qty) await store.applyUpdate(o.client_order_id, u);
      }
    },
  };
}
