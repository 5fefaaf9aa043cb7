// Scenario setup (k6's setup()): makes sure the stack can serve the flows: the signal service has an active model and
// market-data has a quote for every traded symbol.
import { assertLoopbackUrl } from '../runtime/loopback.ts';
import type { LoadConfig, ServiceUrls } from './config.ts';

/** The model the load registers when none is active; momentum over a short lookback needs only seconds of price history. */
export const LOADGEN_MODEL = { name: 'loadgen-momentum', version: 1, kind: 'momentum', params: { lookback: 5, topN: 2 } } as const;

interface ModelRow {
  id: number;
  name: string;
  version: number;
  active: boolean;
}

async function call(base: string, method: string, path: string, body?: unknown, adminToken?: string, what = 'signal service URL'): Promise<{ status: number; json: unknown }> {
  const url = new URL(path, assertLoopbackUrl(base, what));
  const res = await fetch(url, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(adminToken === undefined ? {} : { authorization: `Bearer ${adminToken}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

function models(json: unknown): ModelRow[] {
  const list = (json as { models?: unknown } | undefined)?.models;
  if (!Array.isArray(list)) throw new Error(`GET /models did not return {models: [...]}: ${JSON.stringify(json)}`);
  return list as ModelRow[];
}

/** Leaves an existing active model alone; otherwise registers (or reuses) the loadgen model and activates it (an admin route: adminToken when the service has one). */
export async function ensureActiveModel(signalServiceUrl: string, adminToken?: string): Promise<void> {
  const listed = await call(signalServiceUrl, 'GET', '/models');
  if (listed.status !== 200) throw new Error(`signal service GET /models answered ${listed.status}: ${JSON.stringify(listed.json)}; is it ready?`);
  if (models(listed.json).some((m) => m.active)) return;
  let model = models(listed.json).find((m) => m.name === LOADGEN_MODEL.name && m.version === LOADGEN_MODEL.version);
  if (!model) {
    const created = await call(signalServiceUrl, 'POST', '/models', LOADGEN_MODEL);
    if (created.status !== 201) throw new Error(`signal service refused the loadgen model (${created.status}): ${JSON.stringify(created.json)}`);
    model = (created.json as { model: ModelRow }).model;
  }
  const activated = await call(signalServiceUrl, 'POST', `/models/${model.id}/activate`, undefined, adminToken);
  if (activated.status !== 200) throw new Error(`signal service could not activate model ${model.id} (${activated.status}): ${JSON.stringify(activated.json)}`);
}

/**
 * Waits until market-data serves a quote for each symbol (the order flow prices its limit orders from them), so the
 * first iterations' quote checks judge the flow, not the stream's warm-up after a fresh start.
 */
export async function awaitQuotes(marketDataUrl: string, symbols: readonly string[], timeoutMs = 30_000, pollMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let missing = [...symbols];
  for (;;) {
    const answers = await Promise.all(missing.map(async (s) => [s, (await call(marketDataUrl, 'GET', `/quotes/${encodeURIComponent(s)}`, undefined, undefined, 'market-data URL')).status] as const));
    missing = answers.filter(([, status]) => status !== 200).map(([s]) => s);
    if (missing.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(`market-data has no quote for ${missing.join(', ')} after ${timeoutMs} ms; is it subscribed to them and is its stream connected (GET /ready)?`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The scenarios' setup: cfg gives the admin token, if the stack has one, and the symbols the flows trade. */
export function prepareStack(cfg: Pick<LoadConfig, 'adminToken' | 'tradeSymbols'>): (urls: ServiceUrls) => Promise<void> {
  return async (urls) => {
    await Promise.all([ensureActiveModel(urls['signal-service'], cfg.adminToken), awaitQuotes(urls['market-data'], cfg.tradeSymbols)]);
  };
}
