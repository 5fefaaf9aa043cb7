// Thresholds, the client-side SLO, in k6's syntax ('http_req_duration{flow:orders}': ['p(95)<250']), parsed up front and evaluated at the end.
import { METRIC_TAGS, type Aggregate, type MetricName, type RunMetrics } from './metrics.ts';

export type Thresholds = Record<string, readonly string[]>;

type Op = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface CompiledThreshold {
  key: string;
  metric: MetricName;
  tags: Record<string, string>;
  expr: string;
  /** "avg", "min", "med", "max", "count", "rate" or "p(N)". */
  aggregation: string;
  pct?: number;
  op: Op;
  value: number;
}

export interface ThresholdResult {
  key: string;
  expr: string;
  /** The measured aggregate; null when the metric had no samples for these tags. */
  actual: number | null;
  ok: boolean;
}

export class ThresholdError extends Error {}

const AGGREGATIONS: Record<Aggregate['kind'], readonly string[]> = {
  trend: ['avg', 'min', 'med', 'max', 'count', 'p'],
  rate: ['rate'],
  counter: ['count', 'rate'],
};

const KIND: Record<MetricName, Aggregate['kind']> = {
  http_reqs: 'counter',
  http_req_failed: 'rate',
  http_req_duration: 'trend',
  checks: 'rate',
  iterations: 'counter',
  iteration_duration: 'trend',
  dropped_iterations: 'counter',
};

export function parseThresholdKey(key: string): { metric: MetricName; tags: Record<string, string> } {
  const m = /^([a-z_]+)(?:\{([^}]*)\})?$/.exec(key.trim());
  if (!m) throw new ThresholdError(`threshold key "${key}" is not "metric" or "metric{tag:value,...}"`);
  const metric = m[1] as MetricName;
  if (!(metric in METRIC_TAGS)) {
    throw new ThresholdError(`threshold key "${key}": unknown metric ${m[1]}; known: ${Object.keys(METRIC_TAGS).join(', ')}`);
  }
  const tags: Record<string, string> = {};
  for (const part of (m[2] ?? '').split(',').filter((p) => p.trim() !== '')) {
    const [tag, ...rest] = part.split(':');
    const name = tag!.trim();
    const value = rest.join(':').trim();
    if (!value) throw new ThresholdError(`threshold key "${key}": tag "${part}" must be tag:value`);
    if (!METRIC_TAGS[metric].includes(name)) {
      throw new ThresholdError(`threshold key "${key}": ${metric} has no tag "${name}"; it has ${METRIC_TAGS[metric].join(', ')}`);
    }
    tags[name] = value;
  }
  return { metric, tags };
}

export function compileThreshold(key: string, expr: string): CompiledThreshold {
  const { metric, tags } = parseThresholdKey(key);
  const m = /^\s*(avg|min|med|max|count|rate|p\((\d+(?:\.\d+)?)\))\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/.exec(expr);
  if (!m) throw new ThresholdError(`threshold "${key}: ${expr}" is not "<aggregation> <op> <number>", e.g. "p(95)<250" or "rate<0.01"`);
  const aggregation = m[1]!.startsWith('p(') ? 'p' : m[1]!;
  const kind = KIND[metric];
  if (!AGGREGATIONS[kind].includes(aggregation)) {
    throw new ThresholdError(`threshold "${key}: ${expr}": ${metric} is a ${kind}; use one of ${AGGREGATIONS[kind].join(', ')}`);
  }
  const pct = m[2] === undefined ? undefined : Number(m[2]);
  if (pct !== undefined && (pct < 0 || pct > 100)) throw new ThresholdError(`threshold "${key}: ${expr}": percentile must be 0..100`);
  return { key, metric, tags, expr: expr.trim(), aggregation: m[1]!, pct, op: m[3] as Op, value: Number(m[4]) };
}

export function compileThresholds(thresholds: Thresholds): CompiledThreshold[] {
  return Object.entries(thresholds).flatMap(([key, exprs]) => exprs.map((e) => compileThreshold(key, e)));
}

function measure(t: CompiledThreshold, agg: Aggregate): number | null {
  if (agg.kind === 'rate') return agg.total === 0 ? null : agg.trues / agg.total;
  if (agg.kind === 'counter') return t.aggregation === 'count' ? agg.count : agg.perSecond;
  const trend = agg.trend;
  if (trend.count === 0) return null;
  if (t.aggregation === 'count') return trend.count;
  if (t.pct !== undefined) return trend.percentile(t.pct);
  const s = trend.stats();
  return t.aggregation === 'avg' ? s.avg : t.aggregation === 'min' ? s.min : t.aggregation === 'med' ? s.med : s.max;
}

function compare(actual: number, op: Op, value: number): boolean {
  switch (op) {
    case '<':
      return actual < value;
    case '<=':
      return actual <= value;
    case '>':
      return actual > value;
    case '>=':
      return actual >= value;
    case '==':
      return actual === value;
    case '!=':
      return actual !== value;
  }
}

/** A threshold with no samples fails: an SLO that could not be measured is not met. */
export function evaluateThresholds(compiled: readonly CompiledThreshold[], metrics: RunMetrics): ThresholdResult[] {
  return compiled.map((t) => {
    const actual = measure(t, metrics.aggregate(t.metric, t.tags));
    return { key: t.key, expr: t.expr, actual, ok: actual !== null && compare(actual, t.op, t.value) };
  });
}
