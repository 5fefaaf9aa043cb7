// Starts fake-alpaca: the main listener (REST + stream, closable by a fault), the loopback admin listener, and the tick loop.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { requireAdmin } from '../kit/admin.ts';
import { TEST_KEYS } from '../kit/config.ts';
import { DEFAULT_SYMBOLS } from '../kit/platform.ts';
import { createLogger } from '../kit/logger.ts';
import { createService, listen } from '../kit/service.ts';
import { parseBody } from '../kit/validate.ts';
import { Broker } from './broker.ts';
import { faultsPatchSchema, NO_FAULTS, publishFaults, type Faults } from './faults.ts';
import { createFakeAlpacaMetrics } from './metrics.ts';
import { createRestApp } from './rest.ts';
import { createRandom, PriceSimulator } from './simulator.ts';
import { DEFAULT_AUTH_TIMEOUT_MS, MarketDataStream } from './stream.ts';

export type { Faults } from './faults.ts';

export interface FakeAlpacaOptions {
  host?: string;
  port?: number;
  adminPort?: number;
  /** When set, PUT and DELETE /admin/faults need Authorization: Bearer <adminToken>. */
  adminToken?: string | undefined;
  symbols?: string[];
  seed?: number;
  tickMs?: number;
  keyId?: string;
  secretKey?: string;
  logLevel?: string;
  initialCash?: number;
  /** How long a stream client may take to authenticate before "auth timeout" (Alpaca: about 10 s). */
  authTimeoutMs?: number;
}

export interface FakeAlpaca {
  url: string;
  port: number;
  /** ws://host:port/v2/iex */
  wsUrl: string;
  adminUrl: string;
  adminPort: number;
  faults(): Faults;
  setFaults(p: Partial<Faults>): Promise<void>;
  clearFaults(): Promise<void>;
  close(): Promise<void>;
}

/** The main HTTP listener, which the refuseConnections fault closes and later reopens on the same port. */
class MainListener {
  private readonly sockets = new Set<Socket>();
  private listening = false;
  port = 0;

  constructor(
    readonly server: http.Server,
    private readonly host: string,
  ) {
    server.keepAliveTimeout = 5000;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  get isListening(): boolean {
    return this.listening;
  }

  async open(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new Error(`fake-alpaca cannot listen on ${this.host}:${port}: ${err.message}; is another process using the port?`));
      };
      this.server.once('error', onError);
      this.server.listen(port, this.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.listening = true;
  }

  /** Stops accepting and destroys every open connection, so clients see ECONNREFUSED / ECONNRESET. */
  async shut(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

export async function startFakeAlpaca(opts: FakeAlpacaOptions = {}): Promise<FakeAlpaca> {
  const host = opts.host ?? '127.0.0.1';
  const keyId = opts.keyId ?? TEST_KEYS.keyId;
  const secretKey = opts.secretKey ?? TEST_KEYS.secretKey;
  const seed = opts.seed ?? 1;
  const tickMs = opts.tickMs ?? 200;
  const logger = createLogger('fake-alpaca', opts.logLevel ?? 'warn');
  const metrics = createFakeAlpacaMetrics();
  const sim = new PriceSimulator(opts.symbols ?? DEFAULT_SYMBOLS.split(','), seed);
  const broker = new Broker(sim, opts.initialCash ?? 100_000, (order) => metrics.orders.inc({ status: order.status }));
  // Fault draws use their own stream so injecting errors does not change the price path of a seed.
  const faultRandom = createRandom((seed ^ 0x9e3779b9) >>> 0);
  const shutdown = new AbortController();
  let faults: Faults = { ...NO_FAULTS };
  const currentFaults = (): Faults => faults;

  const rest = createRestApp({ broker, sim, faults: currentFaults, metrics, keyId, secretKey, random: faultRandom, shutdown: shutdown.signal, logger });
  const stream = new MarketDataStream({
    faults: currentFaults,
    metrics,
    keyId,
    secretKey,
    authTimeoutMs: opts.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS,
    logger,
  });
  const main = new MainListener(http.createServer(rest.callback()), host);
  main.server.on('upgrade', (req, socket, head: Buffer) => stream.handleUpgrade(req, socket, head));
  await main.open(opts.port ?? 0);

  // Fault changes run one at a time, so a refuse and a recover sent back to back cannot interleave.
  let applying: Promise<void> = Promise.resolve();
  const apply = (patch: Partial<Faults>): Promise<void> => {
    const run = async (): Promise<void> => {
      const next: Faults = { ...faults, ...faultsPatchSchema.parse(patch) };
      faults = next;
      publishFaults(faults, metrics);
      if (next.wsDrop) stream.terminateAll();
      // After close() the listener stays shut whatever the faults say.
      if (shutdown.signal.aborted) return;
      if (next.refuseConnections) {
        await main.shut();
      } else if (!main.isListening) {
        try {
          await main.open(main.port);
        } catch (err) {
          faults = { ...faults, refuseConnections: true };
          publishFaults(faults, metrics);
          throw err;
        }
      }
    };
    applying = applying.then(run, run);
    return applying;
  };

  const admin = createService({ name: 'fake-alpaca', registry: metrics.registry, logger });
  admin.router.get('/admin/faults', (ctx) => {
    ctx.body = faults;
  });
  const adminOnly = requireAdmin(opts.adminToken);
  admin.router.put('/admin/faults', adminOnly, async (ctx) => {
    await apply(parseBody(faultsPatchSchema, ctx.request.body ?? {}, 'faults'));
    ctx.body = faults;
  });
  admin.router.delete('/admin/faults', adminOnly, async (ctx) => {
    await apply({ ...NO_FAULTS });
    ctx.body = faults;
  });
  // The admin API must stay reachable during every fault, so it is loopback-only and never closed by one; being
  // loopback-only, it may run without ADMIN_TOKEN wherever the main listener binds.
  const adminServer = await listen(admin.app, '127.0.0.1', opts.adminPort ?? 0).catch(async (err: unknown) => {
    await main.shut();
    throw err;
  });

  const timer = setInterval(() => {
    const tick = sim.step();
    broker.onTick(faults.marketOpen);
    stream.broadcast(tick);
  }, tickMs);
  timer.unref();

  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${main.port}`;
  let closing: Promise<void> | undefined;
  logger.info({ url, adminUrl: adminServer.url, symbols: sim.symbols.length, seed, tickMs }, 'fake-alpaca started');
  return {
    url,
    port: main.port,
    wsUrl: `ws://${urlHost}:${main.port}/v2/iex`,
    adminUrl: adminServer.url,
    adminPort: adminServer.port,
    faults: () => ({ ...faults }),
    setFaults: (p) => apply(p),
    clearFaults: () => apply({ ...NO_FAULTS }),
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        shutdown.abort();
        await stream.close();
        await main.shut();
        await adminServer.close();
      })();
      return closing;
    },
  };
}
