// The scenarios' k6 setup(): makes sure the stack can serve the flows (the signal service has an active model, market-data
// has a quote for every traded symbol) and makes the run token the flows build unique ids from.
import { sleep } from 'k6';
import { config } from './env.ts';
import { isNumber, isObject, request, type JsonResponse } from './request.ts';

/** What setup() hands every iteration (k6 round-trips it through JSON). */
export interface SetupData {
  /** Unique per test, so client_order_ids never collide with an earlier test against the same database. */
  runToken: string;
}

/** The model the load registers when none is active; momentum over a short lookback needs only seconds of price history. */
export const LOADGEN_MODEL = { name: 'loadgen-momentum', version: 1, kind: 'momentum', params: { lookback: 5, topN: 2 } } as const;

const QUOTE_TIMEOUT_MS = 30_000;
const QUOTE_POLL_S = 0.2;

interface ModelRow {
  id: number;
  name: string;
  version: number;
  active: boolean;
}

/** A response for an error message: the status and the start of the body, or the network error. */
const answer = (r: JsonResponse): string => (r.res.status === 0 ? `no answer (${r.res.error})` : `${r.res.status} ${String(r.res.body ?? '').slice(0, 300)}`);

function modelsOf(r: JsonResponse): ModelRow[] {
  const list = r.body.models;
  if (!Array.isArray(list) || !list.every((m) => isObject(m) && isNumber(m.id))) {
    throw new Error(`setup: signal service GET /models did not return {models: [...]}: ${answer(r)}`);
  }
  return list as unknown as ModelRow[];
}

/** Leaves an existing active model alone; otherwise registers (or reuses) the loadgen model and activates it (an admin route: ADMIN_TOKEN when the service has one). */
export async function ensureActiveModel(): Promise<void> {
  const base = config.urls['signal-service'];
  const listed = await request('GET', `${base}/models`, undefined, { name: 'setup_models', expect: [200] });
  if (listed.res.status !== 200) throw new Error(`setup: signal service GET ${base}/models answered ${answer(listed)}; is it running and ready?`);
  const models = modelsOf(listed);
  if (models.some((m) => m.active)) return;
  let id = models.find((m) => m.name === LOADGEN_MODEL.name && m.version === LOADGEN_MODEL.version)?.id;
  if (id === undefined) {
    const created = await request('POST', `${base}/models`, LOADGEN_MODEL, { name: 'setup_create_model', expect: [201] });
    const model = created.body.model;
    if (created.res.status !== 201 || !isObject(model) || !isNumber(model.id)) {
      throw new Error(`setup: signal service refused the ${LOADGEN_MODEL.name} model: ${answer(created)}`);
    }
    id = model.id;
  }
  const activated = await request('POST', `${base}/models/${id}/activate`, undefined, {
    name: 'setup_activate_model',
    expect: [200],
    ...(config.adminToken === undefined ? {} : { token: config.adminToken }),
  });
  if (activated.res.status !== 200) {
    const hint = activated.res.status === 401 || activated.res.status === 403 ? '; set ADMIN_TOKEN to the services\' admin token' : '';
    throw new Error(`setup: signal service could not activate model ${id}: ${answer(activated)}${hint}`);
  }
}

/**
 * Waits until market-data serves a quote for each traded symbol (the order flow prices its limit orders from them), so
 * the first iterations' quote checks judge the flow, not the stream's warm-up after a fresh start.
 */
async function awaitQuotes(): Promise<void> {
  const base = config.urls['market-data'];
  const deadline = Date.now() + QUOTE_TIMEOUT_MS;
  let missing = config.tradeSymbols;
  for (;;) {
    // 404 (no quote yet) and 503 (stream not ready) are the warm-up's answers, not failed requests.
    const answers = await Promise.all(
      missing.map((s) => request('GET', `${base}/quotes/${encodeURIComponent(s)}`, undefined, { name: 'setup_quote', expect: [200, 404, 503] })),
    );
    missing = missing.filter((_, i) => answers[i]!.res.status !== 200);
    if (missing.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(`setup: market-data at ${base} has no quote for ${missing.join(', ')} after ${QUOTE_TIMEOUT_MS} ms; is it subscribed to them and is its stream connected (GET /ready)?`);
    }
    await sleep(QUOTE_POLL_S);
  }
}

/** k6 runs this once before the load; a throw stops the test (exit 107) with its message. */
export async function setup(): Promise<SetupData> {
  await ensureActiveModel();
  await awaitQuotes();
  const random = Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0');
  return { runToken: `${Date.now().toString(36)}${random}` };
}
