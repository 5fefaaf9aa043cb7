// Why an alert fired, as data: its rule's compared value around the fault (or around a false positive or near miss),
// read back from Prometheus as a range query at the evaluation interval, with the alert's stages as marks.
import { thresholdOf } from '../alerts/promql.ts';
import type { PrometheusApi, RangeSeries, SamplePair } from './prometheus-api.ts';
import type { AlertOutcome, ExprChart, RunReport } from './results.ts';

/** Drawn before the fault, so the chart shows the value the alert started from. */
export const BEFORE_FAULT_S = 30;
/** Drawn after the alert resolved, so the chart shows the value settling. */
export const AFTER_RESOLVED_S = 15;
/** The longest chart: a scenario that never recovers would otherwise ask for its whole run. */
export const MAX_CHART_S = 300;
/** Either side of a false positive's or near miss's activeAt. */
export const AROUND_EVENT_S = 60;
/** Range queries in flight at once: a run has dozens of charts, and Prometheus is still serving the harness. */
const QUERIES_IN_FLIGHT = 4;

export type ChartMarks = ExprChart['marks'];

export interface ChartQuery {
  expr: string;
  op?: string;
  threshold?: number;
}

/**
 * What to draw for a rule: the left side of its deciding comparison (`X > 0.5` draws X against 0.5), or the whole
 * expression when it has none (`absent(x)`, `vector(1)`), which then draws the filtered result itself.
 */
export function chartQuery(ruleExpr: string): ChartQuery {
  const t = thresholdOf(ruleExpr);
  return t ? { expr: t.lhs, op: t.op, threshold: t.threshold } : { expr: ruleExpr };
}

const unixS = (iso: string): number => Date.parse(iso) / 1000;
const plus = (base: number | undefined, s: number | undefined): number | undefined => (base === undefined || s === undefined ? undefined : base + s);

/** Each stage the alert reached, in unix seconds; the notification of an alert delivered after recovery counts from recovery. */
export function alertMarks(a: Pick<AlertOutcome, 'faultAt' | 'recoveredAt' | 'stages'>): ChartMarks {
  const fault = unixS(a.faultAt);
  const recovered = a.recoveredAt === undefined ? undefined : unixS(a.recoveredAt);
  const s = a.stages;
  const marks: ChartMarks = {
    fault,
    pending: plus(fault, s.pendingS),
    firing: plus(fault, s.firingS),
    notified: s.notifiedS !== undefined ? fault + s.notifiedS : plus(recovered, s.notifiedAfterRecoveryS),
    recovered,
    resolved: plus(recovered, s.resolvedAfterRecoveryS),
  };
  return definedOnly(marks);
}

/**
 * The stretch an expected alert's chart covers, on the step grid: from BEFORE_FAULT_S before the fault to
 * AFTER_RESOLVED_S after it resolved, or to the scenario's end when that is later (or when it never resolved), at most
 * MAX_CHART_S long.
 */
export function alertRange(a: Pick<AlertOutcome, 'faultAt' | 'recoveredAt' | 'stages'>, endedAt: string, stepS: number): { from: number; to: number } {
  const marks = alertMarks(a);
  const fault = marks.fault!;
  const from = fault - BEFORE_FAULT_S;
  const to = Math.max(marks.resolved === undefined ? -Infinity : marks.resolved + AFTER_RESOLVED_S, unixS(endedAt));
  return onGrid(from, Math.min(to, from + MAX_CHART_S), stepS);
}

/** The stretch around a false positive or near miss (at = when it went pending). */
export function eventRange(at: string, stepS: number): { from: number; to: number } {
  const t = unixS(at);
  return onGrid(t - AROUND_EVENT_S, t + AROUND_EVENT_S, stepS);
}

function onGrid(from: number, to: number, stepS: number): { from: number; to: number } {
  return { from: Math.floor(from / stepS) * stepS, to: Math.ceil(to / stepS) * stepS };
}

/** Only the marks inside [from, to]: a stage outside the chart has no place on it. */
export function marksWithin(marks: ChartMarks, from: number, to: number): ChartMarks {
  return Object.fromEntries(Object.entries(marks).filter(([, t]) => t !== undefined && t >= from && t <= to)) as ChartMarks;
}

function definedOnly(marks: ChartMarks): ChartMarks {
  return Object.fromEntries(Object.entries(marks).filter(([, t]) => t !== undefined && Number.isFinite(t))) as ChartMarks;
}

/** Prometheus' sample value: a decimal string, or "NaN", "+Inf", "-Inf" (which Number() does not read). */
export function sampleValue(v: SamplePair[1]): number {
  if (v === '+Inf' || v === 'Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}

/**
 * The series of a range result as chart lines: only the outcome's service's when it names one (a series without a
 * service label is kept: the label may come from the rule rather than the data).
 */
export function chartSeries(result: readonly RangeSeries[], service?: string): ExprChart['series'] {
  return result
    .filter((s) => service === undefined || s.metric.service === undefined || s.metric.service === service)
    .map((s) => ({ labels: s.metric, points: s.values.map(([t, v]): [number, number] => [t, sampleValue(v)]) }));
}

interface ChartJob {
  alertname: string;
  service?: string;
  from: number;
  to: number;
  marks: ChartMarks;
  put(chart: ExprChart): void;
}

/**
 * Fills `chart` on every expected alert outcome, false positive and near miss of the report, in place. `rules` are the
 * alert rules that ran (name and expression, as Prometheus' rules API names them; of a name given twice the first is
 * drawn); stepS is Prometheus' evaluation interval, so each point is one evaluation's value. A failing query leaves a
 * chart with `error` instead of throwing. Charts end at the last step before now.
 */
export async function collectCharts(
  prom: Pick<PrometheusApi, 'queryRange'>,
  report: Pick<RunReport, 'scenarios' | 'falsePositives' | 'nearMisses'>,
  rules: { name: string; query: string }[],
  stepS: number,
): Promise<void> {
  if (!(stepS > 0)) throw new Error(`collectCharts needs the evaluation interval in seconds, got ${stepS}`);
  // A step after now would show the last sample carried forward (Prometheus' lookback), a value nobody measured.
  const lastStep = Math.floor(Date.now() / 1000 / stepS) * stepS;
  const untilNow = (r: { from: number; to: number }): { from: number; to: number } => ({ from: r.from, to: Math.max(r.from, Math.min(r.to, lastStep)) });
  const jobs: ChartJob[] = [];
  for (const sc of report.scenarios) {
    for (const a of sc.alerts) {
      const { from, to } = untilNow(alertRange(a, sc.endedAt, stepS));
      jobs.push({ alertname: a.alertname, service: a.service, from, to, marks: marksWithin(alertMarks(a), from, to), put: (c) => (a.chart = c) });
    }
  }
  for (const e of [...report.falsePositives, ...report.nearMisses]) {
    const { from, to } = untilNow(eventRange(e.at, stepS));
    jobs.push({ alertname: e.alertname, service: e.service, from, to, marks: marksWithin({ pending: unixS(e.at) }, from, to), put: (c) => (e.chart = c) });
  }
  const byName = new Map<string, string>();
  for (const r of rules) if (!byName.has(r.name)) byName.set(r.name, r.query);

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      job.put(await chartFor(prom, job, byName.get(job.alertname), stepS));
    }
  };
  await Promise.all(Array.from({ length: Math.min(QUERIES_IN_FLIGHT, jobs.length) }, worker));
}

async function chartFor(prom: Pick<PrometheusApi, 'queryRange'>, job: ChartJob, ruleExpr: string | undefined, stepS: number): Promise<ExprChart> {
  const base = { stepS, from: job.from, to: job.to, marks: job.marks };
  if (ruleExpr === undefined) return { ...base, expr: '', series: [], error: `no rule named ${job.alertname} among the rules the run loaded` };
  let q: ChartQuery;
  try {
    q = chartQuery(ruleExpr);
  } catch (err) {
    return { ...base, expr: ruleExpr, series: [], error: message(err) };
  }
  try {
    const result = await prom.queryRange(q.expr, job.from, job.to, stepS);
    const series = chartSeries(result, job.service);
    if (series.length === 0 && result.length > 0) return { ...base, ...q, series, error: `none of the ${result.length} series has service="${job.service}"` };
    return { ...base, ...q, series };
  } catch (err) {
    return { ...base, ...q, series: [], error: message(err) };
  }
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
