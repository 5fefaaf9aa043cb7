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
    private readonly rawHeaders: Record<string, string | string[] | undefined>,
    readonly url: string,
    readonly error: string,
    readonly error_code: number,
    readonly timings: Timings,
    readonly request: { method: string; url: string; headers: Record<string, string>; body: string },
  ) {}

  readonly proto = 'HTTP/1.1';

  /** Built on first read: most scripts never look at the headers. */
  get headers(): Record<string, string> {
    this.headerMap ??= Object.fromEntries(Object.entries(this.rawHeaders).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')]));
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

export async function asyncRequest(method: string, url: string, body?: Body, params: Params = {}): Promise<Response> {
  const state = testState();
  for (const key of Object.keys(params)) {
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
  const ctx = iterationContext.getStore();
  const headers: Record<string, string> = { 'User-Agent': 'alertproof-k6-runtime', ...params.headers };
  const payload = encodeBody(body, headers);
  const timeoutMs = params.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDurationMs(params.timeout, 'params.timeout');
  const requestTags = params.tags === undefined ? {} : Object.fromEntries(Object.entries(params.tags).map(([k, v]) => [k, String(v)]));
  const discard = params.responseType === 'none' || (params.responseType === undefined && state.options?.discardResponseBodies === true);
  const upper = method.toUpperCase();

  const started = performance.now();
  let status = 0;
  let text: string | null = null;
  let responseHeaders: Record<string, string | string[] | undefined> = {};
  let error = '';
  let errorCode = 0;
  let waiting = 0;
  try {
    // undici's own timeouts (to the headers, then between body chunks) bound the request: no timer or signal per request.
    const res = await pool(target.origin).request({
      method: upper as Dispatcher.HttpMethod,
      path: `${target.pathname}${target.search}`,
      headers,
      body: payload,
      signal: ctx?.signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    waiting = performance.now() - started;
    status = res.statusCode;
    responseHeaders = res.headers;
    if (discard) {
      await res.body.dump();
    } else {
      text = await res.body.text();
    }
    if (status >= 400 && status < 600) errorCode = 1000 + status;
  } catch (err) {
    if (ctx?.signal.aborted) throw new Interrupted();
    const e = networkError(err as Error & { code?: string }, target);
    error = e.error;
    errorCode = e.code;
  }
  const duration = performance.now() - started;
  const callback = params.responseCallback === undefined ? responseCallback : params.responseCallback;
  const expected = callback === null ? true : callback({ status });
  const tags: Record<string, string> = {
    ...contextTags(),
    name: target.href,
    method: upper,
    url: target.href,
    status: String(status),
    expected_response: String(expected),
    ...(errorCode !== 0 ? { error_code: String(errorCode) } : {}),
    ...requestTags,
  };
  const now = Date.now();
  state.registry.add(state.builtins.http_reqs, 1, tags, now);
  state.registry.add(state.builtins.http_req_duration, duration, tags, now);
  if (callback !== null) state.registry.add(state.builtins.http_req_failed, expected ? 0 : 1, tags, now);
  const timings: Timings = { duration, blocked: 0, connecting: 0, tls_handshaking: 0, sending: 0, waiting, receiving: duration - waiting };
  return new Response(status, text, responseHeaders, target.href, error, errorCode, timings, { method: upper, url: target.href, headers, body: payload ?? '' });
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
