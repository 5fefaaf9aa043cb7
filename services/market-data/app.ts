// market-data HTTP API: subscriptions and latest quotes, on the shared service skeleton.
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { notFound } from '../kit/errors.ts';
import { pingRedis, type Redis } from '../kit/redis.ts';
import { createService } from '../kit/service.ts';
import { parseParams, tickerSchema } from '../kit/validate.ts';
import type { QuoteStore } from './quotes.ts';
import type { MarketStream } from './stream.ts';
import type { Subscriptions } from './subscriptions.ts';

export interface MarketDataDeps {
  registry: Registry;
  logger: Logger;
  redis: Redis;
  stream: MarketStream;
  subscriptions: Subscriptions;
  quotes: QuoteStore;
}

const symbolParams = z.object({ symbol: tickerSchema });

export function createApp(deps: MarketDataDeps): Koa {
  const { app, router } = createService({
    name: 'market-data',
    registry: deps.registry,
    logger: deps.logger,
    readiness: {
      redis: () => pingRedis(deps.redis),
      stream: async () => {
        if (deps.stream.state !== 'ready') throw new Error(`market-data stream ${deps.stream.state}`);
      },
    },
  });

  router.get('/subscriptions', (ctx) => {
    ctx.body = deps.subscriptions.list();
  });

  router.post('/subscriptions', async (ctx) => {
    ctx.body = await deps.subscriptions.addFromBody(ctx.request.body);
  });

  router.delete('/subscriptions/:symbol', async (ctx) => {
    ctx.body = await deps.subscriptions.remove(ctx.params);
  });

  router.get('/quotes/:symbol', async (ctx) => {
    const { symbol } = parseParams(symbolParams, ctx.params);
    const quote = await deps.quotes.latest(symbol);
    if (!quote) throw notFound(`no quote for ${symbol} yet; subscribe it with POST /subscriptions`);
    ctx.body = quote;
  });

  return app;
}
