// The shape of one verify-alerts run: per-alert stage times, per-scenario outcomes, and the derived quality measures.
import type { StageTiming } from './stages.ts';

/** Seconds since the fault was injected for each stage an alert went through (undefined = never reached). */
export interface AlertStages {
  firstBadSampleS?: number;
  pendingS?: number;
  firingS?: number;
  notifiedS?: number;
  /** Seconds from recovery (fault removed) to the alert leaving Prometheus' active set. */
  resolvedAfterRecoveryS?: number;
  /** Seconds from recovery to the resolution notification reaching the webhook. */
  resolutionNotifiedAfterRecoveryS?: number;
  /** For an alert delivered once the fault is undone: seconds from recovery to its firing notification. */
  notifiedAfterRecoveryS?: number;
}

export type Verdict = 'pass' | 'late' | 'missed' | 'not_resolved' | 'false_positive' | 'no_scenario' | 'preexisting';

export interface AlertOutcome {
  alertname: string;
  /** The service label the expectation named, if any. */
  service?: string;
  scenario: string;
  verdict: Verdict;
  detail: string;
  faultAt: string;
  recoveredAt?: string;
  stages: AlertStages;
  /** How delivery was judged when not "during" the fault (verify/scenario.ts Delivery). */
  delivery?: 'after-recovery' | 'none';
  deadlineS: number;
  /** The alert's own budget: its static worst case (alerts/alerts.json) plus the stated poll allowance. */
  budgetS?: number;
  resetS: number;
  /** Whether the dashboard panel the alert links to showed the fault (its value before vs. while firing). */
  panel?: { where: string; changed: boolean; error?: string };
  /** Why it fired, as data: the rule's compared value around the fault (drawn by the HTML report). */
  chart?: ExprChart;
}

/**
 * One alert's rule expression around an event, as a range query at the evaluation interval recorded while the stack
 * ran: the value the rule compares (left of its comparison, verify/charts.ts), its threshold, and the stage marks.
 */
export interface ExprChart {
  /** The expression whose value is drawn (the whole rule expression when it has no numeric comparison). */
  expr: string;
  /** The comparison the rule makes, when it has one: `value op threshold`. */
  op?: string;
  threshold?: number;
  stepS: number;
  /** Unix seconds. */
  from: number;
  to: number;
  /** One line per series; points are [unix s, value]. */
  series: { labels: Record<string, string>; points: [number, number][] }[];
  /** Unix seconds of each stage that happened inside the chart's range. */
  marks: Partial<Record<'fault' | 'pending' | 'firing' | 'notified' | 'recovered' | 'resolved', number>>;
  /** Why the chart has no data (the query failed), when it has none. */
  error?: string;
}

export interface FalsePositive {
  alertname: string;
  service?: string;
  /** "control" for the baseline window, else the wave during which it fired without a fault naming it. */
  during: string;
  at: string;
  state: 'pending' | 'firing';
  chart?: ExprChart;
}

export interface ScenarioOutcome {
  id: string;
  description: string;
  wave: number;
  injectedAt: string;
  recoveredAt?: string;
  endedAt: string;
  error?: string;
  alerts: AlertOutcome[];
  collateral: string[];
}

export interface QualityMeasures {
  /** Expected alerts that fired within the deadline / expected alerts. */
  recall: number;
  /** Alert episodes explained by a fault / all alert episodes (always-firing alerts excluded). */
  precision: number;
  detectionMedianS?: number;
  detectionMaxS?: number;
  resetMedianS?: number;
  resetMaxS?: number;
  /** Alert episodes that fired (always-firing alerts excluded): what precision is a share of, kept so shards can be merged. */
  fired?: number;
}

/** The dead man's switch in one fault scenario that stops the heartbeat. */
export interface HeartbeatOutcome {
  scenario: string;
  verdict: Exclude<Verdict, 'false_positive' | 'no_scenario' | 'preexisting'>;
  detail: string;
  /** Seconds from the fault to the alarm. */
  alarmS?: number;
  /** Seconds from recovery to the next heartbeat. */
  resumedAfterRecoveryS?: number;
  deadlineS: number;
  resetS: number;
}

export interface HeartbeatReport {
  /** The switch alarms after this long without a heartbeat (from the Alertmanager route, verify/heartbeat-policy.ts). */
  alarmAfterS: number;
  outcomes: HeartbeatOutcome[];
  /** Alarms outside every scenario that stops the heartbeat. */
  falseAlarms: { lastBeatAt: string; alarmedAt: string; resumedAt?: string }[];
  passed: boolean;
}

export interface RuleVerdict {
  alertname: string;
  passed: boolean;
  reasons: string[];
}

export interface RunReport {
  runId: string;
  startedAt: string;
  finishedAt: string;
  wallS: number;
  repeat: number;
  options: Record<string, unknown>;
  /** The versions judged: Prometheus (buildinfo) and Alertmanager (status); absent in reports from before they were recorded. */
  versions?: { prometheus: string; alertmanager?: string };
  preflight: { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] };
  control: { durationS: number; falsePositives: FalsePositive[] };
  scenarios: ScenarioOutcome[];
  falsePositives: FalsePositive[];
  /** Unexplained alerts that went pending but never fired (absorbed by their `for`); not failures. */
  nearMisses: { alertname: string; service?: string; at: string; chart?: ExprChart }[];
  rules: RuleVerdict[];
  quality: QualityMeasures;
  /** The dead man's switch's verdicts; absent when no heartbeat reached the harness (notifications polled) or in older reports. */
  heartbeat?: HeartbeatReport;
  load?: unknown;
  /** Every dashboard query run against the loaded stack: parses, and returns data where data is expected. */
  dashboards?: { queries: number; failures: { where: string; promql: string; error: string }[]; notes: string[] };
  /** Services that exited on their own during the run (verify/crash-watch.ts); each one counts as a failure. */
  crashes?: { service: string; code: number; at: string; detail: string; tail: string }[];
  /** Wall time of each stage of the run, in order (verify/stages.ts); absent in older reports. */
  stages?: StageTiming[];
  /** This run was one part of a sharded matrix (verify/shard-plan.ts): which part, of which plan. */
  shard?: { index: number; total: number; plan: string; waves: number[] };
  /** A merged report (verify/report/merge.ts): each shard's run. */
  shards?: { index: number; runId: string; wallS: number; waves: number[]; stages: StageTiming[] }[];
  /** Rules passed. */
  passed: number;
  /** Rules failed plus crashes and scenarios that errored, plus one when the dead man's switch failed (failedOf). */
  failed: number;
}

/** What fails a run: each failed rule, each crash, each fault scenario that errored, and a failed dead man's switch. */
export function failedOf(r: Pick<RunReport, 'rules' | 'crashes' | 'scenarios' | 'heartbeat'>): number {
  return r.rules.filter((x) => !x.passed).length + (r.crashes?.length ?? 0) + r.scenarios.filter((s) => s.error).length + (r.heartbeat && !r.heartbeat.passed ? 1 : 0);
}

/** A run's id from its start time: the ISO time with ':' and '.' made '-', fit for a folder name and a label value. */
export const runIdAt = (t: number | Date): string => new Date(t).toISOString().replace(/[:.]/g, '-');

export function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1]! + s[mid]!) / 2;
}
