// Admin routes (circuit breaker, model activation, broker faults): an optional bearer token, required once a service listens beyond loopback.
import { createHash, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import { z } from 'zod';
import { ConfigError } from './config.ts';
import { HttpError } from './errors.ts';
import { isLoopbackHost } from './loopback.ts';

/** ADMIN_TOKEN: unset or empty = admin routes open (loopback only); else every mutating admin call must send it. */
export const adminTokenEnv = {
  ADMIN_TOKEN: z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .pipe(z.string().min(16, 'must be at least 16 characters; generate one with `openssl rand -hex 16`').optional()),
};

/** A service whose admin routes would be reachable from the network refuses to start without a token. */
export function requireAdminTokenBeyondLoopback(service: string, host: string, adminToken: string | undefined, routes: string): void {
  if (adminToken !== undefined || isLoopbackHost(host)) return;
  throw new ConfigError(
    `${service}: HOST ${host} is not loopback, so its admin routes (${routes}) would be open to the network; set ADMIN_TOKEN (e.g. \`openssl rand -hex 16\`) and send it as Authorization: Bearer <token>, or listen on HOST=127.0.0.1`,
  );
}

function sameToken(given: string, expected: string): boolean {
  // Equal-length digests, so the comparison takes the same time whatever the token's length or first wrong byte.
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** With a token configured, throws a 401 (JSON, WWW-Authenticate: Bearer) unless the request sends Authorization: Bearer <token>; without one, passes. */
export function assertAdmin(ctx: Koa.Context, adminToken: string | undefined): void {
  if (adminToken === undefined) return;
  const header = ctx.get('Authorization');
  const given = /^Bearer +(\S+)\s*$/i.exec(header)?.[1];
  if (given !== undefined && sameToken(given, adminToken)) return;
  ctx.set('WWW-Authenticate', 'Bearer realm="admin"');
  throw new HttpError(
    401,
    'unauthorized',
    header === ''
      ? `${ctx.method} ${ctx.path} is an admin route: send Authorization: Bearer <ADMIN_TOKEN>`
      : `${ctx.method} ${ctx.path}: the Authorization header does not carry this service's ADMIN_TOKEN as a Bearer token`,
  );
}

/** assertAdmin as route middleware. */
export function requireAdmin(adminToken: string | undefined): Koa.Middleware {
  return async (ctx, next) => {
    assertAdmin(ctx, adminToken);
    await next();
  };
}
