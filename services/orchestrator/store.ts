// Runs and their orders in Postgres (tables runs, run_orders); the schema is created on first use.
import { transaction, withDb, type Pool } from '../kit/pg.ts';
import type { OrderStatus, RunStatus } from './metrics.ts';
import { bySideThenSymbol } from './sizing.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id bigserial PRIMARY KEY,
  status text NOT NULL,
  trigger text NOT NULL,
  capital numeric NOT NULL,
  symbols text[] NOT NULL,
  model_name text,
  model_version integer,
  signals jsonb NOT NULL DEFAULT '[]',
  error text,
  dependency text,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE TABLE IF NOT EXISTS run_orders (
  run_id bigint NOT NULL REFERENCES runs(id),
  symbol text NOT NULL,
  client_order_id text NOT NULL UNIQUE,
  side text NOT NULL,
  qty numeric NOT NULL,
  target_qty numeric NOT NULL,
  current_qty numeric NOT NULL,
  price numeric NOT NULL,
  status text NOT NULL,
  http_status integer,
  error text,
  PRIMARY KEY (run_id, symbol)
);`;

export interface RunSignal {
  symbol: string;
  score: number;
  target_weight: number;
}

export interface RunOrder {
  symbol: string;
  client_order_id: string;
  side: 'buy' | 'sell';
  qty: number;
  target_qty: number;
  current_qty: number;
  price: number;
  status: OrderStatus;
  http_status: number | null;
  error: string | null;
}

export interface Run {
  id: number;
  status: RunStatus | 'running';
  trigger: 'api' | 'schedule';
  capital: number;
  symbols: string[];
  model_name: string | null;
  model_version: number | null;
  signals: RunSignal[];
  orders: RunOrder[];
  error: string | null;
  dependency: string | null;
  started_at: string;
  finished_at: string | null;
}

export interface RunOutcome {
  status: RunStatus;
  modelName?: string;
  modelVersion?: number;
  signals: RunSignal[];
  orders: RunOrder[];
  error?: string;
  dependency?: string;
}

interface RunRow {
  id: string;
  status: Run['status'];
  trigger: Run['trigger'];
  capital: string;
  symbols: string[];
  model_name: string | null;
  model_version: number | null;
  signals: RunSignal[];
  error: string | null;
  dependency: string | null;
  started_at: Date;
  finished_at: Date | null;
}

interface OrderRow {
  run_id: string;
  symbol: string;
  client_order_id: string;
  side: 'buy' | 'sell';
  qty: string;
  target_qty: string;
  current_qty: string;
  price: string;
  status: OrderStatus;
  http_status: number | null;
  error: string | null;
}

export class RunStore {
  private schema: Promise<void> | undefined;

  constructor(private readonly pool: Pool) {}

  /** Creates the tables once; a failure (Postgres down) is retried on the next call. */
  ensureSchema(): Promise<void> {
    this.schema ??= withDb(async () => {
      await this.pool.query(SCHEMA);
    }).catch((err: unknown) => {
      this.schema = undefined;
      throw err;
    });
    return this.schema;
  }

  async createRun(trigger: Run['trigger'], capital: number, symbols: string[]): Promise<number> {
    await this.ensureSchema();
    const { rows } = await withDb(() =>
      this.pool.query<{ id: string }>(`INSERT INTO runs (status, trigger, capital, symbols) VALUES ('running', $1, $2, $3) RETURNING id`, [trigger, capital, symbols]),
    );
    return Number(rows[0]!.id);
  }

  async finishRun(id: number, outcome: RunOutcome): Promise<void> {
    await withDb(() =>
      transaction(this.pool, async (client) => {
        await client.query(
          `UPDATE runs SET status = $2, model_name = $3, model_version = $4, signals = $5, error = $6, dependency = $7, finished_at = now() WHERE id = $1`,
          [id, outcome.status, outcome.modelName ?? null, outcome.modelVersion ?? null, JSON.stringify(outcome.signals), outcome.error ?? null, outcome.dependency ?? null],
        );
        for (const o of outcome.orders) {
          await client.query(
            `INSERT INTO run_orders (run_id, symbol, client_order_id, side, qty, target_qty, current_qty, price, status, http_status, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
            [id, o.symbol, o.client_order_id, o.side, o.qty, o.target_qty, o.current_qty, o.price, o.status, o.http_status, o.error],
          );
        }
      }),
    );
  }

  async getRun(id: number): Promise<Run | undefined> {
    await this.ensureSchema();
    return withDb(async () => {
      const { rows } = await this.pool.query<RunRow>('SELECT * FROM runs WHERE id = $1', [id]);
      if (!rows[0]) return undefined;
      const orders = await this.pool.query<OrderRow>('SELECT * FROM run_orders WHERE run_id = $1', [id]);
      return toRun(rows[0], orders.rows);
    });
  }

  async listRuns(limit: number): Promise<Run[]> {
    await this.ensureSchema();
    return withDb(async () => {
      const { rows } = await this.pool.query<RunRow>('SELECT * FROM runs ORDER BY id DESC LIMIT $1', [limit]);
      if (rows.length === 0) return [];
      const orders = await this.pool.query<OrderRow>('SELECT * FROM run_orders WHERE run_id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
      return rows.map((r) => toRun(r, orders.rows.filter((o) => o.run_id === r.id)));
    });
  }
}

function toRun(r: RunRow, orders: OrderRow[]): Run {
  return {
    id: Number(r.id),
    status: r.status,
    trigger: r.trigger,
    capital: Number(r.capital),
    symbols: r.symbols,
    model_name: r.model_name,
    model_version: r.model_version,
    signals: r.signals,
    orders: orders.map(toOrder).sort(bySideThenSymbol),
    error: r.error,
    dependency: r.dependency,
    started_at: r.started_at.toISOString(),
    finished_at: r.finished_at ? r.finished_at.toISOString() : null,
  };
}

function toOrder(o: OrderRow): RunOrder {
  return {
    symbol: o.symbol,
    client_order_id: o.client_order_id,
    side: o.side,
    qty: Number(o.qty),
    target_qty: Number(o.target_qty),
    current_qty: Number(o.current_qty),
    price: Number(o.price),
    status: o.status,
    http_status: o.http_status,
    error: o.error,
  };
}
