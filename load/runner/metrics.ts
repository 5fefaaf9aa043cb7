// In-memory run metrics with k6's names (http_reqs, http_req_failed, http_req_duration, checks, iterations, dropped_iterations), tagged by flow.
import { LogHistogram, Trend } from '../runtime/stats.ts';

export interface RequestRecord {
  /** Epoch ms when the request was sent. */
  t: number;
  flow: string;
  name: string;
  /** HTTP status, 0 when no response arrived. */
  status: number;
  durationMs: number;
  ok: boolean;
  error?: string;
}

export type IterationOutcome = 'completed' | 'failed' | 'interrupted';

/** Receives what a run observes; the in-memory metrics, raw NDJSON and Prometheus exporters each take the events they need. */
export interface LoadSink {
  onRequest?(r: RequestRecord): void;
  onCheck?(flow: string, check: string, ok: boolean): void;
  onIterationStart?(flow: string): void;
  onIterationEnd?(flow: string, outcome: IterationOutcome, durationMs: number, error?: string): void;
  onDropped?(flow: string): void;
}

/** One sink that forwards every event to each of `sinks`. */
export function fanOut(sinks: readonly LoadSink[]): Required<LoadSink> {
  return {
    onRequest: (r) => sinks.forEach((s) => s.onRequest?.(r)),
    onCheck: (flow, check, ok) => sinks.forEach((s) => s.onCheck?.(flow, check, ok)),
    onIterationStart: (flow) => sinks.forEach((s) => s.onIterationStart?.(flow)),
    onIterationEnd: (flow, outcome, ms, error) => sinks.forEach((s) => s.onIterationEnd?.(flow, outcome, ms, error)),
    onDropped: (flow) => sinks.forEach((s) => s.onDropped?.(flow)),
  };
}

export type MetricName =
  | 'http_reqs'
  | 'http_req_failed'
  | 'http_req_duration'
  | 'checks'
  | 'iterations'
  | 'iteration_duration'
  | 'dropped_iterations';

/** Which tags each metric can be filtered by in a threshold key. */
export const METRIC_TAGS: Record<MetricName, readonly string[]> = {
  http_reqs: ['flow', 'name'],
  http_req_failed: ['flow', 'name'],
  http_req_duration: ['flow', 'name'],
  checks: ['flow', 'check'],
  iterations: ['flow'],
  iteration_duration: ['flow'],
  dropped_iterations: ['flow'],
};

export type Aggregate =
  | { kind: 'trend'; trend: Trend }
  | { kind: 'rate'; trues: number; total: number }
  | { kind: 'counter'; count: number; perSecond: number };

interface RequestSeries {
  flow: string;
  name: string;
  requests: number;
  failures: number;
  statuses: Map<string, number>;
  errors: Map<string, number>;
  trend: Trend;
}

interface CheckSeries {
  flow: string;
  check: string;
  passes: number;
  fails: number;
}

export interface FlowCounters {
  started: number;
  completed: number;
  failed: number;
  interrupted: number;
  dropped: number;
  iterationTrend: Trend;
  /** A few distinct iteration errors with counts, so a broken flow explains itself. */
  errors: Map<string, number>;
}

export interface WindowCounters {
  started: number;
  dropped: number;
  requests: number;
  failures: number;
  latency: LogHistogram;
}

const MAX_DISTINCT_ERRORS = 10;

function countError(map: Map<string, number>, message: string): void {
  if (map.has(message) || map.size < MAX_DISTINCT_ERRORS) map.set(message, (map.get(message) ?? 0) + 1);
}

export class RunMetrics implements Required<LoadSink> {
  readonly startedAt: number;
  endedAt: number | undefined;
  private readonly requests = new Map<string, RequestSeries>();
  private readonly checks = new Map<string, CheckSeries>();
  readonly flows = new Map<string, FlowCounters>();
  /** Per-second windows since the start, by flow: the stress scenario reads its knee from these. */
  readonly timeline = new Map<number, Map<string, WindowCounters>>();

  constructor(
    flowNames: readonly string[],
    private readonly sampleCap = 200_000,
    readonly windowMs = 1000,
    /** Epoch ms; injectable so timeline windows can be tested without waiting. */
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
    for (const f of flowNames) this.flow(f);
  }

  flow(name: string): FlowCounters {
    let c = this.flows.get(name);
    if (!c) {
      c = { started: 0, completed: 0, failed: 0, interrupted: 0, dropped: 0, iterationTrend: new Trend(this.sampleCap), errors: new Map() };
      this.flows.set(name, c);
    }
    return c;
  }

  private window(t: number, flow: string): WindowCounters {
    const idx = Math.max(0, Math.floor((t - this.startedAt) / this.windowMs));
    let byFlow = this.timeline.get(idx);
    if (!byFlow) {
      byFlow = new Map();
      this.timeline.set(idx, byFlow);
    }
    let w = byFlow.get(flow);
    if (!w) {
      w = { started: 0, dropped: 0, requests: 0, failures: 0, latency: new LogHistogram() };
      byFlow.set(flow, w);
    }
    return w;
  }

  onRequest(r: RequestRecord): void {
    const key = `${r.flow}\u0000${r.name}`;
    let s = this.requests.get(key);
    if (!s) {
      s = { flow: r.flow, name: r.name, requests: 0, failures: 0, statuses: new Map(), errors: new Map(), trend: new Trend(this.sampleCap) };
      this.requests.set(key, s);
    }
    s.requests++;
    if (!r.ok) s.failures++;
    const status = String(r.status);
    s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1);
    if (r.error) countError(s.errors, r.error);
    s.trend.add(r.durationMs);
    const w = this.window(r.t, r.flow);
    w.requests++;
    if (!r.ok) w.failures++;
    w.latency.add(r.durationMs);
  }

  onCheck(flow: string, check: string, ok: boolean): void {
    const key = `${flow}\u0000${check}`;
    let c = this.checks.get(key);
    if (!c) {
      c = { flow, check, passes: 0, fails: 0 };
      this.checks.set(key, c);
    }
    if (ok) c.passes++;
    else c.fails++;
  }

  onIterationStart(flow: string): void {
    const c = this.flow(flow);
    c.started++;
    this.window(this.now(), flow).started++;
  }

  onIterationEnd(flow: string, outcome: IterationOutcome, durationMs: number, error?: string): void {
    const c = this.flow(flow);
    c[outcome]++;
    if (outcome !== 'interrupted') c.iterationTrend.add(durationMs);
    if (error) countError(c.errors, error);
  }

  onDropped(flow: string): void {
    this.flow(flow).dropped++;
    this.window(this.now(), flow).dropped++;
  }

  /** Seconds from start to end (or now while running). */
  elapsedS(): number {
    return ((this.endedAt ?? this.now()) - this.startedAt) / 1000;
  }

  requestSeries(): RequestSeries[] {
    return [...this.requests.values()];
  }

  checkSeries(): CheckSeries[] {
    return [...this.checks.values()];
  }

  private matching(tags: Record<string, string>): (values: Record<string, string>) => boolean {
    return (values) => Object.entries(tags).every(([k, v]) => values[k] === v);
  }

  trendOf(metric: 'http_req_duration' | 'iteration_duration', tags: Record<string, string> = {}): Trend {
    const match = this.matching(tags);
    const trends =
      metric === 'http_req_duration'
        ? this.requestSeries().filter((s) => match({ flow: s.flow, name: s.name })).map((s) => s.trend)
        : [...this.flows.entries()].filter(([flow]) => match({ flow })).map(([, c]) => c.iterationTrend);
    return Trend.merge(trends, this.sampleCap);
  }

  rateOf(metric: 'http_req_failed' | 'checks', tags: Record<string, string> = {}): { trues: number; total: number } {
    const match = this.matching(tags);
    if (metric === 'http_req_failed') {
      const series = this.requestSeries().filter((s) => match({ flow: s.flow, name: s.name }));
      return { trues: series.reduce((n, s) => n + s.failures, 0), total: series.reduce((n, s) => n + s.requests, 0) };
    }
    const series = this.checkSeries().filter((c) => match({ flow: c.flow, check: c.check }));
    const trues = series.reduce((n, c) => n + c.passes, 0);
    return { trues, total: trues + series.reduce((n, c) => n + c.fails, 0) };
  }

  countOf(metric: 'http_reqs' | 'iterations' | 'dropped_iterations', tags: Record<string, string> = {}): number {
    const match = this.matching(tags);
    if (metric === 'http_reqs') return this.requestSeries().filter((s) => match({ flow: s.flow, name: s.name })).reduce((n, s) => n + s.requests, 0);
    const flows = [...this.flows.entries()].filter(([flow]) => match({ flow })).map(([, c]) => c);
    return flows.reduce((n, c) => n + (metric === 'iterations' ? c.completed + c.failed : c.dropped), 0);
  }

  /** One metric filtered by tags, in the form a threshold evaluates. */
  aggregate(metric: MetricName, tags: Record<string, string> = {}): Aggregate {
    switch (metric) {
      case 'http_req_duration':
      case 'iteration_duration':
        return { kind: 'trend', trend: this.trendOf(metric, tags) };
      case 'http_req_failed':
      case 'checks':
        return { kind: 'rate', ...this.rateOf(metric, tags) };
      case 'http_reqs':
      case 'iterations':
      case 'dropped_iterations': {
        const count = this.countOf(metric, tags);
        return { kind: 'counter', count, perSecond: count / Math.max(this.elapsedS(), 1e-9) };
      }
    }
  }
}
