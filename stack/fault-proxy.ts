// A TCP fault proxy between a service and one dependency (Postgres, Redis, the broker): pass, latency, black hole, reset, down.
import net from 'node:net';

export type ProxyMode =
  | { kind: 'pass' }
  /** Every chunk waits `ms` in each direction, so a request/response round trip gains 2 x ms. */
  | { kind: 'latency'; ms: number }
  /** Accept and hold, forward nothing: a black hole. Held bytes flow again when the mode changes back. */
  | { kind: 'timeout' }
  /** RST every existing and new connection. */
  | { kind: 'reset' }
  /** Stop listening (ECONNREFUSED); existing connections destroyed. */
  | { kind: 'down' };

export interface FaultProxy {
  name: string;
  host: string;
  port: number;
  target: { host: string; port: number };
  mode(): ProxyMode;
  set(mode: ProxyMode): Promise<void>;
  /** Client connections currently open through the proxy. */
  connections(): number;
  close(): Promise<void>;
}

/** Bytes a direction may hold (delayed or black-holed) before it stops reading from its source. */
const HOLD_LIMIT_BYTES = 1 << 20;

interface Held {
  chunk: Buffer;
  releaseAt: number;
}

/** One direction of a proxied connection: reads from `from`, writes to `to` in order, honouring the proxy mode. */
class Pipe {
  private readonly queue: Held[] = [];
  private heldBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private blocked = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly mode: () => ProxyMode,
  ) {
    from.on('data', (chunk: Buffer) => {
      const m = mode();
      this.queue.push({ chunk, releaseAt: m.kind === 'latency' ? Date.now() + m.ms : 0 });
      this.heldBytes += chunk.length;
      if (this.heldBytes > HOLD_LIMIT_BYTES) from.pause();
      this.pump();
    });
    from.on('end', () => {
      this.ended = true;
      this.pump();
    });
    to.on('drain', () => {
      this.blocked = false;
      this.pump();
    });
  }

  /** Writes every chunk that is due, in arrival order; re-arms a timer for the next one. */
  pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.mode().kind === 'timeout' || this.to.destroyed || this.to.connecting) return;
    while (this.queue.length > 0 && !this.blocked) {
      const head = this.queue[0]!;
      const wait = head.releaseAt - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => this.pump(), wait);
        return;
      }
      this.queue.shift();
      this.heldBytes -= head.chunk.length;
      // Backpressure: stop taking more once the destination's buffer is full, resume on 'drain'.
      if (!this.to.write(head.chunk)) this.blocked = true;
    }
    if (this.heldBytes <= HOLD_LIMIT_BYTES && this.from.isPaused() && !this.from.destroyed) this.from.resume();
    if (this.ended && this.queue.length === 0 && !this.to.writableEnded) {
      // A source that is gone entirely will never read again, so nothing keeps the destination half-open.
      if (this.from.destroyed) this.to.destroySoon();
      else this.to.end();
    }
  }

  /** Bytes still waiting to be forwarded. */
  pending(): number {
    return this.heldBytes;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

interface Conn {
  client: net.Socket;
  upstream: net.Socket;
  pipes: Pipe[];
}

export async function startFaultProxy(opts: { name: string; target: { host: string; port: number }; host?: string; port?: number }): Promise<FaultProxy> {
  const host = opts.host ?? '127.0.0.1';
  const target = { ...opts.target };
  const conns = new Set<Conn>();
  let current: ProxyMode = { kind: 'pass' };
  let server: net.Server | undefined;
  let closed = false;
  let port = opts.port ?? 0;

  const drop = (conn: Conn, reset: boolean): void => {
    conns.delete(conn);
    for (const p of conn.pipes) p.stop();
    for (const s of [conn.client, conn.upstream]) {
      if (s.destroyed) continue;
      // libuv refuses to reset a socket whose end() is still being flushed (uv_tcp_close_reset: EINVAL, handle left
      // open), and Node then spins at exit closing it. Such a socket has sent its FIN already: close it plainly.
      const shuttingDown = s.writableEnded && !s.writableFinished;
      if (reset && !shuttingDown) s.resetAndDestroy();
      else s.destroy();
    }
  };

  const onConnection = (client: net.Socket): void => {
    client.on('error', () => undefined);
    if (current.kind === 'reset' || closed) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    upstream.on('error', () => undefined);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const conn: Conn = { client, upstream, pipes: [] };
    const mode = (): ProxyMode => current;
    conn.pipes = [new Pipe(client, upstream, mode), new Pipe(upstream, client, mode)];
    conns.add(conn);
    upstream.once('connect', () => conn.pipes[0]!.pump());
    // An abrupt failure on one side (RST, refused upstream) is passed on as an RST so the other side sees it too,
    // except in a black hole, which hides a failed upstream from the client until the mode changes.
    client.once('error', () => drop(conn, true));
    upstream.once('error', () => {
      if (current.kind !== 'timeout') drop(conn, true);
    });
    const onClose = (dead: 'client' | 'upstream') => (): void => {
      if (client.destroyed && upstream.destroyed) {
        conns.delete(conn);
        return;
      }
      if (dead === 'upstream' && current.kind === 'timeout') return;
      // Bytes the dead side sent that are still delayed go out first; that pipe then ends the other side itself.
      const [fromDead, other] = dead === 'client' ? [conn.pipes[0]!, upstream] : [conn.pipes[1]!, client];
      if (fromDead.pending() > 0 && current.kind !== 'timeout') return;
      other.destroySoon();
    };
    client.once('close', onClose('client'));
    upstream.once('close', onClose('upstream'));
  };

  const listenNow = async (): Promise<void> => {
    const srv = net.createServer({ allowHalfOpen: true }, onConnection);
    await new Promise<void>((resolve, reject) => {
      srv.once('error', (err: NodeJS.ErrnoException) => {
        reject(new Error(`fault proxy ${opts.name} cannot listen on ${host}:${port} (${err.code ?? err.message}); is another process holding the port?`));
      });
      srv.listen(port, host, () => resolve());
    });
    srv.on('error', () => undefined);
    port = (srv.address() as net.AddressInfo).port;
    server = srv;
  };

  const stopListening = async (): Promise<void> => {
    const srv = server;
    server = undefined;
    if (!srv) return;
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  };

  const dropAll = (reset: boolean): void => {
    for (const conn of [...conns]) drop(conn, reset);
  };

  await listenNow();

  return {
    name: opts.name,
    host,
    get port() {
      return port;
    },
    target,
    mode: () => current,
    async set(mode) {
      if (closed) throw new Error(`fault proxy ${opts.name} is closed; start a new one`);
      if (mode.kind === 'latency' && !(Number.isFinite(mode.ms) && mode.ms >= 0)) {
        throw new Error(`fault proxy ${opts.name}: latency must be a finite number of ms >= 0, got ${mode.ms}`);
      }
      const was = current;
      if (mode.kind === 'down') {
        current = mode;
        const stopped = stopListening();
        dropAll(false);
        await stopped;
        return;
      }
      // Re-listen first, so a failure leaves the proxy honestly 'down' rather than claiming a mode it is not in.
      if (was.kind === 'down') await listenNow();
      current = mode;
      if (mode.kind === 'reset') dropAll(true);
      if (mode.kind === 'timeout') return;
      for (const conn of [...conns]) {
        // An upstream that failed inside the black hole surfaces now, as the RST it would have been.
        if (conn.upstream.destroyed) drop(conn, true);
        // Leaving a black hole (or shortening latency) releases whatever is now due.
        else for (const p of conn.pipes) p.pump();
      }
    },
    connections: () => conns.size,
    async close() {
      if (closed) return;
      closed = true;
      const stopped = stopListening();
      dropAll(false);
      await stopped;
    },
  };
}
