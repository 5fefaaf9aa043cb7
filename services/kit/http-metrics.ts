// RED metrics of every kit service: requests by method, route template and status class, and their duration, under the service's prefix.
import type Koa from 'koa';
import type Router from '@koa/router';
import { Counter, type Histogram, type Registry } from 'prom-client';
import { bucketsFor } from './buckets.ts';
import { boundedLabel, statusClass } from './labels.ts';
import { RecordedHistogram, tuningRecorder } from './tuning.ts';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;
/** The route label of a request no route matched (a 404, a 405, a scanner's random path): one value, however many paths. */
export const UNMATCHED_ROUTE = 'unmatched';
const HTTP_REQUESTS_SUFFIX = 'http_requests_total';
const HTTP_DURATION_SUFFIX = 'http_request_duration_seconds';

const METHOD_SET: ReadonlySet<string> = new Set(HTTP_METHODS);
const STATUS_CLASS_SET: ReadonlySet<string> = new Set(STATUS_CLASSES);

/** A service's metric prefix, its name in snake case: execution-gateway -> execution_gateway (the prefix of its own metrics too). */
export function metricPrefix(serviceName: string): string {
  const prefix = serviceName.replace(/-/g, '_');
  if (!/^[a-z][a-z0-9_]*$/.test(prefix)) throw new Error(`service name ${JSON.stringify(serviceName)} gives no valid metric prefix; use lower-case letters, digits and dashes`);
  return prefix;
}

export interface HttpMetrics {
  requests: Counter<'method' | 'route' | 'status_class'>;
  duration: Histogram<'method' | 'route'>;
  /** Records every request; installed outermost, so it sees the status the error middleware finally answered. */
  middleware: Koa.Middleware;
}

/**
 * The RED metrics of one service on its registry. Route labels are the router's own templates, so their values are the
 * routes the service registered; the series of each route x method (HEAD aside) are created at the first request the service
 * serves, when every route is registered, and HEAD and unmatched series appear on their first request.
 */
export function createHttpMetrics(opts: { registry: Registry; prefix: string; router: Router }): HttpMetrics {
  const registers = [opts.registry];
  const requests = new Counter({
    name: `${opts.prefix}_${HTTP_REQUESTS_SUFFIX}`,
    help: 'HTTP requests answered, by method (or "other"), route template ("unmatched" when no route matched) and status class.',
    labelNames: ['method', 'route', 'status_class'] as const,
    registers,
  });
  const durationName = `${opts.prefix}_${HTTP_DURATION_SUFFIX}`;
  const duration = new RecordedHistogram(
    {
      name: durationName,
      help: 'Time from receiving an HTTP request to its answer being ready (before the socket write), by method and route template.',
      labelNames: ['method', 'route'] as const,
      buckets: bucketsFor(durationName),
      registers,
    },
    tuningRecorder(opts.registry),
  );

  let seeded = false;
  const seed = (): void => {
    seeded = true;
    for (const layer of opts.router.stack) {
      for (const m of layer.methods) {
        if (m === 'HEAD') continue;
        const labels = { method: methodLabel(m), route: String(layer.path) };
        for (const status_class of STATUS_CLASSES) requests.inc({ ...labels, status_class }, 0);
        duration.zero(labels);
      }
    }
  };

  const record = (ctx: Koa.Context, status: number, startedAt: bigint): void => {
    const labels = { method: methodLabel(ctx.method), route: routeOf(ctx, opts.router) };
    requests.inc({ ...labels, status_class: statusClassLabel(status) });
    duration.observe(labels, Number(process.hrtime.bigint() - startedAt) / 1e9);
  };

  const middleware: Koa.Middleware = async (ctx, next) => {
    if (!seeded) seed();
    const startedAt = process.hrtime.bigint();
    try {
      await next();
    } catch (err) {
      // Only reached if the error middleware itself failed; Koa then answers 500.
      record(ctx, 500, startedAt);
      throw err;
    }
    record(ctx, ctx.status, startedAt);
  };

  return { requests, duration, middleware };
}

function methodLabel(method: string): string {
  return boundedLabel(method, METHOD_SET);
}

/** A final status outside 200-599 would be a server bug, so it counts as 5xx. */
function statusClassLabel(status: number): string {
  return boundedLabel(statusClass(status), STATUS_CLASS_SET, '5xx');
}

/**
 * The template of the route that served the request. A request answered before routing (an unreadable body: 400, 413, 415)
 * is matched here, so it counts under the route it was sent to; no match at all is `unmatched`.
 */
function routeOf(ctx: Koa.Context, router: Router): string {
  const routed = (ctx as Koa.Context & Partial<Router.RouterParamContext>)._matchedRoute;
  if (routed !== undefined) return String(routed);
  const match = router.match(ctx.path, ctx.method);
  const layer = match.route ? match.pathAndMethod[match.pathAndMethod.length - 1] : undefined;
  return layer ? String(layer.path) : UNMATCHED_ROUTE;
}
