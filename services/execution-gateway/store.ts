// Postgres persistence for orders and positions: idempotent migrations, insert-before-submit, fills applied atomically.
import type pg from 'pg';
import { transaction, type Pool } from '../kit/pg.ts';
import { nextOrderState, type StoredStatus } from './order-states.ts';

export type { StoredStatus };
export type Side = 'buy' | 'sell';
export type OrderType = 'market' | 'limit';

export interface OrderRequest {
  client_order_id: string;
  symbol: string;
  side: Side;
  qty: number;
  type: OrderType;
  limit_price: number | null;
}

export interface Order extends OrderRequest {
  status: StoredStatus;
  broker_order_id: string | null;
  filled_qty: number;
  filled_avg_price: number | null;
  reject_reason: string | null;
  submit_attempts: number;
  created_at: string;
  updated_at: string;
}

export interface Position {
  symbol: string;
  qty: number;
  avg_cost: number;
  realized_pnl: number;
}

/** What the broker (or a local dry-run fill) says about an order now. */
export interface OrderUpdate {
  status: StoredStatus;
  broker_order_id: string | null;
  filled_qty: number;
  filled_avg_price: number | null;
  reject_reason?: string | null;
}

/** Serialises concurrent migrations of several gateways starting on one database. */
const MIGRATION_LOCK = 740_115;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS orders (
     id bigserial PRIMARY KEY,
     client_order_id text NOT NULL UNIQUE,
     symbol text NOT NULL,
     side text NOT NULL CHECK (side IN ('buy', 'sell')),
     qty numeric NOT NULL CHECK (qty > 0),
     type text NOT NULL CHECK (type IN ('market', 'limit')),
     limit_price numeric,
     status text NOT NULL,
     broker_order_id text,
     filled_qty numeric NOT NULL DEFAULT 0,
     filled_avg_price numeric,
     reject_reason text,
     submit_attempts int NOT NULL DEFAULT 0,
     submit_lease_until timestamptz,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX IF NOT EXISTS orders_open_idx ON orders (symbol) WHERE status IN ('pending_submit', 'accepted')`,
  `CREATE TABLE IF NOT EXISTS positions (
     symbol text PRIMARY KEY,
     qty numeric NOT NULL DEFAULT 0,
     avg_cost numeric NOT NULL DEFAULT 0,
     realized_pnl numeric NOT NULL DEFAULT 0,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
];

interface OrderRow {
  client_order_id: string;
  symbol: string;
  side: Side;
  qty: string;
  type: OrderType;
  limit_price: string | null;
  status: StoredStatus;
  broker_order_id: string | null;
  filled_qty: string;
  filled_avg_price: string | null;
  reject_reason: string | null;
  submit_attempts: number;
  created_at: Date;
  updated_at: Date;
}

interface PositionRow {
  symbol: string;
  qty: string;
  avg_cost: string;
  realized_pnl: string;
}

const toOrder = (r: OrderRow): Order => ({
  client_order_id: r.client_order_id,
  symbol: r.symbol,
  side: r.side,
  qty: Number(r.qty),
  type: r.type,
  limit_price: r.limit_price === null ? null : Number(r.limit_price),
  status: r.status,
  broker_order_id: r.broker_order_id,
  filled_qty: Number(r.filled_qty),
  filled_avg_price: r.filled_avg_price === null ? null : Number(r.filled_avg_price),
  reject_reason: r.reject_reason,
  submit_attempts: r.submit_attempts,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

const toPosition = (r: PositionRow): Position => ({
  symbol: r.symbol,
  qty: Number(r.qty),
  avg_cost: Number(r.avg_cost),
  realized_pnl: Number(r.realized_pnl),
});

/** Float noise from repeated averaging must not leave a "position" of 1e-15 shares. */
const clean = (x: number): number => Math.round(x * 1e8) / 1e8;

/** New position after a signed fill: average cost on increases, realized P&L on the closed part, flip at the fill price. */
export function applyFill(pos: Position, signedQty: number, price: number): Position {
  const { qty, avg_cost } = pos;
  if (qty === 0 || Math.sign(qty) === Math.sign(signedQty)) {
    const next = qty + signedQty;
    return { ...pos, qty: clean(next), avg_cost: clean((qty * avg_cost + signedQty * price) / next) };
  }
  const closing = Math.min(Math.abs(signedQty), Math.abs(qty));
  const realized = clean(pos.realized_pnl + closing * (price - avg_cost) * Math.sign(qty));
  const next = clean(qty + signedQty);
  if (next === 0) return { ...pos, qty: 0, avg_cost: 0, realized_pnl: realized };
  // Still on the same side: the cost of what is left is unchanged; flipped: the new side was opened at this price.
  return { ...pos, qty: next, avg_cost: Math.sign(next) === Math.sign(qty) ? avg_cost : price, realized_pnl: realized };
}

/** GET /exposure: what a symbol holds and what its open orders would still add (signed, sells < 0). */
export interface Exposure {
  symbol: string;
  position_qty: number;
  open_qty: number;
}

export type CreateResult = { created: true; order: Order } | { created: false; order: Order };

export interface OrderStoreOptions {
  /**
   * Called once per order, after the commit of the update that moved it out of pending_submit (the broker's first
   * decision, or a local fill or rejection): the one place an order's outcome is known exactly once, whichever
   * submitter (the placement, the resubmit loop, another gateway process) recorded it.
   */
  onDecided?: (order: Order) => void;
}

export class OrderStore {
  constructor(
    private readonly pool: Pool,
    private readonly opts: OrderStoreOptions = {},
  ) {}

  async migrate(): Promise<void> {
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS execution_gateway_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      const done = new Set((await c.query<{ version: number }>('SELECT version FROM execution_gateway_migrations')).rows.map((r) => r.version));
      for (const [i, sql] of MIGRATIONS.entries()) {
        if (done.has(i + 1)) continue;
        await c.query(sql);
        await c.query('INSERT INTO execution_gateway_migrations (version) VALUES ($1)', [i + 1]);
      }
    });
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async getOrder(clientOrderId: string): Promise<Order | undefined> {
    const { rows } = await this.pool.query<OrderRow>('SELECT * FROM orders WHERE client_order_id = $1', [clientOrderId]);
    return rows[0] && toOrder(rows[0]);
  }

  async listOrders(limit: number): Promise<Order[]> {
    const { rows } = await this.pool.query<OrderRow>('SELECT * FROM orders ORDER BY id DESC LIMIT $1', [limit]);
    return rows.map(toOrder);
  }

  /**
   * Inserts the order as pending_submit with a submit lease held by the caller, unless the id exists already.
   * `check` sees the symbol's exposure (position plus open orders) under a per-symbol lock, so two concurrent
   * orders cannot both slip under the position limit; it throws to refuse the order.
   */
  async createOrder(req: OrderRequest, leaseMs: number, check: (exposure: number) => void): Promise<CreateResult> {
    return this.tx(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext('execution_gateway:' || $1))", [req.symbol]);
      // One round trip for both facts: placement is on the hot path.
      const { rows } = await c.query<(OrderRow | { [K in keyof OrderRow]: null }) & { exposure: string }>(
        `SELECT o.*, e.exposure FROM
           (SELECT COALESCE((SELECT qty FROM positions WHERE symbol = $1), 0)
                 + COALESCE((SELECT SUM(CASE side WHEN 'buy' THEN qty - filled_qty ELSE filled_qty - qty END)
                               FROM orders WHERE symbol = $1 AND status IN ('pending_submit', 'accepted')), 0) AS exposure) e
           LEFT JOIN orders o ON o.client_order_id = $2`,
        [req.symbol, req.client_order_id],
      );
      const row = rows[0]!;
      if (row.client_order_id !== null) return { created: false, order: toOrder(row as OrderRow) };
      check(Number(row.exposure));
      const inserted = await c.query<OrderRow>(
        `INSERT INTO orders (client_order_id, symbol, side, qty, type, limit_price, status, submit_lease_until, submit_attempts)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending_submit', now() + $7 * interval '1 millisecond', 1)
         ON CONFLICT (client_order_id) DO NOTHING RETURNING *`,
        [req.client_order_id, req.symbol, req.side, req.qty, req.type, req.limit_price, leaseMs],
      );
      if (inserted.rows[0]) return { created: true, order: toOrder(inserted.rows[0]) };
      // Same id inserted concurrently under another symbol's lock: that one wins, this is a replay.
      const raced = await c.query<OrderRow>('SELECT * FROM orders WHERE client_order_id = $1', [req.client_order_id]);
      return { created: false, order: toOrder(raced.rows[0]!) };
    });
  }

  /** Takes the submit lease of up to `limit` pending orders whose lease has expired (a crashed or failed submitter). */
  async claimPending(limit: number, leaseMs: number): Promise<Order[]> {
    const { rows } = await this.pool.query<OrderRow>(
      `UPDATE orders SET submit_lease_until = now() + $2 * interval '1 millisecond', submit_attempts = submit_attempts + 1, updated_at = now()
       WHERE id IN (SELECT id FROM orders WHERE status = 'pending_submit' AND (submit_lease_until IS NULL OR submit_lease_until < now())
                    ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [limit, leaseMs],
    );
    return rows.map(toOrder);
  }

  /** Gives up the lease after a failed submit so the resubmit loop may take the order at once. */
  async releaseLease(clientOrderId: string): Promise<void> {
    await this.pool.query("UPDATE orders SET submit_lease_until = NULL WHERE client_order_id = $1 AND status = 'pending_submit'", [clientOrderId]);
  }

  /** Open orders to reconcile with the broker (or with quotes in dry-run), oldest first. */
  async listAccepted(limit: number): Promise<Order[]> {
    const { rows } = await this.pool.query<OrderRow>("SELECT * FROM orders WHERE status = 'accepted' ORDER BY id LIMIT $1", [limit]);
    return rows.map(toOrder);
  }

  /**
   * Records the broker's view of an order and applies any newly filled quantity to the position, in one transaction.
   * The row lock serialises concurrent reports, and nextOrderState lets only forward moves through, so a late or
   * repeated answer changes nothing: two submitters adopting one broker order never double-fill, and a filled order
   * never goes back to accepted.
   */
  async applyUpdate(clientOrderId: string, u: OrderUpdate): Promise<Order> {
    let decided = false;
    const order = await this.tx(async (c) => {
      const { rows } = await c.query<OrderRow>('SELECT * FROM orders WHERE client_order_id = $1 FOR UPDATE', [clientOrderId]);
      if (!rows[0]) throw new Error(`order ${clientOrderId} vanished from the orders table; was the database reset?`);
      const before = toOrder(rows[0]);
      const next = nextOrderState(before, u);
      if (!next.advanced && !next.filledMore) return before;
      const delta = clean(next.filled_qty - before.filled_qty);
      if (delta > 0 && u.filled_avg_price !== null) {
        // Price of just the new part, from the broker's cumulative average.
        const price = (u.filled_qty * u.filled_avg_price - before.filled_qty * (before.filled_avg_price ?? 0)) / delta;
        await this.fillPosition(c, before.symbol, before.side === 'buy' ? delta : -delta, price);
      }
      const updated = await c.query<OrderRow>(
        `UPDATE orders SET status = $2, broker_order_id = COALESCE($3, broker_order_id), filled_qty = $4,
                filled_avg_price = COALESCE($5, filled_avg_price), reject_reason = COALESCE($6, reject_reason),
                submit_lease_until = NULL, updated_at = now()
         WHERE client_order_id = $1 RETURNING *`,
        [
          clientOrderId,
          next.status,
          u.broker_order_id,
          next.filled_qty,
          next.filledMore ? u.filled_avg_price : null,
          next.advanced ? (u.reject_reason ?? null) : null,
        ],
      );
      const after = toOrder(updated.rows[0]!);
      decided = before.status === 'pending_submit' && after.status !== 'pending_submit';
      return after;
    });
    if (decided) this.opts.onDecided?.(order);
    return order;
  }

  private async fillPosition(c: pg.PoolClient, symbol: string, signedQty: number, price: number): Promise<void> {
    // The no-op update makes the upsert return (and lock) an existing row in one round trip.
    const { rows } = await c.query<PositionRow>(
      'INSERT INTO positions (symbol) VALUES ($1) ON CONFLICT (symbol) DO UPDATE SET symbol = EXCLUDED.symbol RETURNING *',
      [symbol],
    );
    const next = applyFill(toPosition(rows[0]!), signedQty, price);
    await c.query('UPDATE positions SET qty = $2, avg_cost = $3, realized_pnl = $4, updated_at = now() WHERE symbol = $1', [
      symbol,
      next.qty,
      next.avg_cost,
      next.realized_pnl,
    ]);
  }

  /** Every symbol ever traded (closed positions keep their realized P&L). */
  async listPositions(): Promise<Position[]> {
    const { rows } = await this.pool.query<PositionRow>('SELECT * FROM positions ORDER BY symbol');
    return rows.map(toPosition);
  }

  /**
   * Per symbol: the position plus what open orders (pending_submit, accepted) would still add, signed (sells < 0),
   * in one statement so a fill moving quantity from one to the other is never counted twice or missed.
   */
  async exposure(): Promise<Exposure[]> {
    const { rows } = await this.pool.query<{ symbol: string; position_qty: string; open_qty: string }>(
      `SELECT symbol, SUM(position_qty) AS position_qty, SUM(open_qty) AS open_qty FROM (
         SELECT symbol, qty AS position_qty, 0 AS open_qty FROM positions WHERE qty <> 0
         UNION ALL
         SELECT symbol, 0, CASE side WHEN 'buy' THEN qty - filled_qty ELSE filled_qty - qty END
           FROM orders WHERE status IN ('pending_submit', 'accepted')
       ) t GROUP BY symbol ORDER BY symbol`,
    );
    return rows
      .map((r) => ({ symbol: r.symbol, position_qty: clean(Number(r.position_qty)), open_qty: clean(Number(r.open_qty)) }))
      .filter((e) => e.position_qty !== 0 || e.open_qty !== 0);
  }

  async pendingSubmitCount(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM orders WHERE status = 'pending_submit'");
    return rows[0]?.n ?? 0;
  }

  private tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return transaction(this.pool, fn);
  }
}
