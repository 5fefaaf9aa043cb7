// Scenario setup (k6's setup()): makes sure the stack can serve the flows, i.e. the signal service has an active model.
import { assertLoopbackUrl } from '../runner/loopback.ts';
import type { LoadConfig, ServiceUrls } from './config.ts';

/** The model the load registers when none is active; momentum over a short lookback needs only seconds of price history. */
export const LOADGEN_MODEL = { name: 'loadgen-momentum', version: 1, kind: 'momentum', params: { lookback: 5, topN: 2 } } as const;

interface ModelRow {
  id: number;
  name: string;
  version: number;
  active: boolean;
}

async function call(base: string, method: string, path: string, body?: unknown, adminToken?: string): Promise<{ status: number; json: unknown }> {
  const url = new URL(path, assertLoopbackUrl(base, 'signal service URL'));
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

/** The scenarios' setup: cfg gives the admin token, if the stack has one. */
export function prepareStack(cfg: Pick<LoadConfig, 'adminToken'>): (urls: ServiceUrls) => Promise<void> {
  return (urls) => ensureActiveModel(urls['signal-service'], cfg.adminToken);
}
