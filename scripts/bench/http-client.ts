// The closed-loop benchmarks' HTTP client: keep-alive undici pools to loopback origins only, each request timed and
// handed to the caller's onRequest (open-model load goes through the k6 runtime in load/runtime instead).
import { Pool } from 'undici';
import { assertLoopbackUrl } from '../../load/runtime/loopback.ts';

export interface RequestRecord {
  /** Epoch ms when the request was sent. */
  t: number;
  name: string;
  /** HTTP status, 0 when no response arrived. */
  status: number;
  durationMs: number;
  ok: boolean;
  error?: string;
}

export interface RequestOptions {
  /** Request tag for metrics, thresholds and raw timings, e.g. "place_order". */
  name: string;
  /** Statuses that count as success for http_req_failed (default 200..399, as in k6). */
  expect?: readonly number[];
  headers?: Record<string, string>;
}

export interface LoadResponse {
  status: number;
  /** Parsed JSON when the response is JSON, else undefined. */
  body: unknown;
  text: string;
  durationMs: number;
  /** False when the status is not expected or no response arrived. */
  ok: boolean;
  /** Network-level error (status 0): refused, reset, timeout. */
  error?: string;
}

export interface HttpClient {
  readonly baseUrl: string;
  get(path: string, opts: RequestOptions): Promise<LoadResponse>;
  post(path: string, body: unknown, opts: RequestOptions): Promise<LoadResponse>;
  delete(path: string, opts: RequestOptions): Promise<LoadResponse>;
}

export interface TransportOptions {
  /** Per-request deadline; a hung dependency shows up as a failed request, not a stuck iteration. */
  timeoutMs?: number;
  /** Upper bound on sockets per origin. */
  connections?: number;
}

/** Owns one keep-alive pool per origin; close() ends every socket. */
export class HttpTransport {
  private readonly pools = new Map<string, Pool>();
  readonly timeoutMs: number;
  private readonly connections: number;

  constructor(opts: TransportOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.connections = opts.connections ?? 128;
  }

  pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      // Keep-alive below the services' 5 s server timeout, so the client never reuses a socket the server is closing.
      pool = new Pool(origin, { connections: this.connections, keepAliveTimeout: 4000, keepAliveMaxTimeout: 4000, pipelining: 1 });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.destroy()));
  }
}

const DEFAULT_OK = (status: number): boolean => status >= 200 && status < 400;

/** A client bound to one base URL; `signal` aborts its requests. */
export function createHttpClient(transport: HttpTransport, baseUrl: string, onRequest: (r: RequestRecord) => void, signal?: AbortSignal): HttpClient {
  const base = assertLoopbackUrl(baseUrl, 'benchmark base URL');
  const pool = transport.pool(base.origin);
  const prefix = base.pathname.replace(/\/$/, '');

  const send = async (method: 'GET' | 'POST' | 'DELETE', path: string, body: unknown, opts: RequestOptions): Promise<LoadResponse> => {
    const t = Date.now();
    const t0 = performance.now();
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    let payload: string | undefined;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    let res: LoadResponse;
    try {
      const r = await pool.request({
        method,
        path: `${prefix}${path}`,
        headers,
        body: payload,
        signal,
        headersTimeout: transport.timeoutMs,
        bodyTimeout: transport.timeoutMs,
      });
      const text = await r.body.text();
      const durationMs = performance.now() - t0;
      const type = String(r.headers['content-type'] ?? '');
      let parsed: unknown;
      if (type.includes('json') && text !== '') {
        try {
          parsed = JSON.parse(text) as unknown;
        } catch {
          parsed = undefined;
        }
      }
      const ok = opts.expect ? opts.expect.includes(r.statusCode) : DEFAULT_OK(r.statusCode);
      res = { status: r.statusCode, body: parsed, text, durationMs, ok };
    } catch (err) {
      if (signal?.aborted) throw err;
      const e = err as Error & { code?: string };
      res = { status: 0, body: undefined, text: '', durationMs: performance.now() - t0, ok: false, error: e.code ?? e.message };
    }
    onRequest({ t, name: opts.name, status: res.status, durationMs: res.durationMs, ok: res.ok, error: res.error });
    return res;
  };

  return {
    baseUrl: base.href,
    get: (path, opts) => send('GET', path, undefined, opts),
    post: (path, body, opts) => send('POST', path, body, opts),
    delete: (path, opts) => send('DELETE', path, undefined, opts),
  };
}
