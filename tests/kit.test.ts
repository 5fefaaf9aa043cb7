import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { createService, listen, type RunningServer } from '../services/kit/service.ts';
import { idParam, parseBody, parseParams, parseQuery, limitParam, plainText } from '../services/kit/validate.ts';
import { loadConfig, ConfigError, baseEnv } from '../services/kit/config.ts';
import { boundedLabel, statusClass } from '../services/kit/labels.ts';
import { unavailable } from '../services/kit/errors.ts';

const test = suite<{ srv?: RunningServer; ready: boolean; logLines: string[] }>('service kit', { ready: true, logLines: [] });

test.before(async (ctx) => {
  const { app, router } = createService({
    name: 'kit-test',
    registry: new Registry(),
    logger: pino({ level: 'warn' }, { write: (line: string) => void ctx.logLines.push(line) }),
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
  router.get('/boom', () => {
    throw new Error('relation "secret_table" does not exist');
  });
  router.get('/teapot', () => {
    throw Object.assign(new Error('short and stout'), { status: 418, expose: true });
  });
  router.get('/items/:id', (c) => {
    c.body = { ...parseParams(z.object({ id: idParam() }), c.params), ...parseQuery(z.object({ limit: limitParam(20, 100) }), c.query) };
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

test('an unexpected error answers 500 with a request id, never its message, and logs the message under that id', async (ctx) => {
  const res = await fetch(`${ctx.srv!.url}/boom`);
  assert.is(res.status, 500);
  const text = await res.text();
  assert.not.match(text, /secret_table/);
  const body = JSON.parse(text) as { error: { code: string; message: string; request_id: string } };
  assert.is(body.error.code, 'internal');
  assert.is(res.headers.get('x-request-id'), body.error.request_id);
  assert.match(body.error.message, new RegExp(`request id ${body.error.request_id}`));
  const logged = ctx.logLines.map((l) => JSON.parse(l) as { requestId?: string; err?: { message?: string } }).find((l) => l.requestId === body.error.request_id);
  assert.match(logged?.err?.message ?? '', /secret_table/);
});

test('every answer carries its own X-Request-Id', async (ctx) => {
  const [a, b] = await Promise.all([fetch(`${ctx.srv!.url}/health`), fetch(`${ctx.srv!.url}/health`)]);
  assert.match(a.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  assert.is.not(a.headers.get('x-request-id'), b.headers.get('x-request-id'));
});

test('a library 4xx that says expose keeps its status and message', async (ctx) => {
  const res = await fetch(`${ctx.srv!.url}/teapot`);
  assert.is(res.status, 418);
  assert.is(((await res.json()) as { error: { message: string } }).error.message, 'short and stout');
});

test('path and query parameters are parsed like bodies: a bad one is a 400 naming it', async (ctx) => {
  assert.equal(await (await fetch(`${ctx.srv!.url}/items/7?limit=5`)).json(), { id: 7, limit: 5 });
  assert.equal(await (await fetch(`${ctx.srv!.url}/items/7`)).json(), { id: 7, limit: 20 });
  for (const [path, message] of [
    ['/items/99999999999999999999', /^invalid path parameters: id: must be a positive integer up to 2147483647$/],
    ['/items/2147483648', /^invalid path parameters: id: must be a positive integer up to 2147483647$/],
    ['/items/1e3', /^invalid path parameters: id:/],
    ['/items/%00', /^invalid path parameters: id:/],
    ['/items/7?limit=0', /^invalid query: limit:/],
    ['/items/7?limit=1&limit=2', /^invalid query: limit:/],
  ] as const) {
    const res = await fetch(`${ctx.srv!.url}${path}`);
    assert.is(res.status, 400, path);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, message, path);
  }
});

test('plainText refuses what Postgres or a log line cannot hold as sent: NUL, control characters, lone surrogates', () => {
  const name = plainText({ max: 10 });
  const id = plainText({ max: 10, spaces: false });
  assert.ok(name.safeParse('a b Ω 💥').success);
  for (const bad of ['a\u0000b', 'a\nb', '\u001b[0m', '\ud800', '', 'x'.repeat(11)]) assert.not.ok(name.safeParse(bad).success, JSON.stringify(bad));
  assert.ok(id.safeParse('run-1-AAPL').success);
  assert.not.ok(id.safeParse('run 1').success);
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
