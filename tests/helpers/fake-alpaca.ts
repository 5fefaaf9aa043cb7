// Test helpers for fake-alpaca suites: authenticated REST calls and a stream client that waits for matching messages.
import { decode } from '@msgpack/msgpack';
import { WebSocket, type RawData } from 'ws';

export const KEY = { id: 'test-key', secret: 'test-secret' };
export const AUTH_HEADERS = { 'APCA-API-KEY-ID': KEY.id, 'APCA-API-SECRET-KEY': KEY.secret };

export type Json = Record<string, unknown>;

export interface ApiResponse {
  status: number;
  body: unknown;
  ms: number;
}

/** One REST call with the test keys (unless headers override them); body is parsed JSON or undefined. */
export async function api(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = AUTH_HEADERS): Promise<ApiResponse> {
  const t0 = performance.now();
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown), ms: performance.now() - t0 };
}

export const json = (r: ApiResponse): Json => r.body as Json;

/** A market-data stream connection that records every element of every batch it receives. */
export class StreamClient {
  readonly messages: Json[] = [];
  readonly frames: { binary: boolean }[] = [];
  closed: { code: number } | undefined;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      const batch = (isBinary ? decode(buf) : JSON.parse(buf.toString('utf8'))) as Json[];
      this.frames.push({ binary: isBinary });
      this.messages.push(...batch);
      this.wake();
    });
    ws.on('close', (code: number) => {
      this.closed = { code };
      this.wake();
    });
  }

  static async connect(url: string, opts: { msgpack?: boolean; headers?: Record<string, string> } = {}): Promise<StreamClient> {
    const headers = { ...(opts.msgpack ? { 'Content-Type': 'application/msgpack' } : {}), ...opts.headers };
    const ws = new WebSocket(url, { headers });
    const client = new StreamClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  /** Resolves with the first recorded message (from index `from`) matching pred, or rejects after timeoutMs. */
  async waitFor(pred: (m: Json) => boolean, timeoutMs = 3000, from = 0): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.messages.slice(from).find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching stream message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves once `count` more batches (frames) have arrived than when called; a subscriber gets one batch per tick. */
  async waitForBatches(count: number, timeoutMs = 3000): Promise<void> {
    const want = this.frames.length + count;
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < want) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`got ${count - (want - this.frames.length)} of ${count} stream batches within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 3000): Promise<{ code: number }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error(`stream not closed within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closed;
  }

  /** Authenticates and subscribes, resolving once the subscription echo arrives. */
  async authAndSubscribe(sub: { trades?: string[]; quotes?: string[] }): Promise<Json> {
    await this.waitFor((m) => m.T === 'success' && m.msg === 'connected');
    this.send({ action: 'auth', key: KEY.id, secret: KEY.secret });
    await this.waitFor((m) => m.T === 'success' && m.msg === 'authenticated');
    const from = this.messages.length;
    this.send({ action: 'subscribe', trades: sub.trades ?? [], quotes: sub.quotes ?? [] });
    return this.waitFor((m) => m.T === 'subscription', 3000, from);
  }

  close(): void {
    this.ws.terminate();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Status code of a connection attempt's failure (ECONNREFUSED and the like), or "ok" if a request went through. */
export async function connectOutcome(url: string): Promise<string> {
  try {
    await fetch(url, { headers: AUTH_HEADERS });
    return 'ok';
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return cause?.code ?? String(err);
  }
}

/**
 * Resolves once the fake's simulator has ticked at least `ticks` times after the call, seen through REST as new latest
 * trade ids of `symbol` (every tick prints one trade per symbol, and runs the broker's order checks in the same turn).
 */
export async function ticksPass(base: string, ticks: number, symbol = 'AAPL', timeoutMs = 5000): Promise<void> {
  const latestTradeId = async (): Promise<number> => {
    const r = await api(base, 'GET', `/v2/stocks/${symbol}/trades/latest`);
    if (r.status !== 200) throw new Error(`fake-alpaca ${base} latest ${symbol} trade answered ${r.status}: ${JSON.stringify(r.body)}`);
    return Number((json(r).trade as Json).i);
  };
  const deadline = Date.now() + timeoutMs;
  let last = await latestTradeId();
  let seen = 0;
  while (seen < ticks) {
    if (Date.now() > deadline) throw new Error(`fake-alpaca ${base} ticked ${seen} of ${ticks} times within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
    const id = await latestTradeId();
    if (id !== last) seen += 1;
    last = id;
  }
}
