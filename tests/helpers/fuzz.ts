// Fuzz inputs for HTTP routes (path segments, query strings, JSON bodies) as fast-check arbitraries, and the sender that counts answers.
import fc from 'fast-check';

/** Inputs that broke services or their stores before: NUL bytes, integers past int4/int8/2^53, odd encodings, long and reserved strings. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0007\u001b[0m',
  '99999999999999999999',
  '2147483648',
  '9223372036854775808',
  '-1',
  '0',
  '1.5',
  '1e309',
  'NaN',
  'Infinity',
  'null',
  'true',
  '[]',
  '{}',
  '../..',
  'AAPL\n',
  '\ud800',
  '💥',
  'Ω',
  'x'.repeat(300),
  "'; DROP TABLE orders; --",
  '__proto__',
  'constructor',
] as const;

/** Path segments sent as they are: broken and meaningful percent-encodings. */
const RAW_SEGMENTS = ['%00', '%', '%zz', '%E0%A4%A', '%2F', '%2e%2e', '%C0%80', '%FF', '%ud800'] as const;

/** encodeURIComponent that cannot throw: a lone surrogate becomes U+FFFD first, as a UTF-8 encoder would send it. */
export function encode(s: string): string {
  return encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));
}

const nastyString = fc.constantFrom(...NASTY_STRINGS);
const bigIntString = fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map(String);

/** A path segment: mostly the valid values given, else nasty, random, numeric or raw percent-encoded text. */
export function segment(...valid: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    ...(valid.length ? [{ weight: 3, arbitrary: fc.constantFrom(...valid).map(encode) }] : []),
    { weight: 3, arbitrary: nastyString.filter((s) => s !== '').map(encode) },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map(encode) },
    { weight: 2, arbitrary: bigIntString },
  );
}

/** A query string (with its "?", or empty) over the given keys plus an unknown one, values valid or hostile, keys may repeat. */
export function query(keys: Record<string, string[]>): fc.Arbitrary<string> {
  const names = [...Object.keys(keys), 'x'];
  const value = (name: string): fc.Arbitrary<string> => {
    const valid = keys[name] ?? [];
    return fc.oneof(
      ...(valid.length ? [{ weight: 3, arbitrary: fc.constantFrom(...valid) }] : []),
      { weight: 2, arbitrary: nastyString },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
      { weight: 1, arbitrary: bigIntString },
    );
  };
  const pair = fc.constantFrom(...names).chain((name) => value(name).map((v) => `${encode(name)}=${encode(v)}`));
  return fc.array(pair, { maxLength: 4 }).map((pairs) => (pairs.length ? `?${pairs.join('&')}` : ''));
}

/** Any JSON value, weighted towards the edges: NUL strings, huge and tiny numbers, deep nesting. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 2, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.constantFrom(0, -1, 1e308, -1e308, 1e-300, 2 ** 53 + 2, 2 ** 31, 1.5, -0.000001, 99999999999999999999) },
  { weight: 1, arbitrary: fc.constantFrom([], {}, null, true, [[[[[[]]]]]]) },
);

/** One body field: values the route accepts, values it must refuse (or survive), and the hostile value tried first. */
export interface Field {
  valid: fc.Arbitrary<unknown>;
  hostile: fc.Arbitrary<unknown>;
  /** The likeliest to get past a lax check and break something further in (an integer column, a text column). */
  probe: unknown;
}

/** Past every integer column (int4, int8) and 2^53. */
const HUGE = 99999999999999999999;

/** A field whose valid values are given; anything else is hostile. */
export function field(...valid: unknown[]): Field {
  return { valid: fc.constantFrom(...valid), hostile: anyJson, probe: HUGE };
}

/** Text with a control character, a lone surrogate, a stray space, a percent sign or a backslash inside. */
export const spikedText: fc.Arbitrary<string> = fc
  .tuple(fc.string({ unit: 'grapheme-ascii', maxLength: 8 }), fc.constantFrom('\u0000', '\n', '\u001b', '\ud800', ' ', '%', '\\'), fc.string({ unit: 'grapheme-ascii', maxLength: 8 }))
  .map(([a, c, b]) => `${a}${c}${b}`);

/** A string field: the valid values given, else spiked text or anything. */
export function text(...valid: string[]): Field {
  return { valid: fc.constantFrom(...valid), hostile: fc.oneof({ weight: 3, arbitrary: spikedText }, { weight: 1, arbitrary: anyJson }), probe: 'a\u0000b' };
}

/** An object field with its own fields: valid when they all are, hostile when one is (or it is not an object at all). */
export function nested(shape: Record<string, Field>): Field {
  return { valid: validOf(shape), hostile: fc.oneof(mutated(shape), anyJson), probe: HUGE };
}

export function validOf(shape: Record<string, Field>): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(Object.fromEntries(Object.entries(shape).map(([k, f]) => [k, f.valid])));
}

/**
 * A valid object with exactly one thing wrong: one field hostile, missing, or an unknown one added. One at a time, so
 * the bad value gets past the checks of every other field to wherever it would do harm (the database, the broker).
 */
function mutated(shape: Record<string, Field>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(shape);
  return fc.tuple(validOf(shape), fc.constantFrom(...keys)).chain(([valid, key]) =>
    fc.oneof(
      { weight: 4, arbitrary: shape[key]!.hostile.map((v) => ({ ...valid, [key]: v })) },
      { weight: 1, arbitrary: fc.constant(Object.fromEntries(Object.entries(valid).filter(([k]) => k !== key))) },
      { weight: 1, arbitrary: anyJson.map((extra) => ({ ...valid, extra })) },
    ),
  );
}

export type FuzzBody = { json: unknown } | { raw: string; contentType: string };

/** A valid body but for `key`, which is hostile. */
export function hostileAt(shape: Record<string, Field>, key: string): fc.Arbitrary<FuzzBody> {
  return fc.tuple(validOf(shape), shape[key]!.hostile).map(([valid, v]) => ({ json: { ...valid, [key]: v } }));
}

/** A request body: the route's own shape valid or with one thing wrong, any JSON, or not JSON at all. */
export function body(shape?: Record<string, Field>): fc.Arbitrary<FuzzBody | undefined> {
  const shaped = shape
    ? fc.oneof({ weight: 1, arbitrary: validOf(shape) }, { weight: 3, arbitrary: mutated(shape) }).map((json) => ({ json }))
    : fc.constant({ json: {} });
  const raw = fc.record({
    raw: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('{', '{"a":', 'null', '\u0000', '[1,2', '{"a":1}{"b":2}')),
    contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1'),
  });
  return fc.oneof(
    { weight: 6, arbitrary: shaped },
    { weight: 2, arbitrary: anyJson.map((json) => ({ json })) },
    { weight: 1, arbitrary: raw },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

export interface FuzzRequest {
  method: string;
  path: string;
  body?: FuzzBody | undefined;
  headers?: Record<string, string>;
}

export interface Answer {
  status: number;
  text: string;
}

/** Sends fuzz requests and keeps count of requests and 5xx answers. */
export class FuzzClient {
  requests = 0;
  serverErrors = 0;
  /** Answers per status class ("2xx", "4xx", ...), to show the fuzz gets past validation too. */
  readonly classes: Record<string, number> = {};

  constructor(private readonly timeoutMs = 5000) {}

  async send(base: string, req: FuzzRequest): Promise<Answer> {
    const headers: Record<string, string> = { ...req.headers };
    let payload: string | undefined;
    if (req.body && 'json' in req.body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(req.body.json) ?? 'null';
    } else if (req.body) {
      headers['content-type'] = req.body.contentType;
      payload = req.body.raw;
    }
    this.requests += 1;
    const res = await fetch(`${base}${req.path}`, { method: req.method, headers, body: payload, signal: AbortSignal.timeout(this.timeoutMs) });
    const text = await res.text();
    if (res.status >= 500) this.serverErrors += 1;
    const cls = `${Math.floor(res.status / 100)}xx`;
    this.classes[cls] = (this.classes[cls] ?? 0) + 1;
    return { status: res.status, text };
  }
}

/** The rule: no 5xx, except a 503 in the kit's error shape that names the dependency that is unavailable. */
export function acceptable(answer: Answer): boolean {
  if (answer.status < 500) return true;
  if (answer.status !== 503) return false;
  try {
    const dependency = (JSON.parse(answer.text) as { error?: { details?: { dependency?: unknown } } }).error?.details?.dependency;
    return typeof dependency === 'string' && dependency !== '';
  } catch {
    return false;
  }
}
