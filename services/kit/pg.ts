// Postgres pool with short timeouts so an outage surfaces as a fast 503, not a hung request.
import pg from 'pg';
import type { Logger } from 'pino';
import { HttpError, unavailable } from './errors.ts';
import { isPostgresUnavailable } from './outages.ts';

export type Pool = pg.Pool;

export const PG_CONNECT_TIMEOUT_MS = 1500;
export const PG_QUERY_TIMEOUT_MS = 5000;
/** Longest one pool query can take before it fails: waiting for a connection, then the statement. */
export const PG_WORST_CASE_QUERY_MS = PG_CONNECT_TIMEOUT_MS + PG_QUERY_TIMEOUT_MS;

export function createPool(connectionString: string, logger: Logger, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 10_000,
    query_timeout: PG_QUERY_TIMEOUT_MS,
    statement_timeout: PG_QUERY_TIMEOUT_MS,
  });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', (err) => logger.warn({ err: err.message }, 'postgres idle client error'));
  return pool;
}

/**
 * Runs fn inside BEGIN/COMMIT on one pooled client (ROLLBACK on error). While checked out, a client's connection may
 * die between two queries (Postgres stopped, a backend terminated); pg then emits 'error' on the client, where the
 * pool's own handler no longer listens, and an 'error' event without a listener kills the process. So the client
 * has a listener for as long as it is out, and a client that lost its connection is destroyed, not returned.
 */
export async function transaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (err: Error): void => {
    lost = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => {
      lost ??= e;
    });
    throw err;
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
}

/** Runs fn and turns Postgres being unreachable or unable to serve into a 503 naming it; errors of the statement itself pass through. */
export async function withDb<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (isPostgresUnavailable(err)) throw unavailable('postgres', `database unavailable: ${(err as Error).message}`);
    throw err;
  }
}

export async function pingDb(pool: pg.Pool): Promise<void> {
  await pool.query('SELECT 1');
}
