// The object handleSummary(data) receives, in k6's shape: metrics with type, contains, values and thresholds
// (sub-metrics under their threshold key), root_group with its checks, options and state.
import { CounterSink, GaugeSink, RateSink, sampleCount, type Metric, type MetricRegistry, type Sink } from './metrics.ts';
import type { TestOptions } from './options.ts';
import type { GroupNode } from './state.ts';
import type { Threshold } from './thresholds.ts';
import type { SummaryData, SummaryGroup, SummaryMetric } from '../scenarios/lib/text-summary.ts';

// The shape is declared once, in the k6-pure module the scripts' handleSummary also uses.
export type { SummaryCheck, SummaryData, SummaryGroup, SummaryMetric } from '../scenarios/lib/text-summary.ts';

function values(sink: Sink, trendStats: readonly string[], elapsedS: number): Record<string, number> {
  if (sink instanceof CounterSink) return { count: sink.count, rate: sink.count / Math.max(elapsedS, 1e-9) };
  if (sink instanceof GaugeSink) return sink.samples === 0 ? { value: 0, min: 0, max: 0 } : { value: sink.value, min: sink.min, max: sink.max };
  if (sink instanceof RateSink) return { rate: sink.rate, passes: sink.trues, fails: sink.total - sink.trues };
  const trend = sink.trend;
  const s = trend.count === 0 ? undefined : trend.stats();
  const out: Record<string, number> = {};
  for (const stat of trendStats) {
    const pct = /^p\((.+)\)$/.exec(stat);
    // An empty trend reads 0, as in k6.
    if (!s) out[stat] = 0;
    else if (pct) out[stat] = trend.percentile(Number(pct[1]));
    else if (stat === 'count') out[stat] = s.count;
    else if (stat === 'avg' || stat === 'min' || stat === 'med' || stat === 'max') out[stat] = s[stat];
  }
  return out;
}

function group(node: GroupNode): SummaryGroup {
  return {
    name: node.name,
    path: node.path,
    id: node.id,
    groups: [...node.groups.values()].map(group),
    checks: [...node.checks.values()].map((c) => ({ ...c })),
  };
}

export interface SummaryInput {
  registry: MetricRegistry;
  thresholds: readonly Threshold[];
  options: TestOptions;
  rootGroup: GroupNode;
  testRunDurationMs: number;
  setupData: unknown;
}

export function buildSummaryData(input: SummaryInput): SummaryData {
  const elapsedS = input.testRunDurationMs / 1000;
  const byKey = new Map<string, Threshold[]>();
  for (const t of input.thresholds) byKey.set(t.key, [...(byKey.get(t.key) ?? []), t]);
  const entry = (m: Metric, sink: Sink, key: string): SummaryMetric => {
    const own = byKey.get(key);
    return {
      type: m.type,
      contains: m.contains,
      values: values(sink, input.options.summaryTrendStats, elapsedS),
      ...(own ? { thresholds: Object.fromEntries(own.map((t) => [t.expr, { ok: t.ok }])) } : {}),
    };
  };
  const metrics: Record<string, SummaryMetric> = {};
  for (const m of input.registry.all()) {
    // As in k6: a metric that saw no sample is left out, unless a threshold names it.
    if (sampleCount(m.sink) > 0 || byKey.has(m.name)) metrics[m.name] = entry(m, m.sink, m.name);
    for (const sub of m.submetrics) metrics[sub.key] = entry(m, sub.sink, sub.key);
  }
  return {
    root_group: group(input.rootGroup),
    options: { summaryTrendStats: [...input.options.summaryTrendStats], summaryTimeUnit: input.options.summaryTimeUnit, noColor: false },
    state: { isStdOutTTY: Boolean(process.stdout.isTTY), isStdErrTTY: Boolean(process.stderr.isTTY), testRunDurationMs: input.testRunDurationMs },
    metrics,
    ...(input.setupData === undefined ? {} : { setup_data: input.setupData }),
  };
}
