// The shared service skeleton: Koa + router, JSON bodies, errors as JSON, RED and process metrics, /health, /ready, /metrics, graceful HTTP lifecycle.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { HttpError } from './errors.ts';
import { createHttpMetrics, metricPrefix } from './http-metrics.ts';
import { collectProcessMetrics } from './process-metrics.ts';
import { recorderOf } from './tuning.ts';

export type ReadinessCheck = () => Promise<void>;

export interface ServiceOptions {
  /** Also the metric prefix of the kit's metrics, in snake case (see http-metrics.ts metricPrefix). */
  name: string;
  /** The service's own registry: the kit registers its RED and process metrics there, so no two services may share one. */
  registry: Registry;
  logger: Logger;
  /** Named dependency checks for /ready; each throws when its dependency is unusable. */
  readiness?: Record<string, ReadinessCheck>;
  /** Largest accepted JSON body in bytes. */
  bodyLimit?: number;
}

export interface Service {
  app: Koa;
  router: Router;
}

const READY_CHECK_TIMEOUT_MS = 1500;

export function createService(opts: ServiceOptions): Service {
  const app = new Koa();
  const router = new Router();
  const bodyLimit = opts.bodyLimit ?? 256 * 1024;
  const prefix = metricPrefix(opts.name);
  collectProcessMetrics(opts.registry, prefix);

  // Outermost, so every request is counted with the status the error middleware below finally answers (404s, 400 for
  // unreadable JSON, 413, 500 included). /metrics, /health and /ready count like any route: scrapes and probes are traffic too.
  app.use(createHttpMetrics({ registry: opts.registry, prefix, router }).middleware);

  // Errors become responses here and only here (Koa's `err.expose ? err.message : generic`): an HttpError was written for
  // the client and is answered as is; anything else is internal, so the client gets a request id and the log the detail.
  app.use(async (ctx, next) => {
    const requestId = randomUUID();
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new HttpError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
      }
    } catch (err) {
      if (err instanceof HttpError) {
        ctx.status = err.status;
        ctx.body = { error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } };
        if (err.status >= 500) opts.logger.warn({ requestId, method: ctx.method, path: ctx.path, code: err.code }, err.message);
        return;
      }
      const exposed = exposedClientError(err);
      if (exposed) {
        ctx.status = exposed.status;
        ctx.body = { error: { code: 'bad_request', message: exposed.message } };
        return;
      }
      opts.logger.error({ err, requestId, method: ctx.method, path: ctx.path }, 'unhandled error');
      ctx.status = 500;
      ctx.body = { error: { code: 'internal', message: `internal error in ${opts.name}; its log has the details under request id ${requestId}`, request_id: requestId } };
    }
  });

  app.use(async (ctx, next) => {
    if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(ctx.method) && ctx.request.length !== 0) {
      ctx.request.body = await readJson(ctx.req, bodyLimit, ctx.request.type);
    }
    await next();
  });

  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok', service: opts.name };
  });

  router.get('/ready', async (ctx) => {
    const checks = opts.readiness ?? {};
    const results: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), READY_CHECK_TIMEOUT_MS, `${name} check timed out`);
          results[name] = 'ok';
        } catch (err) {
          ready = false;
          results[name] = err instanceof Error ? err.message : String(err);
        }
      }),
    );
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', service: opts.name, checks: results };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = opts.registry.contentType;
    ctx.body = await opts.registry.metrics();
  });

  // Only in tuning mode (TUNING_EXACT=1): the exact observations behind every histogram, for verify/tune.
  const exact = recorderOf(opts.registry);
  if (exact) {
    router.get('/tuning', (ctx) => {
      ctx.body = { service: opts.name, histograms: exact.snapshot() };
    });
  }

  app.use(router.routes());
  app.use(router.allowedMethods());
  return { app, router };
}

/** A 4xx thrown by Koa or a library in the http-errors style (status + expose), which says its message is fit for the client. */
function exposedClientError(err: unknown): { status: number; message: string } | undefined {
  if (!(err instanceof Error)) return undefined;
  const { status, expose } = err as Error & { status?: unknown; expose?: unknown };
  if (typeof status !== 'number' || status < 400 || status > 499 || expose !== true) return undefined;
  return { status, message: err.message };
}

declare module 'koa' {
  interface Request {
    body?: unknown;
  }
}

async function readJson(req: http.IncomingMessage, limit: number, type: string): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new HttpError(413, 'payload_too_large', `request body exceeds ${limit} bytes`);
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  if (type && type !== 'application/json') {
    throw new HttpError(415, 'unsupported_media_type', `expected application/json, got ${type}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export interface RunningServer {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Listens on host:port (port 0 picks a free one) and returns a handle whose close() drains then force-closes. */
export async function listen(app: Koa, host = '127.0.0.1', port = 0, drainMs = 3000): Promise<RunningServer> {
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | undefined;
  return {
    server,
    port: addr.port,
    url: `http://${urlHost}:${addr.port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), drainMs);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
