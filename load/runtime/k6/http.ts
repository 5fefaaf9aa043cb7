// The runtime's 'k6/http' module: http.asyncRequest over undici keep-alive pools to loopback only, each request
// timed and recorded in http_reqs, http_req_duration and http_req_failed with k6's tags. The sync API is refused.
import { Pool, type Dispatcher } from 'undici';
import { parseDurationMs } from '../options.ts';
import { assertLoopbackUrl } from '../loopback.ts';
import { contextTags, EXIT_SCRIPT_ERROR, Interrupted, iterationContext, refuse, TestAbort, testState } from '../state.ts';

type ExpectedStatusesCallback = ((res: { status: number }) => boolean) & { readonly expected: string };
type Body = string | null | undefined | Record<string, unknown>;

interface Params {
  headers?: Record<string, string>;
  tags?: Record<string, unknown>;
  timeout?: string | number;
  responseCallback?: ExpectedStatusesCallback | null;
  responseType?: 'text' | 'none';
}

const PARAMS = new Set(['headers', 'tags', 'timeout', 'responseCallback', 'responseType']);
const USER_AGENT = 'alertproof-k6-runtime';
/** k6's default request timeout. */
const DEFAULT_TIMEOUT_MS = 60_000;

export interface Timings {
  duration: number;
  blocked: number;
  connecting: number;
  tls_handshaking: number;
  sending: number;
  waiting: number;
  receiving: number;
}

export class Response {
  private headerMap: Record<string, string> | undefined;

  constructor(
    readonly status: number,
    readonly body: string | null,
    /** undici's raw header list (name, value, name, value, ...), parsed on first read of `headers`. */
    private readonly rawHeaders: readonly Buffer[],
    readonly url: string,
    readonly error: string,
    readonly error_code: number,
    readonly timings: Timings,
    readonly request: { method: string; url: string; headers: Record<string, string>; body: string },
  ) {}

  readonly proto = 'HTTP/1.1';

  /** Built on first read: most scripts never look at the headers. Names lower-case; repeated headers joined by ', '. */
  get headers(): Record<string, string> {
    if (this.headerMap === undefined) {
      const map: Record<string, string> = {};
      for (let i = 0; i + 1 < this.rawHeaders.length; i += 2) {
        const name = this.rawHeaders[i]!.toString('latin1').toLowerCase();
        const value = this.rawHeaders[i + 1]!.toString('latin1');
        map[name] = Object.hasOwn(map, name) ? `${map[name]}, ${value}` : value;
      }
      this.headerMap = map;
    }
    return this.headerMap;
  }

  get status_text(): string {
    return this.status === 0 ? '' : String(this.status);
  }

  /** The body parsed as JSON (k6's selector argument is not supported). */
  json(selector?: string): unknown {
    if (selector !== undefined) refuse('Response.json(selector)', 'parse the whole body with res.json() and read the field');
    if (this.body === null || this.body === '') throw new Error(`cannot parse an empty body of ${this.request.method} ${this.url} as JSON`);
    return JSON.parse(this.body) as unknown;
  }
}

/** k6's http.expectedStatuses(200, 201, { min: 400, max: 404 }). */
export function expectedStatuses(...list: Array<number | { min: number; max: number }>): ExpectedStatusesCallback {
  const ok = (status: number): boolean => list.some((e) => (typeof e === 'number' ? status === e : status >= e.min && status <= e.max));
  return Object.assign((res: { status: number }) => ok(res.status), { expected: list.map((e) => (typeof e === 'number' ? String(e) : `${e.min}-${e.max}`)).join(',') });
}

const DEFAULT_EXPECTED = expectedStatuses({ min: 200, max: 399 });
let responseCallback: ExpectedStatusesCallback | null = DEFAULT_EXPECTED;

/** k6's http.setResponseCallback: which statuses count as expected for http_req_failed, test-wide. */
export function setResponseCallback(cb: ExpectedStatusesCallback | null): void {
  responseCallback = cb;
}

const pools = new Map<string, Pool>();

function pool(origin: string): Pool {
  let p = pools.get(origin);
  if (!p) {
    // Keep-alive below the services' 5 s server timeout, so a socket the server is closing is never reused.
    p = new Pool(origin, { connections: 256, keepAliveTimeout: 4000, keepAliveMaxTimeout: 4000, pipelining: 1 });
    pools.set(origin, p);
  }
  return p;
}

/** Ends every pooled socket; the run calls it at the end. */
export async function closePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.destroy()));
}

/** Checked URLs by text: a load sends the same few URLs thousands of times. */
const checkedUrls = new Map<string, URL>();
const MAX_CHECKED_URLS = 10_000;

function loopbackUrl(url: string, method: string): URL {
  let target = checkedUrls.get(url);
  if (!target) {
    target = assertLoopbackUrl(url, `${method} request`);
    if (checkedUrls.size >= MAX_CHECKED_URLS) checkedUrls.clear();
    checkedUrls.set(url, target);
  }
  return target;
}

/** k6's error codes and texts for network failures (https://grafana.com/docs/k6/latest/javascript-api/error-codes/). */
function networkError(err: Error & { code?: string }, url: URL): { error: string; code: number } {
  const hostPort = `${url.hostname.replace(/^\[|\]$/g, '')}:${url.port || '80'}`;
  if (err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_BODY_TIMEOUT') return { error: 'request timeout', code: 1050 };
  switch (err.code) {
    case 'ECONNREFUSED':
      return { error: `dial tcp ${hostPort}: connect: connection refused`, code: 1212 };
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return { error: `read tcp ${hostPort}: read: connection reset by peer`, code: 1220 };
    case 'EPIPE':
      return { error: `write tcp ${hostPort}: write: broken pipe`, code: 1201 };
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { error: `dial tcp ${hostPort}: i/o timeout`, code: 1211 };
    default:
      return { error: err.message, code: 1000 };
  }
}

function encodeBody(body: Body, headers: Record<string, string>): string | undefined {
  if (body === null || body === undefined) return undefined;
  if (typeof body === 'string') return body;
  // k6 form-encodes an object body; scripts in our profile send JSON.stringify-ed strings instead.
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  return new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)])).toString();
}

/** What came back for one request: status, raw headers, and the body as text unless it was discarded. */
interface Exchange {
  status: number;
  rawHeaders: Buffer[];
  body: string | null;
  /** From the request's start to its response headers. */
  waitingMs: number;
}

/**
 * The abort functions of in-flight requests, by the signal that interrupts them (a scenario's hard stop): one listener
 * per signal for all its requests. A listener per request costs more with every request in flight (EventTarget scans
 * its listeners on each add), which is exactly when a load generator can least afford it.
 */
const inFlight = new WeakMap<AbortSignal, Set<(err: Error) => void>>();

function abortsOn(signal: AbortSignal): Set<(err: Error) => void> {
  let aborts = inFlight.get(signal);
  if (!aborts) {
    const set = new Set<(err: Error) => void>();
    signal.addEventListener('abort', () => {
      for (const abort of set) abort(new Interrupted());
      set.clear();
    }, { once: true });
    inFlight.set(signal, (aborts = set));
  }
  return aborts;
}

/**
 * One request's handler for undici's dispatch API: the body is gathered from its chunks (or dropped) without a stream
 * per response, and the headers are kept raw until a script reads them. A class, so a request allocates one object and
 * no closures.
 */
class ExchangeHandler implements Dispatcher.DispatchHandlers {
  readonly result: Exchange = { status: 0, rawHeaders: [], body: null, waitingMs: 0 };
  private readonly chunks: Buffer[] = [];
  private abort: ((err: Error) => void) | undefined;

  constructor(
    private readonly aborts: Set<(err: Error) => void> | undefined,
    private readonly signal: AbortSignal | undefined,
    private readonly keepBody: boolean,
    private readonly started: number,
    private readonly resolve: (r: Exchange) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    if (this.signal?.aborted) return abort(new Interrupted());
    this.settled();
    this.abort = abort;
    this.aborts?.add(abort);
  }

  onHeaders(statusCode: number, headers: Buffer[]): boolean {
    // 1xx informational heads come first; the last head is the response's.
    this.result.status = statusCode;
    this.result.rawHeaders = headers;
    this.result.waitingMs = performance.now() - this.started;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.keepBody) this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.settled();
    if (this.keepBody) this.result.body = this.chunks.length === 1 ? this.chunks[0]!.toString('utf8') : Buffer.concat(this.chunks).toString('utf8');
    this.resolve(this.result);
  }

  onError(err: Error): void {
    this.settled();
    this.reject(err);
  }

  private settled(): void {
    if (this.abort !== undefined) this.aborts?.delete(this.abort);
  }
}

function exchange(p: Pool, opts: Dispatcher.DispatchOptions, signal: AbortSignal | undefined, keepBody: boolean, started: number): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    p.dispatch(opts, new ExchangeHandler(signal === undefined ? undefined : abortsOn(signal), signal, keepBody, started, resolve, reject));
  });
}

/** What a request needs once its response (or error) is in: everything decided before it was sent. */
interface Sent {
  target: URL;
  method: string;
  headers: Record<string, string>;
  payload: string | undefined;
  /** The tags of the context that sent it, and the request's own (params.tags). */
  contextTags: Readonly<Record<string, string>>;
  /** The context tags are the context's own set, not one made for this request (exec.vu.tags merged in). */
  sharedContextTags: boolean;
  requestTags: Record<string, string> | undefined;
  callback: ExpectedStatusesCallback | null;
  started: number;
}

const NO_RESPONSE: Exchange = { status: 0, rawHeaders: [], body: null, waitingMs: 0 };

/**
 * k6's http.asyncRequest. Not an async function: the request's own promise and one `then` are the only promises it
 * makes, since on Node 20 every promise made inside an iteration passes through AsyncLocalStorage's hooks.
 */
export function asyncRequest(method: string, url: string, body?: Body, params: Params = {}): Promise<Response> {
  const state = testState();
  let sent: Sent;
  let opts: Dispatcher.DispatchOptions;
  let keepBody: boolean;
  const ctx = iterationContext.getStore();
  try {
    for (const key in params) {
      if (!PARAMS.has(key)) refuse(`request param '${key}'`, `this runtime takes ${[...PARAMS].join(', ')}`);
    }
    let target: URL;
    try {
      target = loopbackUrl(url, method);
    } catch (err) {
      const abort = new TestAbort((err as Error).message, EXIT_SCRIPT_ERROR);
      state.abort(abort);
      throw abort;
    }
    const headers: Record<string, string> = params.headers === undefined ? { 'User-Agent': USER_AGENT } : { 'User-Agent': USER_AGENT, ...params.headers };
    const payload = encodeBody(body, headers);
    const timeoutMs = params.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDurationMs(params.timeout, 'params.timeout');
    let requestTags: Record<string, string> | undefined;
    if (params.tags !== undefined) {
      requestTags = {};
      for (const k in params.tags) requestTags[k] = String(params.tags[k]);
    }
    keepBody = !(params.responseType === 'none' || (params.responseType === undefined && state.options?.discardResponseBodies === true));
    const upper = method.toUpperCase();
    const callback = params.responseCallback === undefined ? responseCallback : params.responseCallback;
    const base = contextTags();
    sent = { target, method: upper, headers, payload, contextTags: base, sharedContextTags: ctx === undefined || base === ctx.tags, requestTags, callback, started: performance.now() };
    // undici's own timeouts (to the headers, then between body chunks) bound the request: no timer per request.
    opts = { method: upper as Dispatcher.HttpMethod, path: `${target.pathname}${target.search}`, headers, body: payload, headersTimeout: timeoutMs, bodyTimeout: timeoutMs };
  } catch (err) {
    return Promise.reject(err);
  }
  return exchange(pool(sent.target.origin), opts, ctx?.signal, keepBody, sent.started).then(
    (ex) => respond(sent, ex, '', ex.status >= 400 && ex.status < 600 ? 1000 + ex.status : 0),
    (err: Error & { code?: string }) => {
      if (ctx?.signal.aborted) throw new Interrupted();
      const e = networkError(err, sent.target);
      return respond(sent, NO_RESPONSE, e.error, e.code);
    },
  );
}

/**
 * The tag sets of request samples, by the context's tag set they extend: a load sends the same few requests thousands
 * of times, and outputs and sub-metrics only read the tags, so one frozen object per distinct set serves all its samples.
 */
const tagSets = new WeakMap<Readonly<Record<string, string>>, Map<string, Readonly<Record<string, string>>>>();
/** Distinct request tag sets kept per context tag set; past it the cache starts over (URLs with ids in them). */
const MAX_TAG_SETS = 10_000;

function sampleTags(sent: Sent, status: number, expected: boolean, errorCode: number): Readonly<Record<string, string>> {
  if (!sent.sharedContextTags) return makeSampleTags(sent, status, expected, errorCode);
  let key = `${sent.method} ${sent.target.href} ${status} ${expected} ${errorCode}`;
  if (sent.requestTags !== undefined) for (const k in sent.requestTags) key += `\u0000${k}\u0000${sent.requestTags[k]}`;
  let byKey = tagSets.get(sent.contextTags);
  if (byKey === undefined) tagSets.set(sent.contextTags, (byKey = new Map()));
  let tags = byKey.get(key);
  if (tags === undefined) {
    if (byKey.size >= MAX_TAG_SETS) byKey.clear();
    byKey.set(key, (tags = Object.freeze(makeSampleTags(sent, status, expected, errorCode))));
  }
  return tags;
}

function makeSampleTags(sent: Sent, status: number, expected: boolean, errorCode: number): Record<string, string> {
  const href = sent.target.href;
  const made: Record<string, string> = { ...sent.contextTags, name: href, method: sent.method, url: href, status: String(status), expected_response: String(expected) };
  if (errorCode !== 0) made.error_code = String(errorCode);
  if (sent.requestTags !== undefined) Object.assign(made, sent.requestTags);
  return made;
}

/** Records the request in http_reqs, http_req_duration and http_req_failed with k6's tags, and makes its Response. */
function respond(sent: Sent, ex: Exchange, error: string, errorCode: number): Response {
  const state = testState();
  const duration = performance.now() - sent.started;
  const { status } = ex;
  const expected = sent.callback === null ? true : sent.callback({ status });
  const href = sent.target.href;
  const tags = sampleTags(sent, status, expected, errorCode);
  const now = Date.now();
  state.registry.add(state.builtins.http_reqs, 1, tags, now);
  state.registry.add(state.builtins.http_req_duration, duration, tags, now);
  if (sent.callback !== null) state.registry.add(state.builtins.http_req_failed, expected ? 0 : 1, tags, now);
  const timings: Timings = { duration, blocked: 0, connecting: 0, tls_handshaking: 0, sending: 0, waiting: ex.waitingMs, receiving: duration - ex.waitingMs };
  return new Response(status, ex.body, ex.rawHeaders, href, error, errorCode, timings, { method: sent.method, url: href, headers: sent.headers, body: sent.payload ?? '' });
}

/** One of k6's synchronous http functions, refused: the profile is async only. */
const sync = (name: string) => (): never => refuse(`http.${name}() (k6's synchronous http API)`, 'use await http.asyncRequest(method, url, body, params) in an async function');

export const request = sync('request');
export const get = sync('get');
export const post = sync('post');
export const put = sync('put');
export const patch = sync('patch');
export const del = sync('del');
export const head = sync('head');
export const options = sync('options');

export function batch(): never {
  return refuse('http.batch()', 'start the requests with http.asyncRequest and await Promise.all([...]) of them');
}

export default { asyncRequest, expectedStatuses, setResponseCallback, request, get, post, put, patch, del, head, options, batch };
