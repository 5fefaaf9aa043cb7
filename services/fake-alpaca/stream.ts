// Alpaca's v2 market-data stream protocol over WebSocket (JSON, or msgpack when the client asks for it), fed by the simulator.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { decode, encode } from '@msgpack/msgpack';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Faults } from './faults.ts';
import type { FakeAlpacaMetrics } from './metrics.ts';
import type { Quote, Tick, Trade } from './simulator.ts';

export const STREAM_PATHS: ReadonlySet<string> = new Set(['/v2/iex', '/v2/sip', '/v2/test']);
/** Alpaca closes a connection that has not authenticated within about ten seconds. */
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;
const EXCHANGE = 'V';

export interface StreamDeps {
  faults: () => Faults;
  metrics: FakeAlpacaMetrics;
  keyId: string;
  secretKey: string;
  authTimeoutMs: number;
  logger: Logger;
}

interface Client {
  ws: WebSocket;
  msgpack: boolean;
  authenticated: boolean;
  trades: Set<string>;
  quotes: Set<string>;
  bars: Set<string>;
  authTimer?: NodeJS.Timeout;
  dropTimer?: NodeJS.Timeout;
}

type Message = Record<string, unknown>;

/** Alpaca's stream error codes and texts (docs: "Real-time Stock Data", errors). */
const ERRORS = {
  invalidSyntax: { code: 400, msg: 'invalid syntax' },
  notAuthenticated: { code: 401, msg: 'not authenticated' },
  authFailed: { code: 402, msg: 'auth failed' },
  alreadyAuthenticated: { code: 403, msg: 'already authenticated' },
  authTimeout: { code: 404, msg: 'auth timeout' },
} as const;

const symbolArray = (v: unknown): string[] | undefined =>
  v === undefined ? [] : Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : undefined;

function wants(set: Set<string>, symbol: string): boolean {
  return set.has('*') || set.has(symbol);
}

function quoteMessage(q: Quote): Message {
  return { T: 'q', S: q.symbol, bx: EXCHANGE, bp: q.bidPrice, bs: q.bidSize, ax: EXCHANGE, ap: q.askPrice, as: q.askSize, c: ['R'], z: q.tape, t: q.timestamp };
}

function tradeMessage(t: Trade): Message {
  return { T: 't', S: t.symbol, i: t.id, x: EXCHANGE, p: t.price, s: t.size, c: ['@'], z: t.tape, t: t.timestamp };
}

export class MarketDataStream {
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: false });
  private readonly clients = new Set<Client>();

  constructor(private readonly deps: StreamDeps) {}

  get clientCount(): number {
    return this.clients.size;
  }

  /** The main listener's 'upgrade' handler: only the feed paths upgrade, and none while wsDrop is on. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (!STREAM_PATHS.has(path)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (this.deps.faults().wsDrop) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  }

  /** Sends this tick's trades and quotes to every authenticated subscriber, one batch per client. */
  broadcast(tick: Tick): void {
    if (this.deps.faults().wsSilent) return;
    for (const client of this.clients) {
      if (!client.authenticated) continue;
      const batch: Message[] = [
        ...tick.trades.filter((t) => wants(client.trades, t.symbol)).map(tradeMessage),
        ...tick.quotes.filter((q) => wants(client.quotes, q.symbol)).map(quoteMessage),
      ];
      if (batch.length > 0) this.send(client, batch);
    }
  }

  /** Abrupt close of every connection (no close frame), as a dropped network or a crashed feed looks. */
  terminateAll(): void {
    for (const client of this.clients) client.ws.terminate();
  }

  async close(): Promise<void> {
    this.terminateAll();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const client: Client = {
      ws,
      msgpack: (req.headers['content-type'] ?? '').includes('application/msgpack'),
      authenticated: false,
      trades: new Set(),
      quotes: new Set(),
      bars: new Set(),
    };
    this.clients.add(client);
    this.deps.metrics.streamClients.set(this.clients.size);
    ws.on('close', () => {
      clearTimeout(client.authTimer);
      clearTimeout(client.dropTimer);
      this.clients.delete(client);
      this.deps.metrics.streamClients.set(this.clients.size);
    });
    ws.on('error', (err) => this.deps.logger.debug({ err: err.message }, 'stream client error'));
    // Pongs are ours to send so that wsSilent can leave a client's keepalive pings unanswered too.
    ws.on('ping', (data) => {
      if (!this.deps.faults().wsSilent) ws.pong(data);
    });
    ws.on('message', (data, isBinary) => this.onMessage(client, data, isBinary));
    this.send(client, [{ T: 'success', msg: 'connected' }]);
    // Alpaca also accepts the key headers on the upgrade request and then authenticates at once.
    if (req.headers['apca-api-key-id'] === this.deps.keyId && req.headers['apca-api-secret-key'] === this.deps.secretKey) {
      this.authenticate(client);
      return;
    }
    client.authTimer = setTimeout(() => {
      this.sendError(client, ERRORS.authTimeout);
      ws.close(1008, 'auth timeout');
    }, this.deps.authTimeoutMs);
  }

  private onMessage(client: Client, data: RawData, isBinary: boolean): void {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    let msg: unknown;
    try {
      msg = isBinary ? decode(buf) : JSON.parse(buf.toString('utf8'));
    } catch {
      this.sendError(client, ERRORS.invalidSyntax);
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.sendError(client, ERRORS.invalidSyntax);
      return;
    }
    const m = msg as Message;
    switch (m.action) {
      case 'auth':
        this.onAuth(client, m);
        return;
      case 'subscribe':
      case 'unsubscribe':
        this.onSubscription(client, m, m.action);
        return;
      default:
        this.sendError(client, ERRORS.invalidSyntax);
    }
  }

  private onAuth(client: Client, m: Message): void {
    if (client.authenticated) {
      this.sendError(client, ERRORS.alreadyAuthenticated);
      return;
    }
    if (m.key === this.deps.keyId && m.secret === this.deps.secretKey) {
      clearTimeout(client.authTimer);
      this.authenticate(client);
      return;
    }
    // The socket stays open so the client may retry; the auth timeout still closes it if it never succeeds.
    this.sendError(client, ERRORS.authFailed);
  }

  private authenticate(client: Client): void {
    client.authenticated = true;
    this.send(client, [{ T: 'success', msg: 'authenticated' }]);
    const dropAfterMs = this.deps.faults().wsDropAfterAuthMs;
    if (dropAfterMs === 0) return;
    // Abrupt, like wsDrop; a fault cleared meanwhile spares the connection.
    client.dropTimer = setTimeout(() => {
      if (this.deps.faults().wsDropAfterAuthMs > 0) client.ws.terminate();
    }, dropAfterMs);
  }

  private onSubscription(client: Client, m: Message, action: 'subscribe' | 'unsubscribe'): void {
    if (!client.authenticated) {
      this.sendError(client, ERRORS.notAuthenticated);
      return;
    }
    const lists = { trades: symbolArray(m.trades), quotes: symbolArray(m.quotes), bars: symbolArray(m.bars) };
    if (lists.trades === undefined || lists.quotes === undefined || lists.bars === undefined) {
      this.sendError(client, ERRORS.invalidSyntax);
      return;
    }
    for (const key of ['trades', 'quotes', 'bars'] as const) {
      for (const raw of lists[key] ?? []) {
        const symbol = raw === '*' ? raw : raw.toUpperCase();
        if (action === 'subscribe') client[key].add(symbol);
        else client[key].delete(symbol);
      }
    }
    const trades = [...client.trades];
    // Alpaca echoes the whole subscription; corrections and cancel errors follow the trade subscription.
    this.send(client, [
      {
        T: 'subscription',
        trades,
        quotes: [...client.quotes],
        bars: [...client.bars],
        updatedBars: [],
        dailyBars: [],
        statuses: [],
        lulds: [],
        corrections: trades,
        cancelErrors: trades,
      },
    ]);
  }

  private sendError(client: Client, e: { code: number; msg: string }): void {
    this.send(client, [{ T: 'error', code: e.code, msg: e.msg }]);
  }

  private send(client: Client, messages: Message[]): void {
    if (this.deps.faults().wsSilent || client.ws.readyState !== WebSocket.OPEN) return;
    // Dates go out as msgpack timestamps or, in JSON, as RFC 3339 strings (Date.toJSON), matching Alpaca.
    client.ws.send(client.msgpack ? encode(messages) : JSON.stringify(messages));
  }
}
