// The signal service's Koa app: model registry routes, reload, and signal generation, each counted by route name.
import type Koa from 'koa';
import type Router from '@koa/router';
import type { Logger } from 'pino';
import { z } from 'zod';
import { assertAdmin } from '../kit/admin.ts';
import { conflict, HttpError, notFound, unprocessable } from '../kit/errors.ts';
import { withDb } from '../kit/pg.ts';
import { pingRedis, withRedis, type Redis } from '../kit/redis.ts';
import { createService } from '../kit/service.ts';
import { statusClass } from '../kit/labels.ts';
import { TICKER } from '../kit/platform.ts';
import { idParam, parseBody, parseParams } from '../kit/validate.ts';
import type { Endpoint, SignalMetrics } from './metrics.ts';
import { MAX_TOP_N, newModelSchema, validateModel, type LoadedModel } from './models.ts';
import { DuplicateModelError, type ModelRegistry } from './registry.ts';
import type { ModelLoader, ReloadOutcome } from './loader.ts';
import { generateSignals, LATEST_SIGNALS_KEY, type SignalSet } from './signals.ts';

export interface SignalAppDeps {
  registry: ModelRegistry;
  loader: ModelLoader;
  redis: Redis;
  metrics: SignalMetrics;
  logger: Logger;
  /** Default universe for POST /signals. */
  symbols: readonly string[];
  /** ADMIN_TOKEN: when set, activation and reload need it as a Bearer token. */
  adminToken?: string | undefined;
}

/** Largest symbol list one POST /signals may score (a single Redis pipeline). */
export const MAX_SIGNAL_SYMBOLS = 500;

const signalRequestSchema = z
  .object({
    symbols: z
      .array(z.string().regex(TICKER, 'must be an upper-case ticker like AAPL'))
      .min(1)
      .max(MAX_SIGNAL_SYMBOLS)
      .optional(),
    topN: z.number().int().min(1).max(MAX_TOP_N).optional(),
  })
  .strict();

/** models.id is a serial (int4) column. */
const modelIdParams = z.object({ id: idParam() });

const NO_MODEL_MESSAGE = 'no model is loaded: the registry has no valid active model; activate one with POST /models/:id/activate';

export function createApp(deps: SignalAppDeps): { app: Koa } {
  const { app, router } = createService({
    name: 'signal-service',
    registry: deps.metrics.registry,
    logger: deps.logger,
    // Postgres is not required to serve signals from the loaded model, so it is not a readiness condition.
    readiness: {
      redis: () => pingRedis(deps.redis),
      model: async () => {
        if (!deps.loader.current) throw new Error(NO_MODEL_MESSAGE);
      },
    },
  });

  const route = (endpoint: Endpoint, handler: (ctx: Router.RouterContext) => Promise<void>): Router.Middleware => {
    return async (ctx) => {
      try {
        await handler(ctx);
        deps.metrics.requests.inc({ endpoint, status: statusClass(ctx.status) });
      } catch (err) {
        deps.metrics.requests.inc({ endpoint, status: statusClass(err instanceof HttpError ? err.status : 500) });
        throw err;
      }
    };
  };

  router.get(
    '/models',
    route('models_list', async (ctx) => {
      ctx.body = { models: await withDb(() => deps.registry.list()) };
    }),
  );

  router.post(
    '/models',
    route('models_create', async (ctx) => {
      const input = parseBody(newModelSchema, ctx.request.body);
      try {
        ctx.body = { model: await withDb(() => deps.registry.create(input)) };
      } catch (err) {
        if (err instanceof DuplicateModelError) throw conflict(err.message);
        throw err;
      }
      ctx.status = 201;
    }),
  );

  router.post(
    '/models/reload',
    route('models_reload', async (ctx) => {
      assertAdmin(ctx, deps.adminToken);
      const outcome = await withDb(() => deps.loader.reload('request'));
      ctx.body = { model: loadedOrThrow(outcome) };
    }),
  );

  router.post(
    '/models/:id/activate',
    route('models_activate', async (ctx) => {
      assertAdmin(ctx, deps.adminToken);
      const { id } = parseParams(modelIdParams, ctx.params);
      const record = await withDb(() => deps.registry.get(id));
      if (!record) throw notFound(`model ${id} does not exist; list models with GET /models`);
      const validation = validateModel(record);
      if (!validation.ok) {
        throw unprocessable(`model ${id} cannot be activated: ${validation.problems.join('; ')}; register a corrected version`, {
          problems: validation.problems,
        });
      }
      const activated = await withDb(() => deps.registry.activate(id));
      if (!activated) throw notFound(`model ${id} was deleted while activating; list models with GET /models`);
      // Load it here at once; other instances pick it up on their next poll.
      const outcome = await withDb(() => deps.loader.reload('request'));
      ctx.body = { model: activated, loaded: loadedOrThrow(outcome) };
    }),
  );

  router.post(
    '/signals',
    route('signals_generate', async (ctx) => {
      const model = deps.loader.current;
      if (!model) throw new HttpError(503, 'model_not_loaded', NO_MODEL_MESSAGE);
      const input = parseBody(signalRequestSchema, ctx.request.body ?? {});
      const symbols = [...new Set(input.symbols ?? deps.symbols)];
      const endTimer = deps.metrics.generationDuration.startTimer();
      let set: SignalSet;
      try {
        set = await withRedis(() => generateSignals({ redis: deps.redis, model, symbols, topN: input.topN ?? model.params.topN, now: new Date() }));
      } finally {
        endTimer();
      }
      deps.metrics.predictions.inc({ model_name: deps.metrics.modelNameLabel(model.name) }, set.signals.length);
      const actionable = set.signals.filter((s) => s.target_weight !== 0).length;
      deps.metrics.signalsGenerated.inc({ model_version: String(model.version) }, actionable);
      ctx.body = set;
    }),
  );

  router.get(
    '/signals/latest',
    route('signals_latest', async (ctx) => {
      const cached = await withRedis(() => deps.redis.get(LATEST_SIGNALS_KEY));
      if (cached === null) throw notFound('no signals generated yet; generate some with POST /signals');
      ctx.body = JSON.parse(cached) as SignalSet;
    }),
  );

  return { app };
}

function loadedOrThrow(outcome: ReloadOutcome): LoadedModel {
  if (outcome.status === 'loaded') return outcome.model;
  if (outcome.status === 'unloaded') throw new HttpError(503, 'model_not_loaded', NO_MODEL_MESSAGE);
  const kept = outcome.kept ? `model ${outcome.kept.id} ("${outcome.kept.name}" v${outcome.kept.version}) stays loaded` : 'no model is loaded';
  throw unprocessable(
    `active model ${outcome.record.id} ("${outcome.record.name}" v${outcome.record.version}) is invalid: ${outcome.problems.join('; ')}; ${kept}. Activate a valid model or register a corrected version`,
    { problems: outcome.problems, kept: outcome.kept ?? null },
  );
}
