// The run's metrics as k6 models them: each metric has a type (counter, gauge, rate, trend) and a sink that
// aggregates every sample; a threshold on `metric{tag:value}` adds a sub-metric that aggregates only matching samples.
// Outputs (JSON lines, the Prometheus endpoint, progress) see every sample as it is taken.
import { Trend } from './stats.ts';

export type MetricType = 'counter' | 'gauge' | 'rate' | 'trend';
export type ValueType = 'default' | 'time' | 'data';
export type Tags = Readonly<Record<string, string>>;

export class CounterSink {
  count = 0;
  add(v: number): void {
    this.count += v;
  }
}

export class GaugeSink {
  value = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  samples = 0;
  add(v: number): void {
    this.value = v;
    this.samples++;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }
}

export class RateSink {
  trues = 0;
  total = 0;
  add(v: number): void {
    this.total++;
    if (v !== 0) this.trues++;
  }
  get rate(): number {
    return this.total === 0 ? 0 : this.trues / this.total;
  }
}

export class TrendSink {
  constructor(readonly trend: Trend) {}
  add(v: number): void {
    this.trend.add(v);
  }
}

export type Sink = CounterSink | GaugeSink | RateSink | TrendSink;

export function createSink(type: MetricType, trendCap: number): Sink {
  switch (type) {
    case 'counter':
      return new CounterSink();
    case 'gauge':
      return new GaugeSink();
    case 'rate':
      return new RateSink();
    case 'trend':
      return new TrendSink(new Trend(trendCap));
  }
}

/** How many samples a sink holds. */
export function sampleCount(sink: Sink): number {
  if (sink instanceof CounterSink) return sink.count === 0 ? 0 : 1;
  if (sink instanceof GaugeSink) return sink.samples;
  if (sink instanceof RateSink) return sink.total;
  return sink.trend.count;
}

export interface Submetric {
  /** The threshold key that made it, e.g. "http_req_duration{flow:orders}". */
  key: string;
  filter: Tags;
  sink: Sink;
}

export interface Metric {
  name: string;
  type: MetricType;
  contains: ValueType;
  sink: Sink;
  submetrics: Submetric[];
}

export interface SampleObserver {
  onMetric?(m: Metric): void;
  onSample(m: Metric, value: number, tags: Tags, time: number): void;
}

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,127}$/;

export class MetricRegistry {
  private readonly metrics = new Map<string, Metric>();
  private readonly observers: SampleObserver[] = [];

  constructor(private readonly trendCap = 200_000) {}

  /** A metric by name, created on first use; a second definition with another type is an error, as in k6. */
  define(name: string, type: MetricType, contains: ValueType = 'default'): Metric {
    if (!NAME.test(name)) throw new Error(`metric name '${name}' is invalid: letters, digits and '_', not starting with a digit, at most 128 characters`);
    const known = this.metrics.get(name);
    if (known) {
      if (known.type !== type) throw new Error(`metric '${name}' is already a ${known.type}; it cannot also be a ${type}`);
      return known;
    }
    const m: Metric = { name, type, contains, sink: createSink(type, this.trendCap), submetrics: [] };
    this.metrics.set(name, m);
    for (const o of this.observers) o.onMetric?.(m);
    return m;
  }

  get(name: string): Metric | undefined {
    return this.metrics.get(name);
  }

  all(): Metric[] {
    return [...this.metrics.values()];
  }

  addSubmetric(metric: Metric, key: string, filter: Tags): Submetric {
    const known = metric.submetrics.find((s) => s.key === key);
    if (known) return known;
    const sub: Submetric = { key, filter, sink: createSink(metric.type, this.trendCap) };
    metric.submetrics.push(sub);
    return sub;
  }

  observe(o: SampleObserver): void {
    this.observers.push(o);
    for (const m of this.metrics.values()) o.onMetric?.(m);
  }

  add(metric: Metric, value: number, tags: Tags, time = Date.now()): void {
    metric.sink.add(value);
    for (const sub of metric.submetrics) {
      let match = true;
      for (const k in sub.filter) {
        if (tags[k] !== sub.filter[k]) {
          match = false;
          break;
        }
      }
      if (match) sub.sink.add(value);
    }
    for (const o of this.observers) o.onSample(metric, value, tags, time);
  }
}

/** The metrics k6 itself emits, by name, with type and unit. */
export const BUILTIN_METRICS = {
  http_reqs: ['counter', 'default'],
  http_req_duration: ['trend', 'time'],
  http_req_failed: ['rate', 'default'],
  checks: ['rate', 'default'],
  iterations: ['counter', 'default'],
  iteration_duration: ['trend', 'time'],
  dropped_iterations: ['counter', 'default'],
  vus: ['gauge', 'default'],
  vus_max: ['gauge', 'default'],
} as const satisfies Record<string, readonly [MetricType, ValueType]>;

export type BuiltinName = keyof typeof BUILTIN_METRICS;
export type Builtins = Record<BuiltinName, Metric>;

export function defineBuiltins(registry: MetricRegistry): Builtins {
  return Object.fromEntries(Object.entries(BUILTIN_METRICS).map(([name, [type, contains]]) => [name, registry.define(name, type, contains)])) as Builtins;
}
