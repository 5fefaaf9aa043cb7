// The gateway bench's floor: a trivial Koa app with one POST /orders route that reads the JSON body and answers 201, nothing more.
import Koa from 'koa';
import Router from '@koa/router';
import { runMain } from '../../services/kit/main.ts';
import { listen } from '../../services/kit/service.ts';

function createBareApp(): Koa {
  const app = new Koa();
  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok', service: 'bare-koa' };
  });
  // Reads and parses the same body the gateway gets, so the pair differs by the gateway's work, not by body handling.
  router.post('/orders', async (ctx) => {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
    const order = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { client_order_id?: unknown };
    ctx.status = 201;
    ctx.body = { client_order_id: order.client_order_id, status: 'accepted' };
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

runMain('bare-koa', async () => {
  const server = await listen(createBareApp(), process.env.HOST ?? '127.0.0.1', Number(process.env.PORT ?? 0));
  return { url: server.url, close: () => server.close() };
});
