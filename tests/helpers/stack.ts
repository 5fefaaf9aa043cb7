// Test fixture: a real, ephemeral Postgres and Redis for one suite, stopped in after().
import { ProcessOwner } from '../../stack/processes.ts';
import { startPostgres, type PostgresHandle } from '../../stack/postgres.ts';
import { startRedis, type RedisHandle } from '../../stack/redis.ts';

export interface TestDeps {
  owner: ProcessOwner;
  pg: PostgresHandle;
  redis: RedisHandle;
}

export async function startTestDeps(): Promise<TestDeps> {
  const owner = new ProcessOwner();
  try {
    const [pg, redis] = await Promise.all([startPostgres(owner), startRedis(owner)]);
    return { owner, pg, redis };
  } catch (err) {
    await owner.stopAll();
    throw err;
  }
}
