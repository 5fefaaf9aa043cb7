// services/kit/pg.ts against a real Postgres: a transaction whose connection dies between two queries fails with an
// error, never kills the process, and leaves the pool usable (the gateway crashed this way when Postgres stopped).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import pg from 'pg';
import { createLogger } from '../services/kit/logger.ts';
import { createPool, transaction } from '../services/kit/pg.ts';
import { startTestDeps, type TestDeps } from './helpers/stack.ts';

const test = suite<{ deps?: TestDeps; url: string }>('kit pg', { url: '' });

test.before(async (ctx) => {
  ctx.deps = await startTestDeps();
  ctx.url = await ctx.deps.pg.createDatabase('kitpg');
});

test.after(async (ctx) => {
  await ctx.deps?.owner.stopAll();
});

test('a connection terminated mid-transaction rejects the transaction, the process lives on, and the pool recovers', async ({ url }) => {
  const pool = createPool(url, createLogger('kit-pg-test', 'silent'), 2);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    let pid = 0;
    let resume: () => void = () => undefined;
    const paused = new Promise<void>((r) => (resume = r));
    const tx = transaction(pool, async (c) => {
      pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      // Between two queries, as when a transaction waits on anything else: no query is active on the client.
      await paused;
      await c.query('SELECT 1');
    });
    await new Promise<void>((r) => {
      const wait = (): void => void (pid ? r() : setTimeout(wait, 10));
      wait();
    });
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    // The client sees its socket close as an 'error' event, which must not reach the process as unhandled.
    await new Promise((r) => setTimeout(r, 200));
    resume();
    try {
      await tx;
      assert.unreachable('the transaction on a terminated connection must fail');
    } catch (err) {
      assert.instance(err, Error);
    }
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    assert.is(rows[0]!.one, 1, 'the pool serves queries on a fresh connection');
  } finally {
    await admin.end();
    await pool.end();
  }
});

test('a failing transaction rolls back and a passing one commits', async ({ url }) => {
  const pool = createPool(url, createLogger('kit-pg-test', 'silent'), 2);
  try {
    await pool.query('CREATE TABLE IF NOT EXISTS t (v int)');
    await transaction(pool, (c) => c.query('INSERT INTO t VALUES (1)'));
    try {
      await transaction(pool, async (c) => {
        await c.query('INSERT INTO t VALUES (2)');
        throw new Error('no');
      });
    } catch (err) {
      assert.is((err as Error).message, 'no');
    }
    const { rows } = await pool.query<{ v: number }>('SELECT v FROM t ORDER BY v');
    assert.equal(rows.map((r) => r.v), [1]);
  } finally {
    await pool.end();
  }
});

test.run();
