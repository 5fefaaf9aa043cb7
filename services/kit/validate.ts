// Request validation with zod, for bodies, path parameters and query strings alike: a failed parse becomes a 400 that names each bad field.
import { z, type ZodType, type ZodTypeDef } from 'zod';
import { badRequest } from './errors.ts';
import { TICKER } from './platform.ts';

export function parseInput<T>(schema: ZodType<T, ZodTypeDef, unknown>, input: unknown, what: string): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
  const first = issues[0];
  throw badRequest(`invalid ${what}: ${first ? `${first.path}: ${first.message}` : 'unknown error'}`, { issues });
}

export function parseBody<T>(schema: ZodType<T, ZodTypeDef, unknown>, body: unknown, what = 'request body'): T {
  return parseInput(schema, body, what);
}

/** ctx.params of a route; every route with a path parameter parses it here before using it. */
export function parseParams<T>(schema: ZodType<T, ZodTypeDef, unknown>, params: unknown): T {
  return parseInput(schema, params, 'path parameters');
}

/** ctx.query of a route; a repeated key arrives as an array and fails a scalar field. */
export function parseQuery<T>(schema: ZodType<T, ZodTypeDef, unknown>, query: unknown): T {
  return parseInput(schema, query, 'query');
}

/** A ticker symbol in any case, upper-cased: "aapl" -> "AAPL". */
export const tickerSchema = z
  .string()
  .transform((s) => s.trim().toUpperCase())
  .pipe(z.string().regex(TICKER, 'must be a ticker like AAPL'));

/** ?limit= of a list route: an integer 1..max, `fallback` when absent. */
export function limitParam(fallback: number, max: number): z.ZodType<number, ZodTypeDef, unknown> {
  return z.coerce.number().int().min(1).max(max).default(fallback);
}

/** Largest value of a Postgres integer (int4, serial) column. */
export const PG_INT_MAX = 2_147_483_647;

/** A row id in a path: digits only (no sign, exponent or fraction), 1..max; max is the column's range (int4 unless said). */
export function idParam(max = PG_INT_MAX): z.ZodType<number, ZodTypeDef, unknown> {
  return z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, `must be a positive integer up to ${max}`)
    .transform(Number)
    .pipe(z.number().max(max, `must be a positive integer up to ${max}`));
}

/**
 * Text Postgres (and a log line) can hold as sent: no control characters (Postgres refuses NUL in text) and no lone
 * UTF-16 surrogates (they would be stored as U+FFFD, so the stored value would differ from the one sent).
 */
export function plainText(opts: { min?: number; max: number; spaces?: boolean }): z.ZodString {
  const pattern = opts.spaces === false ? /^[^\s\p{Cc}\p{Cs}]*$/u : /^[^\p{Cc}\p{Cs}]*$/u;
  return z
    .string()
    .min(opts.min ?? 1)
    .max(opts.max)
    .regex(pattern, opts.spaces === false ? 'must be printable text without whitespace' : 'must be printable text (no control characters)');
}
