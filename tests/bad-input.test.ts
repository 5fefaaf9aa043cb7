// Bad input gets a 4xx, never a 5xx: the probe's two known bugs, then a seeded fuzz of every route's body, path and query against the real services.
// FUZZ_SEED, FUZZ_RUNS (per route) and FUZZ_RUNS_PER_FIELD explore further than the bounded default run.
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeAlpaca } from '../services/fake-alpaca/server.ts';
import { loadGatewayConfig } from '../services/execution-gateway/config.ts';
import { startExecutionGateway } from '../services/execution-gateway/server.ts';
import { loadSignalConfig } from '../services/signal-service/config.ts';
import { startSignalService } from '../services/signal-service/server.ts';
import { loadOrchestratorConfig } from '../services/orchestrator/config.ts';
import { startOrchestrator } from '../services/orchestrator/server.ts';
import { loadMarketDataConfig } from '../services/market-data/config.ts';
import { startMarketData } from '../services/market-data/server.ts';
import { AUTH_HEADERS } from './helpers/fake-alpaca.ts';
import { acceptable, anyJson, body, field, FuzzClient, hostileAt, nested, query, segment, spikedText, text, validOf, type Field, type FuzzBody } from './helpers/fuzz.ts';
import { waitFor } from './helpers/scrape.ts';
import { startTestDeps, type TestDeps } from './helpers/stack.ts';

type Target = 'execution-gateway' | 'signal-service' | 'orchestrator' | 'market-data' | 'fake-alpaca' | 'fake-alpaca-admin';

interface Ctx {
  deps?: TestDeps;
  closers: Array<() => Promise<void>>;
  urls: Record<Target, string>;
  /** Values that exist, so the fuzz reaches past the 404s: an order, a model, a run, a broker order. */
  known: { orderId: string; modelId: number; runId: number; brokerOrderId: string };
}

const SYMBOLS = ['AAPL', 'MSFT', 'SPY'];
const SEED = Number(process.env.FUZZ_SEED ?? 20_240_613);
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 10);
const RUNS_PER_KIT_ROUTE = 3;
/** Per body field: a valid body with that one field hostile, its probe value first. */
const RUNS_PER_FIELD = Number(process.env.FUZZ_RUNS_PER_FIELD ?? 4);
/** The whole fuzz must finish within this; a hang is a failure too. */
const FUZZ_BUDGET_MS = 60_000;
const ROOT = path.resolve(import.meta.dirname, '..');

const test = suite<Ctx>('bad input gets a 4xx, never a 5xx', { closers: [] } as unknown as Ctx);

async function json<T>(res: Response): Promise<T> {
  const answer = await res.text();
  if (!res.ok) throw new Error(`${res.url} answered ${res.status}: ${answer}`);
  return JSON.parse(answer) as T;
}

const post = (b: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) });

test.before(async (ctx) => {
  ctx.closers = [];
  const own = <T extends { close(): Promise<void> }>(s: T): T => {
    ctx.closers.push(() => s.close());
    return s;
  };
  ctx.deps = await startTestDeps();
  ctx.closers.push(() => ctx.deps!.owner.stopAll());
  const common = { REDIS_URL: ctx.deps.redis.url, SYMBOLS: SYMBOLS.join(','), LOG_LEVEL: 'silent', PROBE_INTERVAL_MS: '200' };
  const alpaca = own(await startFakeAlpaca({ symbols: SYMBOLS, seed: 11, tickMs: 50, logLevel: 'silent' }));
  // A second fake whose admin API the fuzz drives, so injected faults never reach the services under test.
  const faulted = own(await startFakeAlpaca({ symbols: SYMBOLS, seed: 12, tickMs: 1000, logLevel: 'silent' }));
  const [gatewayDb, signalDb, orchDb] = await Promise.all(['gateway', 'signals', 'orch'].map((n) => ctx.deps!.pg.createDatabase(n)));
  const gateway = own(
    await startExecutionGateway(loadGatewayConfig({ ...common, DATABASE_URL: gatewayDb, ALPACA_BASE_URL: alpaca.url, ALPACA_TIMEOUT_MS: '500', ALPACA_RETRIES: '1' })),
  );
  const signals = own(await startSignalService(loadSignalConfig({ ...common, DATABASE_URL: signalDb, MODEL_POLL_MS: '500' })));
  const orchestrator = own(
    await startOrchestrator(
      loadOrchestratorConfig({ ...common, DATABASE_URL: orchDb, SIGNAL_SERVICE_URL: signals.url, EXECUTION_GATEWAY_URL: gateway.url, REQUEST_TIMEOUT_MS: '3000' }),
    ),
  );
  const marketData = own(
    await startMarketData(
      loadMarketDataConfig({ ...common, ALPACA_DATA_WS_URL: alpaca.wsUrl, EXECUTION_GATEWAY_URL: gateway.url, POSITION_SYNC_MS: '500', SUBSCRIPTION_TIMEOUT_MS: '500' }),
    ),
  );
  ctx.urls = {
    'execution-gateway': gateway.url,
    'signal-service': signals.url,
    orchestrator: orchestrator.url,
    'market-data': marketData.url,
    'fake-alpaca': alpaca.url,
    'fake-alpaca-admin': faulted.adminUrl,
  };

  const model = (await json<{ model: { id: number } }>(await fetch(`${signals.url}/models`, post({ name: 'fuzz-momentum', version: 1, kind: 'momentum', params: { lookback: 2, topN: 1 } })))).model;
  await json(await fetch(`${signals.url}/models/${model.id}/activate`, post({})));
  const order = await json<{ client_order_id: string }>(await fetch(`${gateway.url}/orders`, post({ client_order_id: 'fuzz-known-1', symbol: 'AAPL', side: 'buy', qty: 1, type: 'market' })));
  const brokerOrder = await json<{ id: string }>(
    await fetch(`${alpaca.url}/v2/orders`, { method: 'POST', headers: { ...AUTH_HEADERS, 'content-type': 'application/json' }, body: JSON.stringify({ symbol: 'SPY', qty: 1, side: 'buy', type: 'limit', limit_price: 1, time_in_force: 'day', client_order_id: 'fuzz-known-broker' }) }),
  );
  await waitFor('quotes in Redis for a run', async () => (await fetch(`${marketData.url}/quotes/AAPL`)).status === 200, 10_000);
  const run = await json<{ id: number }>(await fetch(`${orchestrator.url}/runs`, post({})));
  ctx.known = { orderId: order.client_order_id, modelId: model.id, runId: run.id, brokerOrderId: brokerOrder.id };
});

test.after(async (ctx) => {
  for (const close of ctx.closers.reverse()) await close().catch(() => undefined);
});

test('GET /orders/%00 on the gateway answers 400, not a 500 from Postgres refusing the NUL byte', async ({ urls }) => {
  const res = await fetch(`${urls['execution-gateway']}/orders/%00`);
  const answer = await res.text();
  assert.is(res.status, 400, answer);
  assert.match(answer, /client_order_id/);
});

test('POST /models/99999999999999999999/activate on the signal service answers 400, not a 500 from integer out of range', async ({ urls }) => {
  const res = await fetch(`${urls['signal-service']}/models/99999999999999999999/activate`, { method: 'POST' });
  const answer = await res.text();
  assert.is(res.status, 400, answer);
  assert.match(answer, /id/);
});

interface RouteFuzz {
  target: Target;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** As registered with the router (":name" path parameters). */
  route: string;
  params?: Record<string, fc.Arbitrary<string>>;
  query?: fc.Arbitrary<string>;
  /** The body's fields, or 'any' for a route that ignores its body (fuzzed with anything all the same). */
  body?: Record<string, Field> | 'any';
  /** Headers besides content-type (fake-alpaca's key headers). */
  headers?: fc.Arbitrary<Record<string, string>>;
}

const ticker: Field = { valid: fc.constantFrom('AAPL', 'msft', 'SPY'), hostile: fc.oneof(spikedText, anyJson, fc.constantFrom('ZZZZ', 'A'.repeat(11), '1AB')), probe: 'A\u0000' };
const symbolList: Field = {
  valid: fc.constantFrom(['AAPL'], ['aapl', 'SPY'], ['AAPL', 'AAPL']),
  hostile: fc.oneof(fc.constantFrom(['ZZZZ'], [], ['AAPL', '\u0000']), fc.array(anyJson, { maxLength: 3 }), anyJson),
  probe: ['AAPL', 'A\u0000'],
};
const clientOrderId: Field = {
  valid: fc.oneof(fc.constantFrom('fuzz-known-1'), fc.stringMatching(/^fuzz-[a-z0-9]{1,12}$/)),
  hostile: fc.oneof(spikedText, anyJson, fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 24 }), fc.constant('x'.repeat(129))),
  probe: 'fuzz-\u0000',
};
/** Usually the right keys (so the fuzz reaches the routes), now and then wrong or none. */
const alpacaKeys = fc.oneof(
  { weight: 8, arbitrary: fc.constant(AUTH_HEADERS) },
  { weight: 1, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.constant({ 'APCA-API-KEY-ID': 'test-key', 'APCA-API-SECRET-KEY': 'wrong' }) },
);

function routes(known: Ctx['known']): RouteFuzz[] {
  const alpaca = (method: RouteFuzz['method'], route: string, more: Omit<RouteFuzz, 'target' | 'method' | 'route' | 'headers'> = {}): RouteFuzz => ({
    target: 'fake-alpaca',
    method,
    route,
    headers: alpacaKeys,
    ...more,
  });
  return [
    {
      target: 'execution-gateway',
      method: 'POST',
      route: '/orders',
      body: { client_order_id: clientOrderId, symbol: ticker, side: field('buy', 'sell'), qty: field(1, 2, 0.5), type: field('market'), limit_price: field(null) },
    },
    { target: 'execution-gateway', method: 'GET', route: '/orders', query: query({ limit: ['1', '50', '500'] }) },
    { target: 'execution-gateway', method: 'GET', route: '/orders/:client_order_id', params: { client_order_id: segment(known.orderId, 'nope-1') } },
    { target: 'execution-gateway', method: 'GET', route: '/positions', query: query({}) },
    { target: 'execution-gateway', method: 'GET', route: '/pnl', query: query({}) },
    { target: 'execution-gateway', method: 'GET', route: '/exposure', query: query({}) },
    { target: 'execution-gateway', method: 'GET', route: '/circuit-breaker', query: query({}) },
    { target: 'execution-gateway', method: 'POST', route: '/circuit-breaker/trip', body: { reason: text('fuzz') } },
    { target: 'execution-gateway', method: 'POST', route: '/circuit-breaker/reset', body: 'any' },

    { target: 'signal-service', method: 'GET', route: '/models', query: query({}) },
    {
      target: 'signal-service',
      method: 'POST',
      route: '/models',
      body: {
        name: text('fuzz-model', 'm'),
        version: field(1, 2, 3),
        kind: field('momentum', 'mean_reversion'),
        params: nested({ lookback: field(2, 5), topN: field(1, 2) }),
      },
    },
    { target: 'signal-service', method: 'POST', route: '/models/reload', body: 'any' },
    { target: 'signal-service', method: 'POST', route: '/models/:id/activate', params: { id: segment(String(known.modelId), '2', '3') }, body: 'any' },
    { target: 'signal-service', method: 'POST', route: '/signals', body: { symbols: symbolList, topN: field(1, 2) } },
    { target: 'signal-service', method: 'GET', route: '/signals/latest', query: query({}) },

    { target: 'orchestrator', method: 'POST', route: '/runs', body: { symbols: symbolList, capital: field(1000, 100_000) } },
    { target: 'orchestrator', method: 'GET', route: '/runs', query: query({ limit: ['1', '20', '500'] }) },
    { target: 'orchestrator', method: 'GET', route: '/runs/:id', params: { id: segment(String(known.runId), '999') } },

    { target: 'market-data', method: 'GET', route: '/subscriptions', query: query({}) },
    { target: 'market-data', method: 'POST', route: '/subscriptions', body: { symbols: symbolList } },
    { target: 'market-data', method: 'DELETE', route: '/subscriptions/:symbol', params: { symbol: segment('AAPL', 'msft', 'ZZZZ') }, body: 'any' },
    { target: 'market-data', method: 'GET', route: '/quotes/:symbol', params: { symbol: segment('AAPL', 'msft', 'ZZZZ') } },

    alpaca('GET', '/v2/account'),
    alpaca('GET', '/v2/clock', { query: query({}) }),
    alpaca('POST', '/v2/orders', {
      body: {
        symbol: ticker,
        qty: field(1, '2', '0.5'),
        side: field('buy', 'sell'),
        type: field('market', 'limit', 'stop'),
        time_in_force: field('day', 'gtc', 'ioc'),
        limit_price: field(100, '100.5', null),
        client_order_id: clientOrderId,
      },
    }),
    alpaca('GET', '/v2/orders', { query: query({ status: ['open', 'closed', 'all'], limit: ['1', '500'], direction: ['asc', 'desc'], symbols: ['AAPL', 'AAPL,msft'] }) }),
    alpaca('GET', '/v2/orders:by_client_order_id', { query: query({ client_order_id: ['fuzz-known-broker', 'fuzz-known-1'] }) }),
    alpaca('GET', '/v2/orders/:id', { params: { id: segment(known.brokerOrderId) } }),
    alpaca('DELETE', '/v2/orders/:id', { params: { id: segment(known.brokerOrderId) } }),
    alpaca('GET', '/v2/positions'),
    alpaca('GET', '/v2/positions/:symbol', { params: { symbol: segment('AAPL', 'spy', 'ZZZZ') } }),
    alpaca('GET', '/v2/stocks/:symbol/quotes/latest', { params: { symbol: segment('AAPL', 'spy', 'ZZZZ') } }),
    alpaca('GET', '/v2/stocks/:symbol/trades/latest', { params: { symbol: segment('AAPL', 'spy', 'ZZZZ') } }),

    { target: 'fake-alpaca-admin', method: 'GET', route: '/admin/faults', query: query({}) },
    {
      target: 'fake-alpaca-admin',
      method: 'PUT',
      route: '/admin/faults',
      body: {
        latencyMs: field(0, 10),
        errorRate: field(0, 0.5),
        errorSymbols: field(['AAPL'], []),
        rejectRate: field(0, 1),
        refuseConnections: field(false, true),
        wsDrop: field(false, true),
        wsSilent: field(false, true),
        marketOpen: field(true, false),
      },
    },
    { target: 'fake-alpaca-admin', method: 'DELETE', route: '/admin/faults', body: 'any' },
  ];
}

/** The kit's routes, served by every service built on createService (fake-alpaca's on its admin listener). */
const KIT_TARGETS: Target[] = ['execution-gateway', 'signal-service', 'orchestrator', 'market-data', 'fake-alpaca-admin'];
const KIT_ROUTES = ['/health', '/ready', '/metrics'];

/** Every route the services register, read from their sources, so a new route without a fuzz entry fails this suite. */
function registeredRoutes(): string[] {
  const found: string[] = [];
  const dirs = fs.readdirSync(path.join(ROOT, 'services')).filter((d) => d !== 'kit' && fs.statSync(path.join(ROOT, 'services', d)).isDirectory());
  for (const dir of dirs) {
    for (const file of fs.readdirSync(path.join(ROOT, 'services', dir)).filter((f) => f.endsWith('.ts'))) {
      const source = fs.readFileSync(path.join(ROOT, 'services', dir, file), 'utf8');
      for (const m of source.matchAll(/\brouter\.(get|post|put|delete|patch)\(\s*'([^']+)'/g)) {
        const route = m[2]!.replace(/\\\\:/g, ':');
        const target = dir === 'fake-alpaca' && route.startsWith('/admin/') ? 'fake-alpaca-admin' : dir;
        found.push(`${target} ${m[1]!.toUpperCase()} ${route}`);
      }
    }
  }
  return found.sort();
}

type Request = { path: string; body: FuzzBody | undefined; headers: Record<string, string> };

/** Path, query, body and headers of the route, each valid or hostile on its own. */
function requestOf(r: RouteFuzz): fc.Arbitrary<Request> {
  const names = Object.keys(r.params ?? {});
  return fc
    .record({
      params: names.length ? fc.tuple(...names.map((n) => r.params![n]!)) : fc.constant([] as string[]),
      query: r.query ?? fc.constant(''),
      body: r.body === undefined ? fc.constant(undefined) : body(r.body === 'any' ? undefined : r.body),
      headers: r.headers ?? fc.constant({}),
    })
    .map(({ params, query: q, body: b, headers }) => {
      const values = Object.fromEntries(names.map((n, i) => [n, params[i]!]));
      return { path: `${r.route.replace(/\/:(\w+)/g, (_m, n: string) => `/${values[n]}`)}${q}`, body: b, headers };
    });
}

test('every registered route has a fuzz entry', ({ known }) => {
  const fuzzed = routes(known).map((r) => `${r.target} ${r.method} ${r.route}`).sort();
  assert.equal(fuzzed, registeredRoutes());
});

test('fuzzed bodies, path and query parameters of every route never get a 5xx (except a 503 naming its dependency)', async ({ urls, known }) => {
  const client = new FuzzClient();
  const failures: string[] = [];
  const t0 = Date.now();
  const plan: Array<{ name: string; target: Target; method: string; request: fc.Arbitrary<Request>; runs: number; examples?: Request[] }> = [
    ...routes(known).map((r) => ({ name: `${r.method} ${r.route}`, target: r.target, method: r.method, request: requestOf(r), runs: RUNS_PER_ROUTE })),
    ...routes(known).flatMap((r) => {
      const shape = r.body;
      if (shape === undefined || shape === 'any' || r.params) return [];
      const valid = fc.sample(validOf(shape), { seed: SEED, numRuns: 1 })[0]!;
      const headers = r.target === 'fake-alpaca' ? AUTH_HEADERS : {};
      return Object.keys(shape).map((key) => ({
        name: `${r.method} ${r.route} with a hostile ${key}`,
        target: r.target,
        method: r.method,
        request: hostileAt(shape, key).map((b) => ({ path: r.route, body: b, headers })),
        runs: RUNS_PER_FIELD,
        examples: [{ path: r.route, body: { json: { ...valid, [key]: shape[key]!.probe } }, headers }],
      }));
    }),
    ...KIT_TARGETS.flatMap((target) =>
      KIT_ROUTES.map((route) => ({ name: `GET ${route}`, target, method: 'GET', request: requestOf({ target, method: 'GET', route, query: query({}) }), runs: RUNS_PER_KIT_ROUTE })),
    ),
  ];
  for (const [i, step] of plan.entries()) {
    const property = fc.asyncProperty(step.request, async (req) => {
      const answer = await client.send(urls[step.target], { method: step.method, ...req });
      if (!acceptable(answer)) throw new Error(`${step.method} ${req.path} -> ${answer.status} ${answer.text.slice(0, 300)}`);
    });
    const details = await fc.check(property, {
      seed: SEED + i,
      numRuns: step.runs,
      examples: (step.examples ?? []).map((e) => [e] as [Request]),
      endOnFailure: true,
      interruptAfterTimeLimit: Math.max(1, FUZZ_BUDGET_MS - (Date.now() - t0)),
      markInterruptAsFailure: true,
    });
    if (details.failed) {
      const cause = details.errorInstance instanceof Error ? details.errorInstance.message : details.interrupted ? `stopped by the ${FUZZ_BUDGET_MS} ms budget` : String(details.errorInstance);
      failures.push(`${step.target} ${step.name} (seed ${SEED + i}): ${cause}`);
    }
  }
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  const classes = Object.entries(client.classes).sort().map(([c, n]) => `${c} ${n}`).join(', ');
  console.log(`fuzz: ${client.requests} requests in ${plan.length} properties (${classes}), ${client.serverErrors} 5xx, ${failures.length} failing, seed ${SEED}, ${seconds} s`);
  assert.equal(failures, []);
});

test('every service is healthy and ready after the fuzz', async ({ urls }) => {
  // The fuzz may have left faults on the fake it drove; clearing them is part of its admin API working.
  assert.is((await fetch(`${urls['fake-alpaca-admin']}/admin/faults`, { method: 'DELETE' })).status, 200);
  for (const target of KIT_TARGETS) {
    assert.is((await fetch(`${urls[target]}/health`)).status, 200, `${target} /health`);
    await waitFor(`${target} /ready`, async () => (await fetch(`${urls[target]}/ready`)).status === 200, 10_000);
  }
  assert.is((await fetch(`${urls['fake-alpaca']}/v2/clock`, { headers: AUTH_HEADERS })).status, 200, 'fake-alpaca REST');
});

test.run();
