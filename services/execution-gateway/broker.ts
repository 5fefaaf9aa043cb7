// Alpaca v2 REST client for the gateway: per-request timeout, bounded retries, and submits that never duplicate at the broker.
import type { Logger } from 'pino';
import type { AlpacaEndpoint, AlpacaStatus, GatewayMetrics } from './metrics.ts';

/** The fields of an Alpaca order the gateway reads (Alpaca sends numbers as strings). */
export interface BrokerOrder {
  id: string;
  client_order_id: string;
  symbol: string;
  status: string;
  filled_qty: string | number | null;
  filled_avg_price: string | number | null;
}

export interface SubmitRequest {
  client_order_id: string;
  symbol: string;
  side: 'buy' | 'sell';
  qty: number;
  type: 'market' | 'limit';
  limit_price: number | null;
}

export interface Broker {
  /** lookupFirst: the order may already be at the broker (an earlier attempt or process), so look before posting. */
  submitOrder(req: SubmitRequest, opts?: { lookupFirst?: boolean }): Promise<BrokerOrder>;
  getOrder(brokerOrderId: string): Promise<BrokerOrder>;
  /**
   * One attempt, no retries: it drives the connection gauge, which must reflect right now. A rate-limited answer (429)
   * still proves the broker reachable, so it resolves with the last clock the broker sent (the market opens and
   * closes twice a day); only before any clock was seen does it fail.
   */
  getClock(): Promise<{ is_open: boolean }>;
}

/** The broker answered 4xx other than 429: retrying cannot help; the message is the broker's. */
export class BrokerRejectedError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'BrokerRejectedError';
  }
}

/** No usable answer (429, 5xx, timeout, connection error) after every attempt. */
export class BrokerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BrokerUnavailableError';
  }
}

/** One attempt failed in a way another attempt may fix; retryAfterMs is the wait the broker asked for, if it did. */
class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * The longest Retry-After the retry loop waits before its next attempt. Every wait holds up a submit, and with it the
 * caller of POST /orders: two waits of 1 s (ALPACA_RETRIES 2) keep a rate-limited submit near 2 s, and a broker asking
 * for longer is better served by leaving the order pending_submit to the resubmit loop, which tries again every
 * RESUBMIT_INTERVAL_MS, than by holding the submit (and its lease, see worstCaseSubmitMs) open for it.
 */
export const MAX_RETRY_AFTER_MS = 1000;

export interface AlpacaBrokerOptions {
  baseUrl: string;
  keyId: string;
  secretKey: string;
  timeoutMs: number;
  retries: number;
  metrics: GatewayMetrics;
  logger: Logger;
  /** First retry delay; doubles per retry. */
  backoffMs?: number;
}

interface Answer {
  status: number;
  body: unknown;
  /** From the Retry-After header, when the answer has a valid one. */
  retryAfterMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function statusLabel(status: number): AlpacaStatus {
  if (status >= 500) return '5xx';
  if (status === 429) return '429';
  if (status >= 400) return '4xx';
  return '2xx';
}

/** Retry-After as milliseconds from now: delay-seconds or an HTTP date (RFC 9110 10.2.3); undefined when absent or invalid. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // Every HTTP-date form starts with a day name; Date.parse alone would read "-1" as a year.
  if (!/^[A-Za-z]{3}/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function brokerMessage(a: Answer): string {
  const b = a.body as { message?: unknown } | string | null;
  if (b && typeof b === 'object' && typeof b.message === 'string') return b.message;
  return typeof b === 'string' && b !== '' ? b.slice(0, 200) : `HTTP ${a.status}`;
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** Worst-case time one submit can take, so a submit lease outlives the submitter that holds it. */
export function worstCaseSubmitMs(timeoutMs: number, retries: number, backoffMs = 50): number {
  let backoff = 0;
  // Each wait is the backoff or an honoured Retry-After, which is at most MAX_RETRY_AFTER_MS.
  for (let i = 1; i <= retries; i++) backoff += Math.max(backoffMs * 2 ** (i - 1), MAX_RETRY_AFTER_MS);
  // Each attempt may be a lookup plus a post, and a duplicate answer one more lookup.
  return (retries + 1) * 3 * timeoutMs + backoff;
}

export function createAlpacaBroker(opts: AlpacaBrokerOptions): Broker {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const backoffMs = opts.backoffMs ?? 50;
  const headers = { 'APCA-API-KEY-ID': opts.keyId, 'APCA-API-SECRET-KEY': opts.secretKey, 'content-type': 'application/json' };

  async function request(endpoint: AlpacaEndpoint, method: string, path: string, body?: unknown): Promise<Answer> {
    const started = performance.now();
    let label: AlpacaStatus = 'error';
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      const text = await res.text();
      label = statusLabel(res.status);
      let parsed: unknown = text;
      try {
        parsed = text === '' ? null : (JSON.parse(text) as unknown);
      } catch {
        // Not JSON (a proxy's error page, say): keep the text for the error message.
      }
      const wait = parseRetryAfter(res.headers.get('retry-after'));
      return { status: res.status, body: parsed, ...(wait === undefined ? {} : { retryAfterMs: wait }) };
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      label = timedOut ? 'timeout' : 'error';
      throw new RetryableError(
        timedOut ? `${method} ${path}: no answer within ${opts.timeoutMs} ms` : `${method} ${path}: cannot connect to ${base} (${causeOf(err)})`,
      );
    } finally {
      opts.metrics.alpacaRequests.inc({ endpoint, status: label });
      opts.metrics.alpacaRequestDuration.observe({ endpoint }, (performance.now() - started) / 1000);
    }
  }

  function expectOk<T>(a: Answer, what: string): T {
    if (a.status >= 200 && a.status < 300) return a.body as T;
    // A rate limit is not a verdict on the order: it was not looked at, and a later attempt may pass.
    if (a.status === 429) throw new RetryableError(`${what}: broker rate limited the request (429 ${brokerMessage(a)})`, a.retryAfterMs);
    if (a.status >= 500) throw new RetryableError(`${what}: broker answered ${a.status} (${brokerMessage(a)})`, a.retryAfterMs);
    throw new BrokerRejectedError(a.status, brokerMessage(a));
  }

  async function withRetries<T>(what: string, attempt: (i: number) => Promise<T>): Promise<T> {
    let last: RetryableError | undefined;
    for (let i = 0; i <= opts.retries; i++) {
      if (i > 0) await sleep(last?.retryAfterMs === undefined ? backoffMs * 2 ** (i - 1) : Math.min(last.retryAfterMs, MAX_RETRY_AFTER_MS));
      try {
        return await attempt(i);
      } catch (err) {
        if (!(err instanceof RetryableError)) throw err;
        last = err;
        opts.logger.debug({ attempt: i + 1, err: err.message }, `broker attempt failed: ${what}`);
      }
    }
    throw new BrokerUnavailableError(`broker at ${base} unavailable for ${what} after ${opts.retries + 1} attempts: ${last?.message ?? 'unknown error'}`);
  }

  async function lookupByClientId(clientOrderId: string): Promise<BrokerOrder | undefined> {
    const a = await request('order_lookup', 'GET', `/v2/orders:by_client_order_id?client_order_id=${encodeURIComponent(clientOrderId)}`);
    if (a.status === 404) return undefined;
    return expectOk<BrokerOrder>(a, `lookup of ${clientOrderId}`);
  }

  let lastClock: { is_open: boolean } | undefined;

  return {
    submitOrder(req, submitOpts = {}) {
      const body = {
        symbol: req.symbol,
        qty: String(req.qty),
        side: req.side,
        type: req.type,
        time_in_force: 'day',
        client_order_id: req.client_order_id,
        ...(req.limit_price === null ? {} : { limit_price: String(req.limit_price) }),
      };
      return withRetries(`submit of ${req.client_order_id}`, async (i) => {
        // A failed attempt may still have reached the broker; posting again would be a duplicate order.
        if (i > 0 || submitOpts.lookupFirst) {
          const found = await lookupByClientId(req.client_order_id);
          if (found) return found;
        }
        const a = await request('orders', 'POST', '/v2/orders', body);
        if (a.status === 422 && /client.?order.?id|duplicate/i.test(brokerMessage(a))) {
          // Another submitter of this same order got there first: adopt the broker's order.
          const found = await lookupByClientId(req.client_order_id);
          if (found) return found;
        }
        return expectOk<BrokerOrder>(a, `submit of ${req.client_order_id}`);
      });
    },
    getOrder(brokerOrderId) {
      return withRetries(`order ${brokerOrderId}`, async () =>
        expectOk<BrokerOrder>(await request('order_lookup', 'GET', `/v2/orders/${encodeURIComponent(brokerOrderId)}`), `order ${brokerOrderId}`),
      );
    },
    async getClock() {
      try {
        const a = await request('clock', 'GET', '/v2/clock');
        if (a.status === 429 && lastClock) return lastClock;
        lastClock = expectOk<{ is_open: boolean }>(a, 'clock');
        return lastClock;
      } catch (err) {
        if (err instanceof RetryableError) throw new BrokerUnavailableError(err.message);
        throw err;
      }
    },
  };
}
