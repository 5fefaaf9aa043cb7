import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { createService, listen, type RunningServer } from '../services/kit/service.ts';
import { createLogger } from '../services/kit/logger.ts';
import { parseBody } from '../services/kit/validate.ts';
import { loadConfig, ConfigError, baseEnv } from '../services/kit/config.ts';
import { boundedLabel, statusClass } from '../services/kit/labels.ts';
import { unavailable } from '../services/kit/errors.ts';

const test = suite<{ srv?: RunningServer; ready: boolean }>('service kit', { ready: true });

test.before(async (ctx) => {
  const { app, router } = createService({
    name: 'kit-test',
    registry: new Registry(),
    logger: createLogger('kit-test', 'silent'),
    readiness: {
      thing: async () => {
        if (!ctx.ready) throw new Error('thing is down');
      },
    },
  });
  router.post('/echo', (c) => {
    c.body = parseBody(z.object({ n: z.number().int() }), c.request.body);
  });
  router.get('/dep', () => {
    throw unavailable('thing', 'thing unavailable');
  });
  ctx.srv = await listen(app);
});

test.after(async (ctx) => {
  await ctx.srv?.close();
});

test('echoes a valid JSON body', async (ctx) => {
  const res = await fetch(`${ctx.srv!.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":3}' });
  assert.is(res.status, 200);
  assert.equal(await res.json(), { n: 3 });
});

test('rejects malformed JSON with 400 and a message', async (ctx) => {
  const res = await fetch(`${ctx.srv!.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{n:' });
  assert.is(res.status, 400);
  const body = (await res.json()) as { error: { code: string } };
  assert.is(body.error.code, 'invalid_json');
});

test('rejects a wrong field type with 400 naming the field', async (ctx) => {
  const res = await fetch(`${ctx.srv!.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":"x"}' });
  assert.is(res.status, 400);
  const body = (await res.json()) as { error: { message: string } };
  assert.match(body.error.message, /^invalid request body: n:/);
});

test('unknown route is a JSON 404', async (ctx) => {
  const res = await fetch(`${ctx.srv!.url}/nope`);
  assert.is(res.status, 404);
  assert.match(((await res.json()) as { error: { message: string } }).error.message, /no route for GET \/nope/);
});

test('dependency failure is a 503 naming the dependency', async (ctx) => {
  const res = await fetch(`${ctx.srv!.url}/dep`);
  assert.is(res.status, 503);
  assert.equal(((await res.json()) as { error: { details: unknown } }).error.details, { dependency: 'thing' });
});

test('/ready reflects dependency checks', async (ctx) => {
  assert.is((await fetch(`${ctx.srv!.url}/ready`)).status, 200);
  ctx.ready = false;
  const res = await fetch(`${ctx.srv!.url}/ready`);
  assert.is(res.status, 503);
  assert.is(((await res.json()) as { checks: Record<string, string> }).checks.thing, 'thing is down');
  ctx.ready = true;
});

test('config errors name the variable', () => {
  try {
    loadConfig('svc', z.object(baseEnv), { PORT: 'abc' });
    assert.unreachable('should throw');
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.match((err as Error).message, /PORT/);
  }
});

test('bounded labels fold unknown values into "other"', () => {
  const allowed = new Set(['AAPL']);
  assert.is(boundedLabel('AAPL', allowed), 'AAPL');
  assert.is(boundedLabel('ZZZZ', allowed), 'other');
  assert.is(statusClass(503), '5xx');
  assert.is(statusClass(undefined), 'error');
});

test.run();
