// prom-client's default process and Node.js metrics (CPU, memory, fds, event-loop lag, GC, handles) under a service's prefix.
import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client gauges named `..._total`, which promtool's lint rejects for a non-counter ("non-counter metrics should not have
 * _total suffix"); each is the sum of its labelled sibling (`sum(<prefix>_nodejs_active_handles)`), so nothing is lost.
 */
const LINT_FAILING_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * Registers the default metrics on a service's own registry, so several services in one process (the tests) each expose
 * them. prom-client keeps an event-loop delay monitor (an unref'd libuv timer) and a GC observer per call and offers no way
 * to stop them: neither keeps a process alive, and one per registry is what a service process has.
 */
export function collectProcessMetrics(registry: Registry, prefix: string): void {
  collectDefaultMetrics({ register: registry, prefix: `${prefix}_` });
  for (const name of LINT_FAILING_GAUGES) registry.removeSingleMetric(`${prefix}_${name}`);
}

/** Whether a series is one of these: their label values (handle types, GC kinds) follow Node's internals, not the traffic. */
export function isProcessMetric(name: string, prefix: string): boolean {
  return name.startsWith(`${prefix}_process_`) || name.startsWith(`${prefix}_nodejs_`);
}
