// Types and small helpers shared by the alert catalogue, the generator and the budget check.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';

export const ALERTS_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT_DIR = path.resolve(ALERTS_DIR, '..');

export type Severity = 'critical' | 'high' | 'medium' | 'low';
export type Category = 'service-health' | 'trading' | 'data-quality' | 'performance' | 'alerting';
export const CATEGORIES: readonly Category[] = ['service-health', 'trading', 'data-quality', 'performance', 'alerting'];

export type DashboardKey = 'trading' | 'health' | 'performance' | 'alerting';
export const DASHBOARDS: Record<DashboardKey, { uid: string; title: string }> = {
  trading: { uid: 'alertproof-trading', title: 'Trading Overview' },
  health: { uid: 'alertproof-health', title: 'Service Health' },
  performance: { uid: 'alertproof-performance', title: 'Performance' },
  alerting: { uid: 'alertproof-alerting', title: 'Alerting Pipeline' },
};

/** One alert's tunable numbers from alerts/thresholds.yaml. */
export interface Tuning {
  for: string;
  window?: string;
  threshold?: number;
  minRate?: number;
}

const durationRe = /^(\d+)(ms|s|m|h)$/;
const tuningSchema = z.record(
  z
    .object({
      for: z.string().regex(durationRe, 'a Prometheus duration like "10s"'),
      window: z.string().regex(durationRe, 'a Prometheus duration like "20s"').optional(),
      threshold: z.number().nonnegative().optional(),
      minRate: z.number().positive().optional(),
    })
    .strict(),
);

export function loadThresholds(file = path.join(ALERTS_DIR, 'thresholds.yaml')): Record<string, Tuning> {
  const parsed = tuningSchema.safeParse(parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join('.')}: ${issue.message}; fix the entry and regenerate`);
  }
  return parsed.data;
}

/** Seconds in a Prometheus duration ("500ms", "20s", "1m", "1h"). */
export function seconds(duration: string): number {
  const m = durationRe.exec(duration.trim());
  if (!m) throw new Error(`"${duration}" is not a Prometheus duration like "20s" or "1m"`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 's' ? n : m[2] === 'm' ? n * 60 : n * 3600;
}

export interface SeriesInput {
  series: string;
  values: string;
}

export interface ExpectedAlert {
  /** Labels the expression itself yields (the rule's static labels are added by the generator). */
  labels: Record<string, string>;
  /**
   * The alert's $value at the checked time; the generator renders the description with it. A function gets the check
   * time in seconds after the fault (from the budget), for values that are still growing then (a single-event count).
   */
  value: number | ((checkAfterFaultS: number) => number);
}

/** A firing case: the fault starts at faultAtS in the series; the check time comes from the budget. */
export interface FiringCase {
  name: string;
  series: SeriesInput[];
  faultAtS: number;
  expect: ExpectedAlert[];
}

/** A quiet case: no alert at any of the given evaluation times. */
export interface QuietCase {
  name: string;
  series: SeriesInput[];
  evalAtS: number[];
}

export interface Runbook {
  meaning: string;
  impact: string;
  diagnosis: string[];
  mitigation: string[];
  /** Why the expression has the shape it has (absence gates, windows chosen for the 60 s budget). */
  design?: string;
}

export type ThresholdUnit = 'ratio' | 'count' | 'seconds';

export interface AlertDef {
  name: string;
  category: Category;
  severity: Severity;
  service: string;
  /** The service whose own Down alert explains this one (Alertmanager inhibits on it). */
  dependency?: string;
  panel: { dashboard: DashboardKey; id: number };
  expr(t: Tuning): string;
  /**
   * What the rule's `threshold` (alerts/thresholds.yaml) measures, for rules that compare one: a share of events
   * (0..1), a count of events or items, or seconds. The mutation check keeps its mutants inside this range.
   */
  thresholdUnit?: ThresholdUnit;
  /** Seconds from the fault until the service's own metric can show it (probe period, the slow request itself). */
  sourceDelayS(t: Tuning): number;
  /**
   * True when one event crosses the threshold (an increase() > 0): the sample before the event is already in the
   * window, so the first bad sample fires it and the budget counts no window fill.
   */
  singleEvent?: boolean;
  summary: string;
  /** Go template; may use {{ $value }} (integer values) or {{ printf "%.2f" $value }}, and {{ $labels.<name> }}. */
  description: string;
  runbook: Runbook;
  /**
   * True for an alert that fires all the time (the Watchdog, a dead man's switch): it has no quiet case, has its own
   * Alertmanager route, is never inhibited, and the harness judges it from rule load instead of from a fault.
   */
  alwaysFiring?: boolean;
  /**
   * True for a service's `*Down` alert (its target is not scraped). While it fires, Alertmanager inhibits the other
   * alerts of that service (same `service` label) and every alert naming the service as its `dependency`; the
   * inhibit rules of alerts/alertmanager.yml are generated from these.
   */
  serviceDown?: boolean;
  firing(t: Tuning): FiringCase[];
  quiet(t: Tuning): QuietCase[];
}

/** The range window an alert needs, with a message naming the file when it is missing. */
export function windowOf(t: Tuning, alert: string): string {
  if (t.window === undefined) throw new Error(`alerts/thresholds.yaml: ${alert} needs "window"; add it and regenerate`);
  return t.window;
}

/** A numeric tuning field an alert needs, with a message naming the file when it is missing. */
export function numberOf(t: Tuning, field: 'threshold' | 'minRate', alert: string): number {
  const v = t[field];
  if (v === undefined) throw new Error(`alerts/thresholds.yaml: ${alert} needs "${field}"; add it and regenerate`);
  return v;
}

/** The scrape job names of a Prometheus config (alerts/prometheus.yml by default), in file order. */
export function scrapeJobs(file = path.join(ALERTS_DIR, 'prometheus.yml')): string[] {
  const doc = parse(fs.readFileSync(file, 'utf8')) as { scrape_configs?: Array<{ job_name?: unknown }> } | null;
  const jobs = (doc?.scrape_configs ?? []).map((j) => j.job_name);
  if (jobs.length === 0 || jobs.some((j) => typeof j !== 'string')) throw new Error(`${file}: scrape_configs must list jobs, each with a job_name`);
  return jobs as string[];
}

/** The global scrape interval of alerts/prometheus.yml, seconds (Prometheus' default 1 m when unset). */
export function scrapeIntervalS(file = path.join(ALERTS_DIR, 'prometheus.yml')): number {
  const doc = parse(fs.readFileSync(file, 'utf8')) as { global?: { scrape_interval?: string } } | null;
  return seconds(doc?.global?.scrape_interval ?? '1m');
}
