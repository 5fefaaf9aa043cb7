// A bounded closed-loop driver: `concurrency` workers send back to back for a fixed time through the benchmarks' HTTP client.
import { createHttpClient, type HttpClient, type HttpTransport, type LoadResponse, type RequestRecord } from './http-client.ts';
import { Trend } from '../../load/runtime/stats.ts';

export interface LatencyMs {
  p50: number;
  p99: number;
  avg: number;
  max: number;
}

export interface WindowResult {
  requests: number;
  /** Responses with an expected status; only these count towards perSecond. */
  ok: number;
  failed: number;
  /** From the first send until the last worker finished. */
  durationS: number;
  perSecond: number;
  /** HTTP status (or network error code) -> count, so a failing target is visible, not just slow. */
  statuses: Record<string, number>;
}

export interface ClosedLoopOptions {
  transport: HttpTransport;
  baseUrl: string;
  concurrency: number;
  durationS: number;
  /** One request; the caller makes each one unique (e.g. its client_order_id). */
  send: (client: HttpClient) => Promise<LoadResponse>;
}

/** Runs one timed window and returns its counts plus the latency trend of successful requests (for merging across windows). */
export async function runClosedLoop(opts: ClosedLoopOptions): Promise<{ result: WindowResult; latency: Trend }> {
  if (!(opts.concurrency >= 1)) throw new Error(`concurrency must be >= 1 (got ${opts.concurrency})`);
  if (!(opts.durationS > 0)) throw new Error(`window must be > 0 s (got ${opts.durationS})`);
  const latency = new Trend();
  const statuses: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  const client = createHttpClient(opts.transport, opts.baseUrl, (r: RequestRecord) => {
    const key = r.status === 0 ? (r.error ?? 'error') : String(r.status);
    statuses[key] = (statuses[key] ?? 0) + 1;
    if (r.ok) {
      ok++;
      latency.add(r.durationMs);
    } else failed++;
  });
  const t0 = performance.now();
  const end = t0 + opts.durationS * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) await opts.send(client);
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const durationS = (performance.now() - t0) / 1000;
  return { result: { requests: ok + failed, ok, failed, durationS, perSecond: ok / durationS, statuses }, latency };
}

export function latencyOf(trend: Trend): LatencyMs {
  const s = trend.stats();
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return { p50: r(s.med), p99: r(s.p99), avg: r(s.avg), max: r(s.max) };
}
