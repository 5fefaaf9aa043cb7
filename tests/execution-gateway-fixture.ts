// Test fixture for execution-gateway suites: real Postgres, Redis and fake-alpaca, gateways on port 0, HTTP and /metrics helpers.
import { startFakeAlpaca, type FakeAlpaca } from '../services/fake-alpaca/server.ts';
import { loadGatewayConfig, type GatewayConfig } from '../services/execution-gateway/config.ts';
import { startExecutionGateway, type RunningGateway } from '../services/execution-gateway/server.ts';
import { startTestDeps, type TestDeps } from './helpers/stack.ts';

export interface GatewayFixture {
  deps: TestDeps;
  alpaca: FakeAlpaca;
  /** A fresh database per fixture, shared by every gateway the suite starts (restarts reuse it). */
  databaseUrl: string;
  config(env?: Record<string, string>): GatewayConfig;
  start(env?: Record<string, string>): Promise<RunningGateway>;
  close(): Promise<void>;
}

export const SYMBOLS = 'AAPL,MSFT,SPY';

export async function startGatewayFixture(): Promise<GatewayFixture> {
  const deps = await startTestDeps();
  const gateways: RunningGateway[] = [];
  let alpaca: FakeAlpaca | undefined;
  try {
    alpaca = await startFakeAlpaca({ symbols: SYMBOLS.split(','), seed: 7, tickMs: 50, logLevel: 'silent', initialCash: 10_000_000 });
    const databaseUrl = await deps.pg.createDatabase('gateway');
    const fakeAlpaca = alpaca;
    const config = (env: Record<string, string> = {}): GatewayConfig =>
      loadGatewayConfig({
        DATABASE_URL: databaseUrl,
        REDIS_URL: deps.redis.url,
        ALPACA_BASE_URL: fakeAlpaca.url,
        SYMBOLS,
        LOG_LEVEL: 'silent',
        PROBE_INTERVAL_MS: '200',
        RESUBMIT_INTERVAL_MS: '200',
        ALPACA_TIMEOUT_MS: '300',
        ALPACA_RETRIES: '2',
        ...env,
      });
    return {
      deps,
      alpaca,
      databaseUrl,
      config,
      async start(env) {
        const gw = await startExecutionGateway(config(env));
        gateways.push(gw);
        return gw;
      },
      async close() {
        await Promise.allSettled(gateways.map((g) => g.close()));
        await fakeAlpaca.close();
        await deps.owner.stopAll();
      },
    };
  } catch (err) {
    await alpaca?.close();
    await deps.owner.stopAll();
    throw err;
  }
}

export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export async function call<T = Record<string, unknown>>(base: string, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T };
}

export async function metricsText(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  return res.text();
}

/** Value of one sample in exposition text; labels must match exactly (all of them, any order). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '').split(/,(?=[a-zA-Z_]+=")/).filter(Boolean).sort().join(',');
    if (got === want) return Number(m[3]);
  }
  return undefined;
}

/** Polls until check() is truthy; fails with what it last saw after timeoutMs. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 3000): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return { value: v, ms: Date.now() - t0 };
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not true after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let seq = 0;
/** A client_order_id unique within this process run. */
export const newId = (prefix = 'o'): string => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++seq}`;

/** Every order fake-alpaca holds (newest 500), for counting what reached the broker per client_order_id. */
export async function brokerOrders(alpaca: FakeAlpaca): Promise<{ client_order_id: string; status: string }[]> {
  const res = await fetch(`${alpaca.url}/v2/orders?status=all&limit=500`, {
    headers: { 'APCA-API-KEY-ID': 'test-key', 'APCA-API-SECRET-KEY': 'test-secret' },
  });
  if (res.status !== 200) throw new Error(`fake-alpaca order list answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { client_order_id: string; status: string }[];
}
