// Free loopback ports chosen at run time.
import net from 'node:net';

/**
 * Ports handed out by this process, and when. A port is free when chosen and taken only when its daemon binds it, so
 * the kernel may hand it out again in between; the stacks of a sharded run start at once in one process, and must not
 * be given one port twice.
 */
const handedOut = new Map<number, number>();
const REUSE_AFTER_MS = 10 * 60_000;

export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await kernelFreePort(host);
    const now = Date.now();
    for (const [p, at] of handedOut) if (now - at > REUSE_AFTER_MS) handedOut.delete(p);
    if (!handedOut.has(port) || attempt >= 50) {
      handedOut.set(port, now);
      return port;
    }
  }
}

function kernelFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connect to host:port succeeds, or rejects after timeoutMs. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect({ port, host });
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class HttpClientError extends Error {}

/**
 * Resolves once GET url answers 2xx; rejects early when isAlive() turns false (the process died) or after timeoutMs.
 * describe() supplies the error context, usually the process's log tail.
 */
export async function waitForHttp(
  url: string,
  opts: { isAlive: () => boolean; describe: () => string; timeoutMs?: number; what: string },
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (!opts.isAlive()) throw new Error(`${opts.what} exited during startup:\n${opts.describe()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
      // 503 means "starting"; a 4xx will not go away by waiting (wrong path, or the endpoint wants credentials).
      if (res.status >= 400 && res.status < 500) throw new HttpClientError(`${opts.what} answers HTTP ${res.status} at ${url}; is that the right health URL?`);
      last = `HTTP ${res.status}`;
    } catch (err) {
      if (err instanceof HttpClientError) throw err;
      last = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    }
    if (Date.now() > deadline) throw new Error(`${opts.what} not ready at ${url} after ${timeoutMs} ms (${last}):\n${opts.describe()}`);
    await sleep(100);
  }
}
