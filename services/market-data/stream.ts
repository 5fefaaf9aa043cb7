// Alpaca v2 market-data stream client: connect -> auth -> subscribe, reconnect with backoff and jitter, silence = dead.
import WebSocket from 'ws';
import type { Logger } from 'pino';
import { boundedLabel } from '../kit/labels.ts';
import { MESSAGE_TYPES, type MarketDataMetrics } from './metrics.ts';

export interface StreamQuote {
  symbol: string;
  bid: number;
  ask: number;
  bidSize: number;
  askSize: number;
  ts: string;
}

export interface StreamTrade {
  symbol: string;
  price: number;
  size: number;
  ts: string;
}

export type StreamState = 'idle' | 'connecting' | 'authenticating' | 'ready' | 'stopped';

export interface StreamOptions {
  url: string;
  keyId: string;
  secretKey: string;
  /** Silence longer than this (during the handshake, or while subscribed) means the connection is dead. */
  staleAfterMs: number;
  /** A connection live (data flowing) this long was healthy: its drop is a new incident and redials from backoff.minMs. */
  healthyAfterMs: number;
  logger: Logger;
  metrics: Pick<MarketDataMetrics, 'messagesReceived' | 'wsConnectionStatus' | 'reconnectAttempts' | 'subscribedSymbols'>;
  onQuote(quote: StreamQuote): void;
  onTrade(trade: StreamTrade): void;
  backoff?: { minMs: number; maxMs: number };
  random?: () => number;
}

interface Waiter {
  done(confirmed: string[]): boolean;
  resolve(ok: boolean): void;
}

const MESSAGE_TYPE_SET: ReadonlySet<string> = new Set(MESSAGE_TYPES);

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential from minMs, capped at maxMs, with "equal jitter"
 * (half fixed, half random) so many clients dropped at once do not reconnect in lockstep yet never retry instantly.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + random() * (base / 2));
}

export class MarketStream {
  private ws: WebSocket | undefined;
  private current: StreamState = 'idle';
  private readonly desired = new Set<string>();
  private confirmedQuotes: string[] = [];
  private attempt = 0;
  private lastMessageAt = 0;
  /** Whether market data (or, with nothing subscribed, authentication) has arrived on the current connection. */
  private live = false;
  private liveSince = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private waiters: Waiter[] = [];
  private readonly backoff: { minMs: number; maxMs: number };
  private readonly random: () => number;

  constructor(private readonly opts: StreamOptions) {
    this.backoff = opts.backoff ?? { minMs: 100, maxMs: 5000 };
    this.random = opts.random ?? Math.random;
  }

  get state(): StreamState {
    return this.current;
  }

  /** Symbols we want (applied on every (re)connect). */
  get symbols(): string[] {
    return [...this.desired].sort();
  }

  /** Symbols the server last confirmed for quotes. */
  get confirmed(): string[] {
    return [...this.confirmedQuotes].sort();
  }

  start(): void {
    if (this.current !== 'idle') return;
    const tick = Math.max(50, Math.min(1000, Math.floor(this.opts.staleAfterMs / 4)));
    this.staleTimer = setInterval(() => this.checkStale(), tick);
    this.staleTimer.unref();
    this.connect();
  }

  stop(): void {
    this.current = 'stopped';
    clearInterval(this.staleTimer);
    clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    this.ws = undefined;
    ws?.terminate();
    this.markDown();
  }

  /** Adds symbols; resolves true once the server confirms them, false if not connected or not confirmed in time. */
  subscribe(symbols: string[], timeoutMs: number): Promise<boolean> {
    for (const s of symbols) this.desired.add(s);
    this.opts.metrics.subscribedSymbols.set(this.desired.size);
    return this.request('subscribe', symbols, (c) => symbols.every((s) => c.includes(s)), timeoutMs);
  }

  /** Removes symbols; resolves true once the server confirms they are gone. */
  unsubscribe(symbols: string[], timeoutMs: number): Promise<boolean> {
    for (const s of symbols) this.desired.delete(s);
    this.opts.metrics.subscribedSymbols.set(this.desired.size);
    return this.request('unsubscribe', symbols, (c) => symbols.every((s) => !c.includes(s)), timeoutMs);
  }

  private request(action: 'subscribe' | 'unsubscribe', symbols: string[], done: (c: string[]) => boolean, timeoutMs: number): Promise<boolean> {
    if (this.current !== 'ready' || !this.ws) return Promise.resolve(false);
    if (done(this.confirmedQuotes)) return Promise.resolve(true);
    const ws = this.ws;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      const waiter: Waiter = { done, resolve: (ok) => finish(ok) };
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(ok);
      };
      this.waiters.push(waiter);
      this.send(ws, { action, trades: symbols, quotes: symbols });
    });
  }

  private connect(): void {
    if (this.current === 'stopped') return;
    this.current = 'connecting';
    this.lastMessageAt = Date.now();
    const ws = new WebSocket(this.opts.url, { handshakeTimeout: this.opts.staleAfterMs });
    this.ws = ws;
    ws.on('open', () => {
      if (this.ws !== ws) return;
      this.current = 'authenticating';
      this.lastMessageAt = Date.now();
    });
    ws.on('message', (data) => {
      if (this.ws !== ws) return;
      this.lastMessageAt = Date.now();
      this.handle(ws, String(data));
    });
    ws.on('error', (err) => {
      this.opts.logger.debug({ err: err.message, url: this.opts.url }, 'market-data stream error');
    });
    ws.on('close', (code) => this.onClosed(ws, code));
  }

  private handle(ws: WebSocket, text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.opts.metrics.messagesReceived.inc({ message_type: 'other' });
      this.opts.logger.warn({ sample: text.slice(0, 120) }, 'market-data stream sent non-JSON; ignoring it');
      return;
    }
    for (const raw of Array.isArray(parsed) ? parsed : [parsed]) {
      const msg = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
      const type = typeof msg.T === 'string' ? msg.T : undefined;
      this.opts.metrics.messagesReceived.inc({ message_type: boundedLabel(type, MESSAGE_TYPE_SET) });
      switch (type) {
        case 'success':
          this.onSuccess(ws, String(msg.msg));
          break;
        case 'subscription':
          this.onSubscription(Array.isArray(msg.quotes) ? msg.quotes.filter((s): s is string => typeof s === 'string') : []);
          break;
        case 'error':
          this.onError(ws, msg);
          break;
        case 'q': {
          this.markLive();
          const q = toQuote(msg);
          if (q) this.opts.onQuote(q);
          break;
        }
        case 't': {
          this.markLive();
          const t = toTrade(msg);
          if (t) this.opts.onTrade(t);
          break;
        }
        case 'b':
          this.markLive();
          break;
        default:
          break;
      }
    }
  }

  /**
   * The connection counts as up (status 1) only once data flows: a feed that authenticates and then stays silent
   * would otherwise flap to 1 on every reconnect and hide a dead stream from the alert.
   */
  private markLive(): void {
    if (this.live || this.current !== 'ready') return;
    this.live = true;
    this.liveSince = Date.now();
    this.opts.metrics.wsConnectionStatus.set(1);
  }

  private onSuccess(ws: WebSocket, text: string): void {
    if (text === 'connected') {
      this.send(ws, { action: 'auth', key: this.opts.keyId, secret: this.opts.secretKey });
    } else if (text === 'authenticated') {
      this.current = 'ready';
      if (this.desired.size === 0) this.markLive();
      this.opts.logger.info({ url: this.opts.url, symbols: this.desired.size }, 'market-data stream authenticated');
      if (this.desired.size > 0) this.send(ws, { action: 'subscribe', trades: this.symbols, quotes: this.symbols });
    }
  }

  private onSubscription(quotes: string[]): void {
    this.confirmedQuotes = quotes;
    for (const w of [...this.waiters]) if (w.done(quotes)) w.resolve(true);
  }

  private onError(ws: WebSocket, msg: Record<string, unknown>): void {
    this.opts.logger.warn({ code: msg.code, msg: msg.msg }, 'market-data stream reported an error');
    // Before authentication an error (bad key, connection limit) leaves the socket useless: drop it and retry later.
    if (this.current !== 'ready') ws.terminate();
  }

  private onClosed(ws: WebSocket, code: number): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    // Not on authentication: a feed that drops right after auth would be redialed every 100-200 ms forever. Live
    // for healthyAfterMs means data kept coming (the stale check ends a silent one sooner), so the backoff starts over.
    if (this.live && Date.now() - this.liveSince >= this.opts.healthyAfterMs) this.attempt = 0;
    this.markDown();
    if (this.current === 'stopped') return;
    this.current = 'idle';
    const delay = backoffDelay(this.attempt, this.backoff.minMs, this.backoff.maxMs, this.random);
    this.attempt += 1;
    this.opts.logger.warn({ code, attempt: this.attempt, delayMs: delay }, 'market-data stream closed; reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.opts.metrics.reconnectAttempts.inc();
      this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  private markDown(): void {
    this.live = false;
    this.opts.metrics.wsConnectionStatus.set(0);
    this.confirmedQuotes = [];
    for (const w of [...this.waiters]) w.resolve(false);
  }

  private checkStale(): void {
    const ws = this.ws;
    if (!ws) return;
    const silentMs = Date.now() - this.lastMessageAt;
    if (silentMs <= this.opts.staleAfterMs) return;
    const handshaking = this.current === 'connecting' || this.current === 'authenticating';
    if (!handshaking && this.desired.size === 0) return;
    this.opts.logger.warn({ silentMs, state: this.current }, 'market-data stream silent past STALE_AFTER_MS; treating it as dead');
    // terminate() emits "close", which marks the stream down and schedules the reconnect.
    ws.terminate();
  }

  private send(ws: WebSocket, body: unknown): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(body));
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function toQuote(m: Record<string, unknown>): StreamQuote | undefined {
  const bid = num(m.bp);
  const ask = num(m.ap);
  if (typeof m.S !== 'string' || bid === undefined || ask === undefined) return undefined;
  return { symbol: m.S, bid, ask, bidSize: num(m.bs) ?? 0, askSize: num(m.as) ?? 0, ts: typeof m.t === 'string' ? m.t : new Date().toISOString() };
}

function toTrade(m: Record<string, unknown>): StreamTrade | undefined {
  const price = num(m.p);
  if (typeof m.S !== 'string' || price === undefined) return undefined;
  return { symbol: m.S, price, size: num(m.s) ?? 0, ts: typeof m.t === 'string' ? m.t : new Date().toISOString() };
}
