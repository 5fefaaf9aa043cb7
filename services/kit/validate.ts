// Request validation with zod: a failed parse becomes a 400 that names each bad field.
import type { ZodType, ZodTypeDef } from 'zod';
import { badRequest } from './errors.ts';

export function parseBody<T>(schema: ZodType<T, ZodTypeDef, unknown>, body: unknown, what = 'request body'): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
  const first = issues[0];
  throw badRequest(`invalid ${what}: ${first ? `${first.path}: ${first.message}` : 'unknown error'}`, { issues });
}
