// The sql driver: a statement on a named database of the target (registry faults a bad deploy would make).
import pg from 'pg';
import type { SqlStep } from '../matrix.ts';
import type { FaultContext } from '../scenario.ts';
import { binding } from './bindings.ts';
import type { Undo } from './index.ts';

async function run(url: string, what: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query(sql);
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function injectSql(step: SqlStep, ctx: FaultContext): Promise<Undo> {
  const databases = binding(ctx, step.target, 'databases');
  const url = databases[step.database];
  if (!url) throw new Error(`target "${step.target}" has no database "${step.database}" (databases: ${Object.keys(databases).join(', ') || 'none'})`);
  await run(url, `sql on ${step.database} (inject)`, step.inject);
  return () => run(url, `sql on ${step.database} (recover)`, step.recover);
}
