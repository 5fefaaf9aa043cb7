// Free loopback ports chosen at run time.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A port is free when chosen but taken only when its daemon binds it, and the kernel may hand it out again in between:
 * to the other stacks of a sharded run starting at the same moment, or to another verify-alerts or test process. So
 * every port handed out is claimed with an exclusive file in a directory all alertproof processes share, for as long
 * as a daemon takes to bind it, and a claimed port is not handed out again before the claim expires.
 */
const CLAIMS_DIR = path.join(os.tmpdir(), 'alertproof-port-claims');
const CLAIM_MS = 10 * 60_000;

const claimFile = (port: number): string => path.join(CLAIMS_DIR, String(port));

function claim(port: number): boolean {
  const file = claimFile(port);
  try {
    fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  try {
    if (Date.now() - fs.statSync(file).mtimeMs < CLAIM_MS) return false;
    // An expired claim: take it over (two takers at once would both pass here only within the same millisecond).
    fs.writeFileSync(file, `${process.pid}\n`);
    return true;
  } catch {
    return false;
  }
}

/**
 * A loopback port free now, claimed for this process. On Linux it lies below the kernel's ephemeral range
 * (net.ipv4.ip_local_port_range): the kernel gives every outgoing connection a local port from that range, and on a
 * machine running several stacks, with their loads, scrapes and proxies opening connections all the time, a port
 * chosen from it can be taken by one of them before its daemon (queued behind the other stacks' starts, or down for a
 * restart) binds it: a 4-shard run failed on EADDRINUSE so. Below the range only a program binding that very port can
 * take it. There a port is claimed before it is probed, so no alertproof process ever binds, even for a probe, a port
 * another has claimed.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  fs.mkdirSync(CLAIMS_DIR, { recursive: true });
  const range = quietRange();
  for (let attempt = 1; ; attempt++) {
    if (range) {
      const port = range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1));
      if (claim(port)) {
        if ((await probe(host, port)) !== undefined) return port;
        fs.rmSync(claimFile(port), { force: true });
      }
      if (attempt >= 1000) throw new Error(`no free unclaimed port on ${host} in ${range[0]}-${range[1]} after ${attempt} tries (claims in ${CLAIMS_DIR})`);
    } else {
      // No range to keep out of: the kernel's choice, claimed once probed.
      const port = (await probe(host, 0))!;
      if (claim(port) || attempt >= 100) return port;
    }
  }
}

/** Lowest port alertproof chooses: the registered ports below it are where well-known daemons listen. */
const QUIET_FLOOR = 10_000;

/** The ports below the kernel's ephemeral range and above QUIET_FLOOR, or undefined where that range cannot be read or leaves too few. */
export function quietRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] | undefined {
  let low: number;
  try {
    low = Number(fs.readFileSync(file, 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return undefined;
  }
  return Number.isInteger(low) && low - 1 - QUIET_FLOOR >= 1000 ? [QUIET_FLOOR, low - 1] : undefined;
}

/** Binds and releases host:port (0: a port of the kernel's choosing); the port bound, or undefined if it was in use. */
function probe(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) => (port !== 0 && (err.code === 'EADDRINUSE' || err.code === 'EACCES') ? resolve(undefined) : reject(err)));
    srv.listen(port, host, () => {
      const bound = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(bound));
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
