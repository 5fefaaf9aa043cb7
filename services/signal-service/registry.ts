// Versioned model registry in Postgres: the models table (at most one active row, enforced by a partial unique index).
import type { Pool, PoolClient } from 'pg';
import { transaction } from '../kit/pg.ts';
import type { NewModel, StoredModel } from './models.ts';

export interface ModelRecord extends StoredModel {
  active: boolean;
  created_at: Date;
}

const COLUMNS = 'id, name, version, kind, params, active, created_at';
/** Serialises migrations and activations across every instance sharing the database. */
const REGISTRY_LOCK = "hashtext('signal-service.models')";

const MIGRATION = `
CREATE TABLE IF NOT EXISTS models (
  id serial PRIMARY KEY,
  name text NOT NULL,
  version int NOT NULL,
  kind text NOT NULL,
  params jsonb NOT NULL,
  active boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (name, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS models_one_active ON models (active) WHERE active;
`;

export class DuplicateModelError extends Error {}

export class ModelRegistry {
  constructor(private readonly pool: Pool) {}

  async migrate(): Promise<void> {
    await this.transaction(async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(${REGISTRY_LOCK})`);
      await client.query(MIGRATION);
    });
  }

  async list(): Promise<ModelRecord[]> {
    const { rows } = await this.pool.query<ModelRecord>(`SELECT ${COLUMNS} FROM models ORDER BY id`);
    return rows;
  }

  async get(id: number): Promise<ModelRecord | undefined> {
    const { rows } = await this.pool.query<ModelRecord>(`SELECT ${COLUMNS} FROM models WHERE id = $1`, [id]);
    return rows[0];
  }

  async active(): Promise<ModelRecord | undefined> {
    const { rows } = await this.pool.query<ModelRecord>(`SELECT ${COLUMNS} FROM models WHERE active`);
    return rows[0];
  }

  /** Inserts an inactive model; throws DuplicateModelError when name+version exists. */
  async create(model: NewModel): Promise<ModelRecord> {
    try {
      const { rows } = await this.pool.query<ModelRecord>(
        `INSERT INTO models (name, version, kind, params) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
        [model.name, model.version, model.kind, JSON.stringify(model.params)],
      );
      return rows[0]!;
    } catch (err) {
      if ((err as { code?: string }).code === '23505') {
        throw new DuplicateModelError(`model "${model.name}" version ${model.version} already exists; register a new version`);
      }
      throw err;
    }
  }

  /** Makes `id` the only active model; returns undefined when there is no such model. */
  async activate(id: number): Promise<ModelRecord | undefined> {
    return this.transaction(async (client) => {
      // Without the lock two concurrent activations could each clear the old row and collide on the unique index.
      await client.query(`SELECT pg_advisory_xact_lock(${REGISTRY_LOCK})`);
      const exists = await client.query('SELECT 1 FROM models WHERE id = $1', [id]);
      if (exists.rowCount === 0) return undefined;
      await client.query('UPDATE models SET active = false WHERE active AND id <> $1', [id]);
      const { rows } = await client.query<ModelRecord>(`UPDATE models SET active = true WHERE id = $1 RETURNING ${COLUMNS}`, [id]);
      return rows[0];
    });
  }

  private transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    return transaction(this.pool, fn);
  }
}
