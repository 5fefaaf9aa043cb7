// The end-of-run summary (k6's handleSummary): one JSON object per run, written to reports/load/, plus a short text form for stdout.
import fs from 'node:fs';
import path from 'node:path';
import { executorDurationS, type ExecutorSpec } from './executors.ts';
import { LogHistogram, type Trend } from '../runtime/stats.ts';
import type { RunMetrics } from './metrics.ts';
import type { ThresholdResult } from './thresholds.ts';

export const DEFAULT_REPORT_DIR = path.resolve(import.meta.dirname, '../../reports/load');

/** Where a flow "breaks": the first of `sustainWindows` consecutive windows whose p99 or error rate exceeds these, or that dropped iterations. */
export interface KneeCriteria {
  flow: string;
  p99Ms: number;
  maxErrorRate: number;
  windowS: number;
  /** Consecutive broken windows needed, so one noisy window on a shared machine is not taken for the knee (default 2). */
  sustainWindows?: number;
}

export interface LatencySummary {
  count: number;
  avg: number | null;
  min: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  exact: boolean;
}

export interface RequestNameSummary {
  requests: number;
  failures: number;
  statuses: Record<string, number>;
  errors: Record<string, number>;
  latencyMs: LatencySummary;
}

export interface FlowSummary {
  executor: ExecutorSpec;
  iterations: { started: number; completed: number; failed: number; interrupted: number; dropped: number };
  iterationErrors: Record<string, number>;
  requests: number;
  failures: number;
  failRate: number | null;
  requestsPerS: number;
  checks: { passes: number; fails: number; rate: number | null };
  latencyMs: LatencySummary;
  byName: Record<string, RequestNameSummary>;
}

export interface TimelineRow {
  startS: number;
  flow: string;
  started: number;
  dropped: number;
  requests: number;
  failures: number;
  p99Ms: number | null;
}

export interface KneeWindow {
  startS: number;
  offeredPerS: number;
  requestsPerS: number;
  p99Ms: number | null;
  errorRate: number | null;
  dropped: number;
}

export interface KneeReport {
  criteria: KneeCriteria;
  /** False when the flow never broke: the knee is above the highest rate offered. */
  found: boolean;
  /** Offered iteration rate of the first broken window. */
  atOfferedPerS: number | null;
  /** Offered rate of the last window before it that held. */
  lastGoodOfferedPerS: number | null;
  reason: string;
  windows: KneeWindow[];
}

export interface Summary {
  scenario: string;
  description: string;
  startedAt: string;
  endedAt: string;
  durationS: number;
  /** True when every threshold held; the CLI exits 99 otherwise. */
  ok: boolean;
  thresholds: ThresholdResult[];
  metrics: {
    http_reqs: { count: number; rate: number };
    http_req_failed: { rate: number | null; failed: number; total: number };
    http_req_duration: LatencySummary;
    checks: { rate: number | null; passes: number; fails: number };
    iterations: { count: number; rate: number };
    dropped_iterations: { count: number };
  };
  flows: Record<string, FlowSummary>;
  checks: Array<{ flow: string; check: string; passes: number; fails: number }>;
  timeline: { windowS: number; rows: TimelineRow[] };
  knee?: KneeReport;
  rawFile?: string;
  metricsUrl?: string;
  reportFile?: string;
}

const num = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);
const ratio = (a: number, b: number): number | null => (b === 0 ? null : num(a / b));

function latency(trend: Trend): LatencySummary {
  const s = trend.stats();
  return { count: s.count, avg: num(s.avg), min: num(s.min), p50: num(s.med), p90: num(s.p90), p95: num(s.p95), p99: num(s.p99), max: num(s.max), exact: s.exact };
}

interface WindowAgg {
  started: number;
  dropped: number;
  requests: number;
  failures: number;
  latency: LogHistogram;
}

/** Per-flow windows of windowS seconds, merged from the per-second timeline. */
function windows(metrics: RunMetrics, windowS: number): Map<string, Map<number, WindowAgg>> {
  const perWindow = Math.max(1, Math.round((windowS * 1000) / metrics.windowMs));
  const out = new Map<string, Map<number, WindowAgg>>();
  for (const [idx, byFlow] of metrics.timeline) {
    const w = Math.floor(idx / perWindow);
    for (const [flow, c] of byFlow) {
      let flowMap = out.get(flow);
      if (!flowMap) out.set(flow, (flowMap = new Map()));
      let agg = flowMap.get(w);
      if (!agg) flowMap.set(w, (agg = { started: 0, dropped: 0, requests: 0, failures: 0, latency: new LogHistogram() }));
      agg.started += c.started;
      agg.dropped += c.dropped;
      agg.requests += c.requests;
      agg.failures += c.failures;
      agg.latency.merge(c.latency);
    }
  }
  return out;
}

/** The knee from the per-second timeline; scheduleEndS (the flow's last arrival) leaves out the drain after it. */
export function findKnee(metrics: RunMetrics, criteria: KneeCriteria, scheduleEndS: number): KneeReport {
  const flowWindows = windows(metrics, criteria.windowS).get(criteria.flow) ?? new Map<number, WindowAgg>();
  const rows: KneeWindow[] = [...flowWindows.entries()]
    .sort(([a], [b]) => a - b)
    // A partial window (or the drain after the schedule) would understate the offered rate.
    .filter(([w]) => (w + 1) * criteria.windowS <= scheduleEndS + 1e-6)
    .map(([w, a]) => ({
      startS: w * criteria.windowS,
      offeredPerS: num((a.started + a.dropped) / criteria.windowS) ?? 0,
      requestsPerS: num(a.requests / criteria.windowS) ?? 0,
      p99Ms: num(a.latency.quantile(99)),
      errorRate: ratio(a.failures, a.requests),
      dropped: a.dropped,
    }));
  const broken = (r: KneeWindow): string[] => {
    const reasons: string[] = [];
    if (r.p99Ms !== null && r.p99Ms > criteria.p99Ms) reasons.push(`p99 ${r.p99Ms} ms > ${criteria.p99Ms} ms`);
    if (r.errorRate !== null && r.errorRate > criteria.maxErrorRate) reasons.push(`error rate ${r.errorRate} > ${criteria.maxErrorRate}`);
    if (r.dropped > 0) reasons.push(`${r.dropped} iterations dropped (in-flight cap reached)`);
    return reasons;
  };
  const sustain = Math.max(1, criteria.sustainWindows ?? 2);
  let lastGood: number | null = null;
  for (let i = 0; i < rows.length; i++) {
    const run = rows.slice(i, i + sustain);
    if (run.length === sustain && run.every((r) => broken(r).length > 0)) {
      const r = rows[i]!;
      return { criteria, found: true, atOfferedPerS: r.offeredPerS, lastGoodOfferedPerS: lastGood, reason: `from ${r.startS} s: ${broken(r).join('; ')}`, windows: rows };
    }
    if (broken(rows[i]!).length === 0) lastGood = rows[i]!.offeredPerS;
  }
  return { criteria, found: false, atOfferedPerS: null, lastGoodOfferedPerS: lastGood, reason: 'held at every offered rate', windows: rows };
}

export interface SummaryInput {
  scenario: { name: string; description: string; flows: Record<string, { executor: ExecutorSpec }>; knee?: KneeCriteria };
  metrics: RunMetrics;
  thresholds: ThresholdResult[];
  rawFile?: string;
  metricsUrl?: string;
}

export function buildSummary({ scenario, metrics, thresholds, rawFile, metricsUrl }: SummaryInput): Summary {
  const elapsed = Math.max(metrics.elapsedS(), 1e-9);
  const flows: Record<string, FlowSummary> = {};
  const series = metrics.requestSeries();
  const checkSeries = metrics.checkSeries();
  for (const [name, c] of metrics.flows) {
    const mine = series.filter((s) => s.flow === name);
    const requests = mine.reduce((n, s) => n + s.requests, 0);
    const failures = mine.reduce((n, s) => n + s.failures, 0);
    const checks = checkSeries.filter((x) => x.flow === name);
    const passes = checks.reduce((n, x) => n + x.passes, 0);
    const fails = checks.reduce((n, x) => n + x.fails, 0);
    flows[name] = {
      executor: scenario.flows[name]!.executor,
      iterations: { started: c.started, completed: c.completed, failed: c.failed, interrupted: c.interrupted, dropped: c.dropped },
      iterationErrors: Object.fromEntries(c.errors),
      requests,
      failures,
      failRate: ratio(failures, requests),
      requestsPerS: num(requests / elapsed) ?? 0,
      checks: { passes, fails, rate: ratio(passes, passes + fails) },
      latencyMs: latency(metrics.trendOf('http_req_duration', { flow: name })),
      byName: Object.fromEntries(
        mine.map((s) => [s.name, { requests: s.requests, failures: s.failures, statuses: Object.fromEntries(s.statuses), errors: Object.fromEntries(s.errors), latencyMs: latency(s.trend) }]),
      ),
    };
  }
  const total = (m: 'http_reqs' | 'iterations' | 'dropped_iterations'): number => metrics.countOf(m);
  const failed = metrics.rateOf('http_req_failed');
  const checks = metrics.rateOf('checks');
  // At most ~300 rows per flow however long the run, so a soak's summary stays readable.
  const windowS = Math.max(1, Math.ceil(elapsed / 300));
  const rows: TimelineRow[] = [];
  for (const [flow, byWindow] of windows(metrics, windowS)) {
    for (const [w, a] of [...byWindow.entries()].sort(([x], [y]) => x - y)) {
      rows.push({ startS: w * windowS, flow, started: a.started, dropped: a.dropped, requests: a.requests, failures: a.failures, p99Ms: num(a.latency.quantile(99)) });
    }
  }
  rows.sort((a, b) => a.startS - b.startS || a.flow.localeCompare(b.flow));
  const summary: Summary = {
    scenario: scenario.name,
    description: scenario.description,
    startedAt: new Date(metrics.startedAt).toISOString(),
    endedAt: new Date(metrics.endedAt ?? Date.now()).toISOString(),
    durationS: num(elapsed) ?? 0,
    ok: thresholds.every((t) => t.ok),
    thresholds,
    metrics: {
      http_reqs: { count: total('http_reqs'), rate: num(total('http_reqs') / elapsed) ?? 0 },
      http_req_failed: { rate: ratio(failed.trues, failed.total), failed: failed.trues, total: failed.total },
      http_req_duration: latency(metrics.trendOf('http_req_duration')),
      checks: { rate: ratio(checks.trues, checks.total), passes: checks.trues, fails: checks.total - checks.trues },
      iterations: { count: total('iterations'), rate: num(total('iterations') / elapsed) ?? 0 },
      dropped_iterations: { count: total('dropped_iterations') },
    },
    flows,
    checks: checkSeries.map((c) => ({ flow: c.flow, check: c.check, passes: c.passes, fails: c.fails })),
    timeline: { windowS, rows },
  };
  if (scenario.knee) {
    const executor = scenario.flows[scenario.knee.flow]?.executor;
    if (!executor) throw new Error(`knee criteria name flow "${scenario.knee.flow}", which the scenario does not have`);
    summary.knee = findKnee(metrics, scenario.knee, (executor.startTimeS ?? 0) + executorDurationS(executor));
  }
  if (rawFile) summary.rawFile = rawFile;
  if (metricsUrl) summary.metricsUrl = metricsUrl;
  return summary;
}

/** Writes <dir>/<timestamp>-<scenario>.json and returns its path. */
export function writeSummary(summary: Summary, dir = DEFAULT_REPORT_DIR): string {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = summary.startedAt.replace(/[:.]/g, '-');
  const file = path.join(dir, `${stamp}-${summary.scenario}.json`);
  summary.reportFile = file;
  fs.writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  return file;
}

const fmt = (x: number | null, digits = 1): string => (x === null ? '-' : x.toFixed(digits));
const pct = (x: number | null): string => (x === null ? '-' : `${(x * 100).toFixed(2)}%`);

export function formatSummary(s: Summary): string {
  const m = s.metrics;
  const lines = [
    `scenario ${s.scenario}: ${s.durationS.toFixed(1)} s, ${m.http_reqs.count} requests (${m.http_reqs.rate.toFixed(1)}/s), ` +
      `${pct(m.http_req_failed.rate)} failed, checks ${pct(m.checks.rate)}, dropped iterations ${m.dropped_iterations.count}`,
    '',
    `${'flow'.padEnd(14)}${'iters'.padStart(7)}${'dropped'.padStart(9)}${'reqs'.padStart(7)}${'fail'.padStart(8)}${'checks'.padStart(9)}` +
      `${'p50'.padStart(8)}${'p90'.padStart(8)}${'p95'.padStart(8)}${'p99'.padStart(8)}${'max'.padStart(8)}  (ms)`,
  ];
  for (const [name, f] of Object.entries(s.flows)) {
    const l = f.latencyMs;
    lines.push(
      `${name.padEnd(14)}${String(f.iterations.started).padStart(7)}${String(f.iterations.dropped).padStart(9)}${String(f.requests).padStart(7)}` +
        `${pct(f.failRate).padStart(8)}${pct(f.checks.rate).padStart(9)}${fmt(l.p50).padStart(8)}${fmt(l.p90).padStart(8)}${fmt(l.p95).padStart(8)}` +
        `${fmt(l.p99).padStart(8)}${fmt(l.max).padStart(8)}`,
    );
    const errs = Object.entries(f.iterationErrors);
    if (errs.length > 0) lines.push(`  iteration errors: ${errs.map(([e, n]) => `${n}x ${e}`).join('; ')}`);
  }
  const failedChecks = s.checks.filter((c) => c.fails > 0);
  if (failedChecks.length > 0) {
    lines.push('', 'failed checks:');
    for (const c of failedChecks) lines.push(`  ${c.flow}: ${c.check}: ${c.fails} of ${c.passes + c.fails} failed`);
  }
  if (s.knee) {
    const k = s.knee;
    lines.push('', k.found
      ? `knee (${k.criteria.flow}): breaks at ~${fmt(k.atOfferedPerS)} iterations/s offered (last good ~${fmt(k.lastGoodOfferedPerS)}/s); ${k.reason}`
      : `knee (${k.criteria.flow}): not reached; held up to ~${fmt(k.lastGoodOfferedPerS)} iterations/s offered`);
  }
  lines.push('', s.thresholds.length > 0 ? 'thresholds:' : 'thresholds: none in this scenario');
  for (const t of s.thresholds) lines.push(`  ${t.ok ? 'ok  ' : 'FAIL'} ${t.key}: ${t.expr} (actual ${t.actual === null ? 'no data' : fmt(t.actual, 3)})`);
  lines.push('', s.ok ? 'all thresholds met' : 'THRESHOLDS BREACHED (exit 99)');
  if (s.rawFile) lines.push(`raw timings: ${s.rawFile}`);
  if (s.reportFile) lines.push(`summary: ${s.reportFile}`);
  return lines.join('\n');
}
