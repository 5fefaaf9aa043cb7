// orchestrator HTTP API: start a run, list runs, read one run.
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { notFound } from '../kit/errors.ts';
import { pingDb, type Pool } from '../kit/pg.ts';
import { pingRedis, type Redis } from '../kit/redis.ts';
import { createService } from '../kit/service.ts';
import { idParam, limitParam, parseBody, parseParams, parseQuery } from '../kit/validate.ts';
import type { Runner } from './runs.ts';
import type { RunStore } from './store.ts';

export interface OrchestratorDeps {
  registry: Registry;
  logger: Logger;
  pool: Pool;
  redis: Redis;
  store: RunStore;
  runner: Runner;
  universe: string[];
}

const listQuery = z.object({ limit: limitParam(20, 500) });
/** runs.id is a bigserial; JavaScript numbers are exact up to 2^53 - 1. */
const runIdParams = z.object({ id: idParam(Number.MAX_SAFE_INTEGER) });

export function createApp(deps: OrchestratorDeps): Koa {
  const universe = new Set(deps.universe);
  const runBody = z
    .object({
      symbols: z
        .array(z.string().trim().toUpperCase())
        .min(1)
        .refine((list) => list.every((s) => universe.has(s)), { message: `every symbol must be in the universe (${deps.universe.join(',')})` })
        .optional(),
      capital: z.number().positive().finite().optional(),
    })
    .strict();

  const { app, router } = createService({
    name: 'orchestrator',
    registry: deps.registry,
    logger: deps.logger,
    readiness: { postgres: () => pingDb(deps.pool), redis: () => pingRedis(deps.redis) },
  });

  router.post('/runs', async (ctx) => {
    const body = parseBody(runBody, ctx.request.body ?? {});
    const run = await deps.runner.run({ ...(body.symbols ? { symbols: [...new Set(body.symbols)] } : {}), ...(body.capital ? { capital: body.capital } : {}) }, 'api');
    ctx.status = 201;
    ctx.body = run;
  });

  router.get('/runs', async (ctx) => {
    const { limit } = parseQuery(listQuery, ctx.query);
    ctx.body = { runs: await deps.store.listRuns(limit) };
  });

  router.get('/runs/:id', async (ctx) => {
    const { id } = parseParams(runIdParams, ctx.params);
    const run = await deps.store.getRun(id);
    if (!run) throw notFound(`run ${id} not found; GET /runs lists recent runs`);
    ctx.body = run;
  });

  return app;
}
