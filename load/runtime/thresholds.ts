// Thresholds in k6's grammar: a metric key ('http_req_duration' or 'http_req_duration{flow:orders,name:place_order}')
// and expressions '<aggregation> <op> <number>', with the aggregations k6 allows per metric type.
import { CounterSink, GaugeSink, RateSink, sampleCount, type Metric, type MetricRegistry, type Sink } from './metrics.ts';
import { ProfileError, type ThresholdSpec } from './options.ts';

type Op = '<' | '<=' | '>' | '>=' | '==' | '===' | '!=';

export interface Threshold {
  key: string;
  expr: string;
  /** "avg", "min", "med", "max", "count", "rate", "value" or "p(N)". */
  aggregation: string;
  op: Op;
  value: number;
  abortOnFail: boolean;
  delayAbortEvalMs: number;
  sink: Sink;
  metric: Metric;
  ok: boolean;
}

const AGGREGATIONS: Record<Metric['type'], RegExp> = {
  counter: /^(count|rate)$/,
  gauge: /^value$/,
  rate: /^rate$/,
  trend: /^(avg|min|max|med|p\(\d+(\.\d+)?\))$/,
};

/** 'metric{tag:value,...}' -> name and tag filter. */
export function parseMetricKey(key: string): { name: string; filter: Record<string, string> } {
  const m = /^([a-zA-Z_][a-zA-Z0-9_]*)(?:\{(.*)\})?$/.exec(key.trim());
  if (!m) throw new ProfileError(`threshold key '${key}' is not 'metric' or 'metric{tag:value,...}'`);
  const filter: Record<string, string> = {};
  for (const part of (m[2] ?? '').split(',').filter((p) => p.trim() !== '')) {
    const colon = part.indexOf(':');
    if (colon < 1) throw new ProfileError(`threshold key '${key}': '${part}' must be tag:value`);
    filter[part.slice(0, colon).trim()] = part.slice(colon + 1).trim().replace(/^(["'])(.*)\1$/, '$2');
  }
  return { name: m[1]!, filter };
}

/** Compiles every threshold against the registry (custom metrics are defined by now, in the init context). */
export function compileThresholds(specs: Record<string, ThresholdSpec[]>, registry: MetricRegistry): Threshold[] {
  const out: Threshold[] = [];
  for (const [key, list] of Object.entries(specs)) {
    const { name, filter } = parseMetricKey(key);
    const metric = registry.get(name);
    if (!metric) throw new ProfileError(`invalid threshold on '${key}': no metric named '${name}'; built-in metrics and those the script defines in its init context can have thresholds`);
    const sink = Object.keys(filter).length === 0 ? metric.sink : registry.addSubmetric(metric, key, filter).sink;
    for (const spec of list) {
      const m = /^\s*(avg|min|max|med|count|rate|value|p\(\s*\d+(?:\.\d+)?\s*\))\s*(===|==|!=|<=|>=|<|>)\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\s*$/.exec(spec.threshold);
      if (!m) throw new ProfileError(`threshold '${key}: ${spec.threshold}' is not '<aggregation> <op> <number>', e.g. 'p(95)<250' or 'rate<0.01'`);
      const aggregation = m[1]!.replace(/\s+/g, '');
      if (!AGGREGATIONS[metric.type].test(aggregation)) {
        throw new ProfileError(`threshold '${key}: ${spec.threshold}': ${name} is a ${metric.type}, which takes ${AGGREGATIONS[metric.type].source.replace(/[\^$()\\]/g, '').replace(/\|/g, ', ')}`);
      }
      out.push({ key, expr: spec.threshold, aggregation, op: m[2] as Op, value: Number(m[3]), abortOnFail: spec.abortOnFail, delayAbortEvalMs: spec.delayAbortEvalMs, sink, metric, ok: true });
    }
  }
  return out;
}

/** The aggregate a threshold compares; an empty metric reads 0, as k6 reads it. */
export function aggregateOf(sink: Sink, aggregation: string, elapsedS: number): number {
  if (sink instanceof CounterSink) return aggregation === 'count' ? sink.count : sink.count / Math.max(elapsedS, 1e-9);
  if (sink instanceof GaugeSink) return sink.samples === 0 ? 0 : sink.value;
  if (sink instanceof RateSink) return sink.rate;
  const trend = sink.trend;
  if (trend.count === 0) return 0;
  const pct = /^p\((.+)\)$/.exec(aggregation);
  if (pct) return trend.percentile(Number(pct[1]));
  const s = trend.stats();
  return aggregation === 'avg' ? s.avg : aggregation === 'min' ? s.min : aggregation === 'max' ? s.max : s.med;
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
    case '===':
      return actual === value;
    case '!=':
      return actual !== value;
  }
}

/** Re-evaluates every threshold in place; returns those that failed. */
export function evaluateThresholds(thresholds: readonly Threshold[], elapsedS: number): Threshold[] {
  for (const t of thresholds) t.ok = compare(aggregateOf(t.sink, t.aggregation, elapsedS), t.op, t.value);
  return thresholds.filter((t) => !t.ok);
}

/** Thresholds over trends that got no sample: k6 reads them as 0, so they pass unmeasured; said out loud here. */
export function unmeasured(thresholds: readonly Threshold[]): Threshold[] {
  return thresholds.filter((t) => t.metric.type === 'trend' && sampleCount(t.sink) === 0);
}
