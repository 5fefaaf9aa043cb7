import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import pg from 'pg';
import { assertDockerReachable, startPostgresContainer, type ContainerPostgres } from '../stack/containers.ts';
import { resolveBackend, startStack } from '../stack/index.ts';

/** The container backend can only really run where a Docker engine answers; elsewhere it must refuse in one line. */
const dockerReachable = await assertDockerReachable().then(
  () => true,
  () => false,
);

const test = suite<{ pg?: ContainerPostgres }>('container backend', {});

test.after(async (ctx) => {
  await ctx.pg?.remove();
});

test('backend comes from options, then ALERTPROOF_BACKEND, then defaults to process', () => {
  const saved = process.env.ALERTPROOF_BACKEND;
  try {
    delete process.env.ALERTPROOF_BACKEND;
    assert.is(resolveBackend(), 'process');
    process.env.ALERTPROOF_BACKEND = 'container';
    assert.is(resolveBackend(), 'container');
    assert.is(resolveBackend('process'), 'process');
    process.env.ALERTPROOF_BACKEND = 'vm';
    assert.throws(() => resolveBackend(), /unknown stack backend "vm" \(from ALERTPROOF_BACKEND\); use process or container/);
  } finally {
    if (saved === undefined) delete process.env.ALERTPROOF_BACKEND;
    else process.env.ALERTPROOF_BACKEND = saved;
  }
});

if (!dockerReachable) {
  test('refuses with one clear line when no Docker engine is reachable', async () => {
    const err = await startStack({ backend: 'container', services: [] }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.ok(err, 'startStack must reject without Docker');
    assert.is(err!.message.includes('\n'), false, 'one line');
    assert.match(err!.message, /^container backend needs a Docker engine; none reachable at \S+ \(use --backend process\)$/);
  });
} else {
  test('runs Postgres in a container that keeps its port across stop/start', async (ctx) => {
    ctx.pg = await startPostgresContainer();
    const select = async (url: string): Promise<number> => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query<{ n: number }>('SELECT 41 + 1 AS n')).rows[0]!.n;
      } finally {
        await client.end();
      }
    };
    const url = await ctx.pg.createDatabase('container_test');
    assert.is(await select(url), 42);
    await ctx.pg.stop();
    await ctx.pg.start();
    assert.is(await select(url), 42);
  });
}

test.run();
