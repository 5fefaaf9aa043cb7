// Mutating admin routes need a key when exposed: ADMIN_TOKEN as a Bearer token, required beyond loopback; real test keys never leave loopback.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runScript } from '../load/runtime/client.ts';
import { ConfigError } from '../services/kit/config.ts';
import { startFakeAlpaca, type FakeAlpaca } from '../services/fake-alpaca/server.ts';
import { loadFakeAlpacaConfig } from '../services/fake-alpaca/config.ts';
import { brokerFaults } from '../verify/drivers/broker-faults.ts';
import { adminAuthHeaders } from '../verify/admin-auth.ts';
import { loadGatewayConfig } from '../services/execution-gateway/config.ts';
import { startExecutionGateway, type RunningGateway } from '../services/execution-gateway/server.ts';
import { loadSignalConfig } from '../services/signal-service/config.ts';
import { startSignalService, type SignalService } from '../services/signal-service/server.ts';
import { startTestDeps, type TestDeps } from './helpers/stack.ts';

const TOKEN = 'admin-token-for-tests-0123456789';
const ROOT = path.resolve(import.meta.dirname, '..');
/** Enough for config parsing; nothing is contacted before the checks under test. */
const DB = 'postgres://u:p@127.0.0.1:1/db';
const REDIS = 'redis://127.0.0.1:1';

interface Ctx {
  deps?: TestDeps;
  alpaca?: FakeAlpaca;
  openAlpaca?: FakeAlpaca;
  gateway?: RunningGateway;
  openGateway?: RunningGateway;
  signals?: SignalService;
  modelId: number;
}

const test = suite<Ctx>('admin routes need a key when exposed', { modelId: 0 });

test.before(async (ctx) => {
  ctx.deps = await startTestDeps();
  ctx.alpaca = await startFakeAlpaca(loadFakeAlpacaConfig({ ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'silent', SYMBOLS: 'AAPL' }));
  ctx.openAlpaca = await startFakeAlpaca({ symbols: ['AAPL'], logLevel: 'silent' });
  const [gatewayDb, signalDb] = await Promise.all(['gateway', 'signals'].map((n) => ctx.deps!.pg.createDatabase(n)));
  const gatewayEnv = { DATABASE_URL: gatewayDb, REDIS_URL: ctx.deps.redis.url, ALPACA_BASE_URL: ctx.alpaca.url, SYMBOLS: 'AAPL', LOG_LEVEL: 'silent' };
  ctx.gateway = await startExecutionGateway(loadGatewayConfig({ ...gatewayEnv, ADMIN_TOKEN: TOKEN }));
  ctx.openGateway = await startExecutionGateway(loadGatewayConfig(gatewayEnv));
  ctx.signals = await startSignalService(loadSignalConfig({ DATABASE_URL: signalDb, REDIS_URL: ctx.deps.redis.url, ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'silent' }));
  const created = await fetch(`${ctx.signals.url}/models`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'admin-test', version: 1, kind: 'momentum', params: { lookback: 2, topN: 1 } }),
  });
  ctx.modelId = ((await created.json()) as { model: { id: number } }).model.id;
});

test.after(async (ctx) => {
  await Promise.allSettled([ctx.gateway?.close(), ctx.openGateway?.close(), ctx.signals?.close()]);
  await Promise.allSettled([ctx.alpaca?.close(), ctx.openAlpaca?.close()]);
  await ctx.deps?.owner.stopAll();
});

function configError(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    assert.instance(err, ConfigError);
    return (err as Error).message;
  }
  assert.unreachable('expected a ConfigError');
  return '';
}

async function send(url: string, method: string, authorization?: string, body?: unknown): Promise<{ status: number; body: { error?: { code: string; message: string } }; authenticate: string | null }> {
  const res = await fetch(url, {
    method,
    headers: { ...(authorization === undefined ? {} : { authorization }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as { error?: { code: string; message: string } }), authenticate: res.headers.get('www-authenticate') };
}

/** The three answers every guarded route gives: no header and a wrong token are 401s in the kit's JSON, the right token passes. */
async function assertGuarded(url: string, method: string, body?: unknown): Promise<void> {
  const none = await send(url, method, undefined, body);
  assert.is(none.status, 401, `${method} ${url} without a token`);
  assert.is(none.body.error?.code, 'unauthorized');
  assert.match(none.body.error?.message ?? '', /Authorization: Bearer <ADMIN_TOKEN>/);
  assert.match(none.authenticate ?? '', /^Bearer/);
  for (const wrong of [`Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN, 'Bearer ']) {
    const r = await send(url, method, wrong, body);
    assert.is(r.status, 401, `${method} ${url} with "${wrong}"`);
    assert.is(r.body.error?.code, 'unauthorized');
  }
  const right = await send(url, method, `Bearer ${TOKEN}`, body);
  assert.ok(right.status < 300, `${method} ${url} with the token: ${right.status} ${JSON.stringify(right.body)}`);
}

test('the gateway and the signal service refuse a non-loopback HOST without ADMIN_TOKEN, naming what to set', () => {
  for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
    const gateway = configError(() => loadGatewayConfig({ HOST: host, DATABASE_URL: DB, REDIS_URL: REDIS, ALPACA_BASE_URL: 'http://127.0.0.1:1' }));
    assert.match(gateway, new RegExp(`^execution-gateway: HOST ${host.replace(/\./g, '\\.')} is not loopback.*circuit-breaker.*set ADMIN_TOKEN`));
    const signals = configError(() => loadSignalConfig({ HOST: host, DATABASE_URL: DB, REDIS_URL: REDIS }));
    assert.match(signals, /^signal-service: HOST .* is not loopback.*models\/:id\/activate.*set ADMIN_TOKEN/);
    assert.is(loadGatewayConfig({ HOST: host, DATABASE_URL: DB, REDIS_URL: REDIS, ALPACA_BASE_URL: 'http://127.0.0.1:1', ADMIN_TOKEN: TOKEN }).HOST, host);
    assert.is(loadSignalConfig({ HOST: host, DATABASE_URL: DB, REDIS_URL: REDIS, ADMIN_TOKEN: TOKEN }).HOST, host);
  }
  for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2']) {
    assert.is(loadGatewayConfig({ HOST: host, DATABASE_URL: DB, REDIS_URL: REDIS, ALPACA_BASE_URL: 'http://127.0.0.1:1' }).ADMIN_TOKEN, undefined);
    assert.is(loadSignalConfig({ HOST: host, DATABASE_URL: DB, REDIS_URL: REDIS }).ADMIN_TOKEN, undefined);
  }
});

test('an ADMIN_TOKEN shorter than 16 characters is refused; an empty one counts as unset', () => {
  assert.match(configError(() => loadSignalConfig({ DATABASE_URL: DB, REDIS_URL: REDIS, ADMIN_TOKEN: 'short' })), /ADMIN_TOKEN: must be at least 16 characters/);
  assert.is(loadSignalConfig({ DATABASE_URL: DB, REDIS_URL: REDIS, ADMIN_TOKEN: '' }).ADMIN_TOKEN, undefined);
  assert.match(configError(() => loadSignalConfig({ HOST: '0.0.0.0', DATABASE_URL: DB, REDIS_URL: REDIS, ADMIN_TOKEN: '' })), /set ADMIN_TOKEN/);
});

test("the gateway refuses fake-alpaca's test keys for a broker that is not on loopback", () => {
  const env = { DATABASE_URL: DB, REDIS_URL: REDIS, ALPACA_BASE_URL: 'https://paper-api.alpaca.markets' };
  const message = configError(() => loadGatewayConfig(env));
  assert.match(message, /^execution-gateway: ALPACA_BASE_URL https:\/\/paper-api\.alpaca\.markets is not loopback.*test keys; set the broker's real ALPACA_KEY_ID and ALPACA_SECRET_KEY$/);
  configError(() => loadGatewayConfig({ ...env, ALPACA_KEY_ID: 'PKREAL' }));
  configError(() => loadGatewayConfig({ ...env, ALPACA_SECRET_KEY: 'real-secret' }));
  assert.is(loadGatewayConfig({ ...env, ALPACA_KEY_ID: 'PKREAL', ALPACA_SECRET_KEY: 'real-secret' }).ALPACA_KEY_ID, 'PKREAL');
  for (const local of ['http://127.0.0.1:8090', 'http://localhost:8090', 'http://[::1]:8090']) {
    assert.is(loadGatewayConfig({ ...env, ALPACA_BASE_URL: local }).ALPACA_KEY_ID, 'test-key');
  }
});

test('main.ts exits 2 with one line on stderr instead of starting exposed', async () => {
  const run = (service: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join('services', service, 'main.ts')], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr });
      });
    });
  const [gateway, keys, signals] = await Promise.all([
    run('execution-gateway', { HOST: '0.0.0.0', DATABASE_URL: DB, REDIS_URL: REDIS, ALPACA_BASE_URL: 'http://127.0.0.1:1' }),
    run('execution-gateway', { DATABASE_URL: DB, REDIS_URL: REDIS, ALPACA_BASE_URL: 'https://paper-api.alpaca.markets' }),
    run('signal-service', { HOST: '0.0.0.0', DATABASE_URL: DB, REDIS_URL: REDIS }),
  ]);
  for (const [what, r, pattern] of [
    ['gateway exposed', gateway, /set ADMIN_TOKEN/],
    ['gateway with test keys', keys, /test keys/],
    ['signal service exposed', signals, /set ADMIN_TOKEN/],
  ] as const) {
    assert.is(r.code, 2, `${what}: ${r.stderr}`);
    assert.is(r.stderr.trim().split('\n').length, 1, `${what}: one line, got ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
});

test('with ADMIN_TOKEN the gateway guards circuit breaker trip and reset; reading it stays open', async ({ gateway }) => {
  await assertGuarded(`${gateway!.url}/circuit-breaker/trip`, 'POST', { reason: 'admin test' });
  assert.is((await send(`${gateway!.url}/circuit-breaker`, 'GET')).status, 200);
  await assertGuarded(`${gateway!.url}/circuit-breaker/reset`, 'POST');
  assert.is((await send(`${gateway!.url}/orders`, 'GET')).status, 200, 'other routes need no token');
});

test("the load scenarios' setup activates its model with ADMIN_TOKEN when it has one, and is refused without it", async ({ signals }) => {
  // A k6 script whose setup is the scenarios' ensureActiveModel (imported relatively, as k6 requires), run by the runtime.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admin-token-k6-'));
  try {
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    const setupModule = path.relative(dir, path.join(import.meta.dirname, '../load/scenarios/lib/setup.ts'));
    const script = path.join(dir, 'activate.ts');
    fs.writeFileSync(
      script,
      `import { ensureActiveModel } from '${setupModule}';\n` +
        "export const options = { scenarios: { idle: { executor: 'constant-arrival-rate', rate: 1, duration: '1s', preAllocatedVUs: 1 } } };\n" +
        'export async function setup() { await ensureActiveModel(); }\nexport default async function () {}\n',
    );
    // Only the signal service is contacted; the other URLs just satisfy the scripts' config.
    const unused = 'http://127.0.0.1:9';
    const run = async (env: Record<string, string>): Promise<{ code: number; out: string }> => {
      const lines: string[] = [];
      const urls = { EXECUTION_GATEWAY_URL: unused, ORCHESTRATOR_URL: unused, MARKET_DATA_URL: unused, SIGNAL_SERVICE_URL: signals!.url };
      const r = await runScript({ script, env: { ...urls, ...env }, includeSystemEnv: false, handleSummary: false, onOutput: (l) => lines.push(l) }).done;
      return { code: r.exitCode, out: lines.join('\n') };
    };
    const refused = await run({});
    assert.is(refused.code, 107, refused.out);
    assert.match(refused.out, /could not activate model \d+: 401 .*set ADMIN_TOKEN/);
    const allowed = await run({ ADMIN_TOKEN: TOKEN });
    assert.is(allowed.code, 0, allowed.out);
    const listed = (await (await fetch(`${signals!.url}/models`)).json()) as { models: Array<{ name: string; active: boolean }> };
    assert.ok(listed.models.find((m) => m.name === 'loadgen-momentum')?.active, 'loadgen model active');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('with ADMIN_TOKEN the signal service guards model activation and reload, and counts the refusals as 4xx', async ({ signals, modelId }) => {
  await assertGuarded(`${signals!.url}/models/${modelId}/activate`, 'POST');
  await assertGuarded(`${signals!.url}/models/reload`, 'POST');
  assert.is((await send(`${signals!.url}/models`, 'GET')).status, 200);
  const metrics = await (await fetch(`${signals!.url}/metrics`)).text();
  // Five refusals here and the load setup's one before.
  assert.match(metrics, /signal_service_requests_total\{endpoint="models_activate",status="4xx"\} 6/);
});

test("with ADMIN_TOKEN fake-alpaca guards PUT and DELETE /admin/faults; GET stays open", async ({ alpaca }) => {
  await assertGuarded(`${alpaca!.adminUrl}/admin/faults`, 'PUT', { marketOpen: false });
  assert.is(alpaca!.faults().marketOpen, false);
  await assertGuarded(`${alpaca!.adminUrl}/admin/faults`, 'DELETE');
  assert.is(alpaca!.faults().marketOpen, true);
  assert.is((await send(`${alpaca!.adminUrl}/admin/faults`, 'GET')).status, 200);
});

test("the harness's broker fault driver sends the ADMIN_TOKEN of its environment, and is refused without it", async ({ alpaca }) => {
  const faults = brokerFaults(alpaca!.adminUrl);
  const saved = process.env.ADMIN_TOKEN;
  try {
    delete process.env.ADMIN_TOKEN;
    assert.equal(adminAuthHeaders(), {});
    await faults.set({ marketOpen: false }).then(
      () => assert.unreachable('a guarded fault API accepted a call without the token'),
      (err: Error) => assert.match(err.message, /HTTP 401/),
    );
    process.env.ADMIN_TOKEN = TOKEN;
    await faults.set({ marketOpen: false });
    assert.is(alpaca!.faults().marketOpen, false);
    await faults.clear();
    assert.is(alpaca!.faults().marketOpen, true);
  } finally {
    if (saved === undefined) delete process.env.ADMIN_TOKEN;
    else process.env.ADMIN_TOKEN = saved;
  }
});

test('without ADMIN_TOKEN on loopback the admin routes stay open, as the harness and the load runner call them', async ({ openGateway, openAlpaca }) => {
  assert.is((await send(`${openGateway!.url}/circuit-breaker/trip`, 'POST', undefined, { reason: 'open' })).status, 200);
  assert.is((await send(`${openGateway!.url}/circuit-breaker/reset`, 'POST')).status, 200);
  assert.is((await send(`${openAlpaca!.adminUrl}/admin/faults`, 'PUT', undefined, { latencyMs: 1 })).status, 200);
  assert.is((await send(`${openAlpaca!.adminUrl}/admin/faults`, 'DELETE')).status, 200);
});

test.run();
