// toxiproxy's v2 HTTP API, a faithful subset, over our fault proxies: one client (verify/drivers/toxiproxy.ts) drives
// them and real toxiproxy alike.
//
// Routes, status codes, JSON fields and error bodies (`{"error": "...", "status": N}`) are toxiproxy's:
//   GET /version                                    200 {"version": "alertproof"} (toxiproxy 2.5.0 answers plain text)
//   POST /reset                                     204  every proxy enabled, every toxic removed
//   GET /proxies                                    200 {name: {name, listen, upstream, enabled, toxics}}
//   GET /proxies/{proxy}                            200 the proxy; 404 "proxy not found"
//   POST|PATCH /proxies/{proxy} {"enabled": bool}   200 the proxy (false is our 'down': not listening, connections closed)
//   GET /proxies/{proxy}/toxics                     200 [toxic], upstream stream first
//   POST /proxies/{proxy}/toxics                    200 the toxic (toxiproxy answers 200 here, not 201)
//   GET /proxies/{proxy}/toxics/{toxic}             200 the toxic; 404 "toxic not found"
//   POST|PATCH /proxies/{proxy}/toxics/{toxic}      200 the toxic, attributes and toxicity updated
//   DELETE /proxies/{proxy}/toxics/{toxic}          204
// A toxic is {name, type, stream, toxicity, attributes}; stream defaults to downstream, name to `${type}_${stream}`.
// toxiproxy's own errors keep its messages: "bad request body: ...", "stream was invalid, can be either upstream or
// downstream", "invalid toxic type", "toxic already exists" (409).
//   POST /proxies {name, listen, upstream, enabled} 201 the proxy, with the port it listens on when listen asked for 0;
//                                                   409 "proxy already exists"; 400 "missing required field: name"
// POST /proxies is served only by a server given a way to create proxies (stack/fault-proxy-main.ts, a stack's proxies
// in a process of their own); elsewhere it answers 405, as DELETE /proxies/{proxy} and POST /populate always do.
//
// Where our fault proxy cannot do what toxiproxy does, the toxic is refused with 400 or 409 rather than half applied:
// - Types: `latency`, `timeout` and `reset_peer` only, toxicity 1 only (ours applies a toxic to every connection).
// - One fault per proxy: at most one toxic per stream, and the toxics of a proxy share one type and one set of
//   attributes; anything else answers 409 naming the toxic that holds the proxy.
// - Our proxy faults both directions at once, whichever stream a toxic names, and goes on doing so while either
//   toxic of the pair remains:
//   - `latency` (attributes.latency ms, jitter 0): every chunk waits `latency` ms in each direction. toxiproxy's
//     latency toxic delays only its own stream (downstream: server to client), so a lone latency toxic adds one
//     `latency` to a request/response round trip there and two here; with one toxic on each stream, as the client
//     sets them, both add 2 x latency.
//   - `timeout` (attributes.timeout 0 only: a black hole that never closes): ours holds every byte in both
//     directions and delivers them once the toxic is gone, the connections staying open; toxiproxy drops the bytes of
//     its stream for good and, when the toxic is removed, closes (FIN) the connections it held.
//   - `reset_peer` (attributes.timeout 0 only): ours resets every open connection at once and every new one as it is
//     accepted; toxiproxy resets a new connection when data first arrives on the toxic's stream (an idle one stays
//     open), and closes one that was already open (FIN, not RST) when data next arrives.
// tests/toxiproxy-api.test.ts runs the same client cases against this server and toxiproxy 2.5.0, the black-hole
// difference asserted on each.
// This server assumes it alone sets the modes of its proxies; it does not own them: close() stops the HTTP server and
// leaves each proxy in the mode it has.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultProxy, ProxyMode } from './fault-proxy.ts';
import type { HostPort } from './index.ts';

/** What GET /version answers, so a client or a person can tell this server from real toxiproxy. */
export const TOXIPROXY_API_VERSION = 'alertproof';

const TOXIC_TYPES = ['latency', 'timeout', 'reset_peer'] as const;
type ToxicType = (typeof TOXIC_TYPES)[number];
type Stream = 'upstream' | 'downstream';

/** A toxic as toxiproxy writes it in JSON (its field order too). */
export interface Toxic {
  attributes: Record<string, number>;
  name: string;
  type: ToxicType;
  stream: string;
  toxicity: number;
}

interface ProxyState {
  proxy: FaultProxy;
  enabled: boolean;
  toxics: Toxic[];
}

/** An error answered as toxiproxy answers one: `{"error": message, "status": status}`. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const badBody = (why: string): ApiError => new ApiError(400, `bad request body: ${why}`);
const notServed = (method: string, path: string[]): ApiError =>
  new ApiError(405, `${method} /${path.join('/')} is not supported by alertproof's toxiproxy API: its proxies are the stack's fault proxies, started with it`);
const MAX_BODY_BYTES = 64 * 1024;

/** "host:port" as toxiproxy writes its listen and upstream fields, an IPv6 host in brackets. */
export function address(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The inverse of address(): "host:port" or "[v6]:port" (an empty host is 127.0.0.1); undefined if it is neither. */
export function parseAddress(text: unknown): HostPort | undefined {
  const m = typeof text === 'string' ? /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text) : null;
  if (!m || Number(m[3]) > 65535) return undefined;
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
}

function streamOf(toxic: Toxic): Stream {
  return toxic.stream.toLowerCase() as Stream;
}

function proxyJson(s: ProxyState): Record<string, unknown> {
  return {
    name: s.proxy.name,
    listen: address(s.proxy.host, s.proxy.port),
    upstream: address(s.proxy.target.host, s.proxy.target.port),
    enabled: s.enabled,
    toxics: toxicsJson(s),
  };
}

function toxicsJson(s: ProxyState): Toxic[] {
  return [...s.toxics.filter((t) => streamOf(t) === 'upstream'), ...s.toxics.filter((t) => streamOf(t) === 'downstream')];
}

/** The mode our proxy takes for a proxy's state: down when disabled, else whatever its toxics (all of one type) say. */
function modeOf(s: ProxyState): ProxyMode {
  if (!s.enabled) return { kind: 'down' };
  const toxic = s.toxics[0];
  if (!toxic) return { kind: 'pass' };
  if (toxic.type === 'latency') return { kind: 'latency', ms: toxic.attributes.latency! };
  return { kind: toxic.type === 'timeout' ? 'timeout' : 'reset' };
}

function sameMode(a: ProxyMode, b: ProxyMode): boolean {
  return a.kind === b.kind && (a.kind !== 'latency' || a.ms === (b as { ms: number }).ms);
}

function wholeMs(attrs: Record<string, unknown>, key: string, type: string): number {
  const v = attrs[key] ?? 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badBody(`attributes.${key} of a ${type} toxic must be a whole number of ms, got ${JSON.stringify(v)}`);
  return v;
}

/** The attributes toxiproxy would keep for the type (unknown keys dropped, missing ones 0), checked against what ours can do. */
function attributesFor(type: ToxicType, given: Record<string, unknown>): Record<string, number> {
  if (type === 'latency') {
    const latency = wholeMs(given, 'latency', type);
    const jitter = wholeMs(given, 'jitter', type);
    if (latency < 0) throw new ApiError(400, `a latency toxic needs attributes.latency >= 0 ms, got ${latency}`);
    if (jitter !== 0) throw new ApiError(400, `jitter ${jitter} ms is not supported by alertproof's fault proxy: it delays every chunk by the same latency; set jitter 0`);
    return { latency, jitter };
  }
  const timeout = wholeMs(given, 'timeout', type);
  if (timeout !== 0) {
    const what = type === 'timeout' ? 'a black hole that never closes' : 'a reset at once';
    throw new ApiError(400, `${type} with attributes.timeout ${timeout} ms is not supported by alertproof's fault proxy: only timeout 0 (${what}) is`);
  }
  return { timeout };
}

function checkToxicity(toxicity: unknown): number {
  if (typeof toxicity !== 'number') throw badBody(`toxicity must be a number, got ${JSON.stringify(toxicity)}`);
  if (toxicity !== 1) throw new ApiError(400, `toxicity ${toxicity} is not supported by alertproof's fault proxy: it applies a toxic to every connection; set toxicity 1`);
  return toxicity;
}

/** Our proxy holds one fault at a time: throws 409 naming the toxic `candidate` would contradict. */
function checkFits(s: ProxyState, candidate: Toxic): void {
  for (const held of s.toxics) {
    if (held.name === candidate.name) continue;
    const holds = `toxic ${held.name} (${held.type} on ${held.stream}) holds proxy ${s.proxy.name}`;
    const why =
      held.type !== candidate.type
        ? `alertproof's fault proxy holds one kind of fault at a time`
        : streamOf(held) === streamOf(candidate)
          ? `alertproof's fault proxy cannot stack two toxics on one stream`
          : JSON.stringify(held.attributes) !== JSON.stringify(candidate.attributes)
            ? `alertproof's fault proxy applies one fault to both directions, so the toxics of a proxy need the same attributes (${held.name} has ${JSON.stringify(held.attributes)})`
            : undefined;
    if (why) throw new ApiError(409, `${holds}: ${why}; delete it first`);
  }
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badBody(`expected a JSON object, got ${JSON.stringify(body)}`);
  return body as Record<string, unknown>;
}

function newToxic(s: ProxyState, body: unknown): Toxic {
  const b = asObject(body);
  const stream = b.stream ?? 'downstream';
  if (typeof stream !== 'string' || !['upstream', 'downstream'].includes(stream.toLowerCase())) {
    throw new ApiError(400, 'stream was invalid, can be either upstream or downstream');
  }
  const type = b.type;
  if (typeof b.name !== 'undefined' && typeof b.name !== 'string') throw badBody(`name must be a string, got ${JSON.stringify(b.name)}`);
  const name = b.name || `${String(type)}_${stream}`;
  if (!TOXIC_TYPES.includes(type as ToxicType)) {
    throw new ApiError(400, `invalid toxic type: ${JSON.stringify(type)}; alertproof's fault proxy serves ${TOXIC_TYPES.join(', ')}`);
  }
  if (s.toxics.some((t) => t.name === name)) throw new ApiError(409, `toxic already exists: ${name} on proxy ${s.proxy.name}`);
  const attributes = attributesFor(type as ToxicType, b.attributes === undefined ? {} : asObject(b.attributes));
  return { attributes, name, type: type as ToxicType, stream, toxicity: checkToxicity(b.toxicity ?? 1) };
}

function updatedToxic(held: Toxic, body: unknown): Toxic {
  const b = asObject(body);
  const given = b.attributes === undefined ? {} : asObject(b.attributes);
  return {
    ...held,
    attributes: attributesFor(held.type, { ...held.attributes, ...given }),
    toxicity: checkToxicity(b.toxicity ?? held.toxicity),
  };
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw badBody(`larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw badBody('empty; send a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badBody((err as Error).message);
  }
}

function pathSegments(pathname: string): string[] {
  try {
    return pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new ApiError(400, `malformed percent-encoding in path ${pathname}`);
  }
}

interface Answer {
  status: number;
  body?: unknown;
}

/** A proxy to create: listen on listen (port 0: a free one), forward to upstream. */
export interface ProxySpec {
  name: string;
  listen: HostPort;
  upstream: HostPort;
}

function addressField(field: string, value: unknown): HostPort {
  const parsed = parseAddress(value);
  if (!parsed) throw badBody(`${field} must be "host:port", got ${JSON.stringify(value)}`);
  return parsed;
}

/** The API over proxies (and, with create, the ones POST /proxies adds); every change goes through apply(), one at a time. */
function createHandler(proxies: FaultProxy[], create?: (spec: ProxySpec) => Promise<FaultProxy>): (method: string, path: string[], req: http.IncomingMessage) => Promise<Answer> {
  const states = new Map<string, ProxyState>();
  for (const proxy of proxies) {
    if (states.has(proxy.name)) throw new Error(`toxiproxy API: two fault proxies are named ${proxy.name}; names must be unique`);
    states.set(proxy.name, { proxy, enabled: proxy.mode().kind !== 'down', toxics: [] });
  }

  const stateOf = (name: string): ProxyState => {
    const s = states.get(name);
    if (!s) throw new ApiError(404, `proxy not found: ${name} (proxies here: ${[...states.keys()].join(', ') || 'none'})`);
    return s;
  };

  const toxicOf = (s: ProxyState, name: string): Toxic => {
    const t = s.toxics.find((x) => x.name === name);
    if (!t) throw new ApiError(404, `toxic not found: ${name} on proxy ${s.proxy.name}`);
    return t;
  };

  /** Commits the new state once our proxy is in the mode it implies; a proxy that cannot get there keeps the old one. */
  const apply = async (s: ProxyState, next: Omit<ProxyState, 'proxy'>): Promise<void> => {
    const mode = modeOf({ proxy: s.proxy, ...next });
    if (!sameMode(mode, s.proxy.mode())) {
      try {
        await s.proxy.set(mode);
      } catch (err) {
        // toxiproxy answers a proxy that cannot start (its port taken) with 500 and the reason.
        throw new ApiError(500, (err as Error).message);
      }
    }
    s.enabled = next.enabled;
    s.toxics = next.toxics;
  };

  /** toxiproxy's ProxyCreate: name and upstream required, listen defaulting to a free port, enabled to true. */
  const createProxy = async (createOne: (spec: ProxySpec) => Promise<FaultProxy>, body: unknown): Promise<Answer> => {
    const b = asObject(body);
    for (const field of ['name', 'upstream'] as const) {
      if (typeof b[field] !== 'string' || b[field] === '') throw new ApiError(400, `missing required field: ${field}`);
    }
    const name = b.name as string;
    const enabled = b.enabled ?? true;
    if (typeof enabled !== 'boolean') throw badBody(`enabled must be true or false, got ${JSON.stringify(enabled)}`);
    const spec: ProxySpec = { name, listen: addressField('listen', b.listen === undefined || b.listen === '' ? '127.0.0.1:0' : b.listen), upstream: addressField('upstream', b.upstream) };
    if (states.has(name)) throw new ApiError(409, 'proxy already exists');
    let proxy: FaultProxy;
    try {
      proxy = await createOne(spec);
    } catch (err) {
      // toxiproxy answers a proxy that cannot listen with 500 and the reason.
      throw new ApiError(500, (err as Error).message);
    }
    const state: ProxyState = { proxy, enabled: true, toxics: [] };
    states.set(name, state);
    if (!enabled) await apply(state, { enabled, toxics: [] });
    return { status: 201, body: proxyJson(state) };
  };

  return async (method, path, req) => {
    const [root, proxyName, sub, toxicName, ...rest] = path;
    if (rest.length > 0) throw new ApiError(404, `no such route: ${method} /${path.join('/')}`);
    const route = `${method} /${root ?? ''}${proxyName === undefined ? '' : '/:proxy'}${sub === undefined ? '' : `/${sub}`}${toxicName === undefined ? '' : '/:toxic'}`;
    switch (route) {
      case 'GET /version':
        return { status: 200, body: { version: TOXIPROXY_API_VERSION } };
      case 'POST /reset':
        for (const s of states.values()) await apply(s, { enabled: true, toxics: [] });
        return { status: 204 };
      case 'GET /proxies':
        return { status: 200, body: Object.fromEntries([...states].map(([name, s]) => [name, proxyJson(s)])) };
      case 'GET /proxies/:proxy':
        return { status: 200, body: proxyJson(stateOf(proxyName!)) };
      case 'POST /proxies/:proxy':
      case 'PATCH /proxies/:proxy': {
        const s = stateOf(proxyName!);
        const b = asObject(await readJson(req));
        const current = proxyJson(s);
        for (const key of ['listen', 'upstream'] as const) {
          if (b[key] !== undefined && b[key] !== current[key]) {
            throw new ApiError(400, `changing ${key} (${String(current[key])} to ${JSON.stringify(b[key])}) is not supported by alertproof's fault proxy; only enabled is`);
          }
        }
        const enabled = b.enabled ?? s.enabled;
        if (typeof enabled !== 'boolean') throw badBody(`enabled must be true or false, got ${JSON.stringify(enabled)}`);
        await apply(s, { enabled, toxics: s.toxics });
        return { status: 200, body: proxyJson(s) };
      }
      case 'GET /proxies/:proxy/toxics':
        return { status: 200, body: toxicsJson(stateOf(proxyName!)) };
      case 'POST /proxies/:proxy/toxics': {
        const s = stateOf(proxyName!);
        const toxic = newToxic(s, await readJson(req));
        checkFits(s, toxic);
        await apply(s, { enabled: s.enabled, toxics: [...s.toxics, toxic] });
        return { status: 200, body: toxic };
      }
      case 'GET /proxies/:proxy/toxics/:toxic': {
        const s = stateOf(proxyName!);
        return { status: 200, body: toxicOf(s, toxicName!) };
      }
      case 'POST /proxies/:proxy/toxics/:toxic':
      case 'PATCH /proxies/:proxy/toxics/:toxic': {
        const s = stateOf(proxyName!);
        const held = toxicOf(s, toxicName!);
        const toxic = updatedToxic(held, await readJson(req));
        checkFits(s, toxic);
        await apply(s, { enabled: s.enabled, toxics: s.toxics.map((t) => (t === held ? toxic : t)) });
        return { status: 200, body: toxic };
      }
      case 'DELETE /proxies/:proxy/toxics/:toxic': {
        const s = stateOf(proxyName!);
        const held = toxicOf(s, toxicName!);
        await apply(s, { enabled: s.enabled, toxics: s.toxics.filter((t) => t !== held) });
        return { status: 204 };
      }
      case 'POST /proxies':
        if (create) return createProxy(create, await readJson(req));
        throw notServed(method, path);
      case 'DELETE /proxies/:proxy':
      case 'POST /populate':
        throw notServed(method, path);
      default:
        throw new ApiError(404, `no such route: ${method} /${path.join('/')}`);
    }
  };
}

export interface ToxiproxyApi {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves toxiproxy's API over `proxies` on host (127.0.0.1) and port (a free one). `log` gets errors that are this
 * server's own fault (default: stderr); the client gets a generic 500 for those. With `create`, POST /proxies adds a
 * proxy made by it.
 */
export async function startToxiproxyApi(
  proxies: FaultProxy[],
  opts: { host?: string; port?: number; log?: (line: string) => void; create?: (spec: ProxySpec) => Promise<FaultProxy> } = {},
): Promise<ToxiproxyApi> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const handle = createHandler(proxies, opts.create);
  // Requests run one at a time, so no change interleaves with another halfway through a proxy's set().
  let queue: Promise<unknown> = Promise.resolve();

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://toxiproxy.invalid');
    const run = queue.then(() => handle(method, pathSegments(url.pathname), req));
    queue = run.catch(() => undefined);
    run.then(
      (answer) => send(res, answer),
      (err: unknown) => {
        if (err instanceof ApiError) return send(res, { status: err.status, body: { error: err.message, status: err.status } });
        log(`toxiproxy API: ${method} ${url.pathname} failed: ${(err as Error).stack ?? String(err)}`);
        send(res, { status: 500, body: { error: 'internal error in alertproof toxiproxy API; see its log', status: 500 } });
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new Error(`toxiproxy API cannot listen on ${address(host, opts.port ?? 0)} (${err.code ?? err.message}); is another process holding the port?`));
    });
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${address(host, port)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: http.ServerResponse, answer: Answer): void {
  if (answer.body === undefined) {
    res.writeHead(answer.status).end();
    return;
  }
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}
