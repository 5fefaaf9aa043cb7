// k6's compact end-of-test summary as text, from handleSummary's data: thresholds, checks, then every metric by category.
// Pure and import-free: k6 scripts call it from handleSummary, and the runtime imports it for its default summary.

// The summary data k6 hands handleSummary; the runtime (load/runtime/summary-data.ts) builds it with these types.
export interface SummaryMetric {
  type: 'counter' | 'gauge' | 'rate' | 'trend';
  contains: 'default' | 'time' | 'data';
  /** counter: count, rate (per s); gauge: value, min, max; rate: rate, passes, fails; trend: the options.summaryTrendStats
   *  (default avg, min, med, max, p(90), p(95)); an empty trend reads 0 as in k6 */
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}
export interface SummaryCheck { name: string; path: string; id: string; passes: number; fails: number }
export interface SummaryGroup { name: string; path: string; id: string; groups: SummaryGroup[]; checks: SummaryCheck[] }
export interface SummaryData {
  root_group: SummaryGroup;
  options: { summaryTrendStats: string[]; summaryTimeUnit: string; noColor: boolean };
  state: { isStdOutTTY: boolean; isStdErrTTY: boolean; testRunDurationMs: number };
  /** built-in and custom metrics by name, and sub-metrics named by their threshold key, e.g. "http_req_duration{flow:orders}" */
  metrics: Record<string, SummaryMetric>;
  setup_data?: unknown;
}

export interface TextSummaryOptions {
  /** Put before every line; default none. */
  indent?: string;
  /** ANSI green/red marks; default when the data says stdout is a TTY and colour is not turned off. */
  enableColors?: boolean;
}

/** k6's metric categories, in its order; a metric in none of them is CUSTOM. */
const CATEGORIES: { title: string; has: (name: string) => boolean }[] = [
  { title: 'HTTP', has: (n) => n.startsWith('http_') },
  { title: 'EXECUTION', has: (n) => ['dropped_iterations', 'group_duration', 'iteration_duration', 'iterations', 'vus', 'vus_max'].includes(n) },
  { title: 'NETWORK', has: (n) => n === 'data_received' || n === 'data_sent' },
];
/** Shown as checks_total, checks_succeeded and checks_failed instead. */
const CHECKS_METRIC = 'checks';
const TIME_UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

const trim = (x: number, digits: number): string => String(Number(x.toFixed(digits)));

/** Milliseconds as k6 prints durations: 7µs, 140.36ms, 1.14s, 1m30.5s, 2h0m5s; or in summaryTimeUnit when set. */
export function formatDuration(ms: number, timeUnit = ''): string {
  const fixed = TIME_UNIT_MS[timeUnit];
  if (fixed !== undefined) return `${trim(ms / fixed, 2)}${timeUnit}`;
  const abs = Math.abs(ms);
  if (abs === 0) return '0s';
  if (abs < 0.001) return `${trim(ms * 1e6, 2)}ns`;
  if (abs < 1) return `${trim(ms * 1000, 2)}µs`;
  if (abs < 1000) return `${trim(ms, 2)}ms`;
  if (abs < 60_000) return `${trim(ms / 1000, 2)}s`;
  const sign = ms < 0 ? '-' : '';
  const h = Math.floor(abs / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  const s = trim((abs % 60_000) / 1000, 2);
  return h > 0 ? `${sign}${h}h${m}m${s}s` : `${sign}${m}m${s}s`;
}

/** Bytes in decimal units as k6 prints them: 564 B, 2.8 kB, 31 kB, 1.3 MB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${Math.abs(v) < 10 ? v.toFixed(1) : v.toFixed(0)} ${units[u]}`;
}

const percent = (rate: number): string => `${(rate * 100).toFixed(2)}%`;

function formatValue(metric: SummaryMetric, value: number, timeUnit: string): string {
  if (metric.contains === 'time') return formatDuration(value, timeUnit);
  if (metric.contains === 'data') return formatBytes(value);
  return trim(value, 6);
}

/** The aggregation a threshold expression reads ("p(95) < 250" -> "p(95)"), or undefined. */
function aggregationOf(source: string): string | undefined {
  const m = /^\s*(avg|min|max|med|count|rate|value|p\(\s*\d+(?:\.\d+)?\s*\))\s*(?:<=|>=|===|==|!=|<|>)/.exec(source);
  return m?.[1]?.replace(/\s+/g, '');
}

function thresholdValue(metric: SummaryMetric, agg: string, timeUnit: string): string | undefined {
  const v = metric.values[agg];
  if (v === undefined) return undefined;
  if (metric.type === 'rate' && agg === 'rate') return percent(v);
  if (metric.type === 'counter' && agg === 'rate') return `${formatValue(metric, v, timeUnit)}/s`;
  if (agg === 'count' && (metric.type === 'trend' || metric.contains === 'default')) return trim(v, 6);
  return formatValue(metric, v, timeUnit);
}

/** "http_req_duration{flow:orders,name:place_order}" -> { parent: "http_req_duration", label: "{ flow:orders, name:place_order }" }. */
function splitSubMetric(name: string): { parent: string; label: string } | undefined {
  const m = /^([^{]+)\{(.*)\}$/.exec(name);
  if (!m) return undefined;
  return { parent: m[1]!, label: `{ ${m[2]!.split(',').map((t) => t.trim()).join(', ')} }` };
}

interface Row {
  label: string;
  metric: SummaryMetric;
}

/** Columns of one metric's values: trends one cell per stat, the others a leading value and the rest. */
function cells(metric: SummaryMetric, stats: string[], timeUnit: string, durationS: number): string[] {
  const v = metric.values;
  const at = (k: string): number => v[k] ?? 0;
  switch (metric.type) {
    case 'trend': {
      const keys = stats.filter((k) => k in v);
      // count is how many samples, whatever the trend measures.
      return (keys.length > 0 ? keys : Object.keys(v)).map((k) => `${k}=${k === 'count' ? trim(at(k), 6) : formatValue(metric, at(k), timeUnit)}`);
    }
    case 'counter': {
      const rate = v.rate ?? (durationS > 0 ? at('count') / durationS : 0);
      return [formatValue(metric, at('count'), timeUnit), `${metric.contains === 'default' ? trim(rate, 6) : formatValue(metric, rate, timeUnit)}/s`];
    }
    case 'rate':
      return [percent(at('rate')), `${at('passes')} out of ${at('passes') + at('fails')}`];
    case 'gauge':
      return [formatValue(metric, at('value'), timeUnit), `min=${formatValue(metric, at('min'), timeUnit)}`, `max=${formatValue(metric, at('max'), timeUnit)}`];
  }
}

/** Pads the first `columns` cells of each row to the widest such cell over all rows given, as k6 lines up its summary. */
function alignColumns(rows: string[][], columns = Infinity): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((row) => row.map((c, i) => (i < row.length - 1 && i < columns ? c.padEnd(widths[i]!) : c)).join(' '));
}

function collectChecks(group: SummaryGroup, depth: number, out: { check?: SummaryCheck; group?: string; depth: number }[]): void {
  for (const check of group.checks) out.push({ check, depth });
  for (const sub of group.groups) {
    out.push({ group: sub.name, depth });
    collectChecks(sub, depth + 1, out);
  }
}

export function textSummary(data: SummaryData, options: TextSummaryOptions = {}): string {
  const indent = options.indent ?? '';
  const colors = options.enableColors ?? (!data.options.noColor && data.state.isStdOutTTY);
  const paint = (code: number, text: string): string => (colors ? `\x1b[${code}m${text}\x1b[0m` : text);
  const ok = paint(32, '✓');
  const notOk = paint(31, '✗');
  const timeUnit = data.options.summaryTimeUnit;
  const durationS = data.state.testRunDurationMs / 1000;
  const lines: string[] = [''];
  const names = Object.keys(data.metrics).sort();

  const withThresholds = names.filter((n) => Object.keys(data.metrics[n]!.thresholds ?? {}).length > 0);
  if (withThresholds.length > 0) {
    lines.push('  █ THRESHOLDS', '');
    for (const name of withThresholds) {
      const metric = data.metrics[name]!;
      lines.push(`    ${name}`);
      for (const [source, { ok: passed }] of Object.entries(metric.thresholds ?? {})) {
        const agg = aggregationOf(source);
        const value = agg === undefined ? undefined : thresholdValue(metric, agg, timeUnit);
        lines.push(`    ${passed ? ok : notOk} '${source}'${value === undefined ? '' : ` ${agg}=${value}`}`);
      }
      lines.push('');
    }
    lines.push('');
  }

  lines.push('  █ TOTAL RESULTS', '');

  const entries: { check?: SummaryCheck; group?: string; depth: number }[] = [];
  collectChecks(data.root_group, 0, entries);
  const checksMetric = data.metrics[CHECKS_METRIC];
  const passes = checksMetric?.values.passes ?? entries.reduce((s, e) => s + (e.check?.passes ?? 0), 0);
  const fails = checksMetric?.values.fails ?? entries.reduce((s, e) => s + (e.check?.fails ?? 0), 0);
  const total = passes + fails;
  if (total > 0 || entries.length > 0) {
    const checkRows = [
      ['checks_total', String(total), `${trim(durationS > 0 ? total / durationS : 0, 6)}/s`],
      ['checks_succeeded', percent(total > 0 ? passes / total : 0), `${passes} out of ${total}`],
      ['checks_failed', percent(total > 0 ? fails / total : 0), `${fails} out of ${total}`],
    ];
    const width = Math.max(...checkRows.map(([n]) => n!.length)) + 3;
    alignColumns(checkRows.map(([, ...values]) => values)).forEach((values, i) => lines.push(`    ${checkRows[i]![0]!.padEnd(width, '.')}: ${values}`));
    lines.push('');
    for (const e of entries) {
      const pad = '    ' + '  '.repeat(e.depth);
      if (e.group !== undefined) {
        lines.push(`${pad}█ ${e.group}`);
        continue;
      }
      const c = e.check!;
      lines.push(`${pad}${c.fails === 0 ? ok : notOk} ${c.name}`);
      if (c.fails > 0) lines.push(`${pad}  ↳ ${Math.floor((c.passes / (c.passes + c.fails)) * 100)}% — ✓ ${c.passes} / ✗ ${c.fails}`);
    }
    lines.push('');
  }

  // Every metric but checks, sub-metrics under their parent, grouped by category as k6 does.
  const subsOf = new Map<string, string[]>();
  const tops: string[] = [];
  for (const name of names) {
    const sub = splitSubMetric(name);
    if (sub && data.metrics[sub.parent]) subsOf.set(sub.parent, [...(subsOf.get(sub.parent) ?? []), name]);
    else if (name !== CHECKS_METRIC) tops.push(name);
  }
  const sections: { title: string; rows: Row[] }[] = [{ title: 'CUSTOM', rows: [] }, ...CATEGORIES.map((c) => ({ title: c.title, rows: [] as Row[] }))];
  for (const name of tops) {
    const at = CATEGORIES.findIndex((c) => c.has(name)) + 1;
    const rows = sections[at]!.rows;
    rows.push({ label: name, metric: data.metrics[name]! });
    for (const sub of subsOf.get(name) ?? []) rows.push({ label: `  ${splitSubMetric(sub)!.label}`, metric: data.metrics[sub]! });
  }
  const rows = sections.flatMap((s) => s.rows);
  const width = Math.max(0, ...rows.map((r) => r.label.length)) + 3;
  const stats = data.options.summaryTrendStats;
  const trendText = alignColumns(rows.filter((r) => r.metric.type === 'trend').map((r) => cells(r.metric, stats, timeUnit, durationS)));
  // Trends line up stat by stat; counters, rates and gauges only their leading value.
  const otherText = alignColumns(rows.filter((r) => r.metric.type !== 'trend').map((r) => cells(r.metric, stats, timeUnit, durationS)), 1);
  const text = new Map<Row, string>();
  rows.filter((r) => r.metric.type === 'trend').forEach((r, i) => text.set(r, trendText[i]!));
  rows.filter((r) => r.metric.type !== 'trend').forEach((r, i) => text.set(r, otherText[i]!));
  for (const section of sections) {
    if (section.rows.length === 0) continue;
    lines.push(`    ${section.title}`);
    for (const r of section.rows) lines.push(`    ${r.label.padEnd(width, '.')}: ${text.get(r)}`);
    lines.push('');
  }

  return lines.map((l) => (l === '' ? l : indent + l)).join('\n') + '\n';
}
