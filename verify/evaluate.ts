// Turns what was observed (alert episodes, notifications) and what was done (scenario windows) into verdicts:
// per expected alert, false positives, per-rule pass/fail, and the four alert-quality measures.
import type { AlertOutcome, FalsePositive, HeartbeatOutcome, HeartbeatReport, QualityMeasures, RuleVerdict, ScenarioOutcome, Verdict } from './results.ts';
import type { Delivery } from './scenario.ts';
import { median } from './results.ts';
import type { Episode } from './timeline.ts';

export interface ExpectedAlert {
  alertname: string;
  service?: string;
}

/** "AlertName" or "AlertName/service". */
export function parseExpected(s: string): ExpectedAlert {
  const [alertname, service] = s.split('/');
  if (!alertname || !/^[A-Za-z][A-Za-z0-9_]*$/.test(alertname)) throw new Error(`bad alert reference "${s}": expected AlertName or AlertName/service`);
  return service ? { alertname, service } : { alertname };
}

export const formatExpected = (e: ExpectedAlert): string => (e.service ? `${e.alertname}/${e.service}` : e.alertname);

export interface ScenarioWindow {
  id: string;
  description: string;
  wave: number;
  injectedAt: number;
  recoveredAt?: number;
  endedAt: number;
  expect: ExpectedAlert[];
  mayAlsoFire: ExpectedAlert[];
  /** How each expected alert's delivery is judged, by formatExpected; "during" when absent. */
  delivery?: Readonly<Record<string, Delivery>>;
  /** The dead man's switch must alarm during this scenario. */
  heartbeatStops?: boolean;
  /** An alarm of the dead man's switch during this scenario is explained (heartbeat: may-stop). */
  heartbeatMayStop?: boolean;
  deadlineS: number;
  resetS: number;
  error?: string;
  /** First evaluation (ms) at which each expected alert's expression held, keyed by formatExpected. */
  firstBadSample?: Record<string, number>;
}

export interface Evaluation {
  scenarios: ScenarioOutcome[];
  falsePositives: FalsePositive[];
  /** Unexplained alerts that went pending but never fired (absorbed by `for`). */
  nearMisses: { alertname: string; service?: string; at: string }[];
  rules: RuleVerdict[];
  quality: QualityMeasures;
}

/** Whether an episode is the alert an expectation names (any service when it names none). */
export const matches = (e: ExpectedAlert, ep: Pick<Episode, 'alertname' | 'service'>): boolean => e.alertname === ep.alertname && (e.service === undefined || e.service === ep.service);
const secs = (from: number, to: number | undefined): number | undefined => (to === undefined ? undefined : Math.round((to - from) / 100) / 10);
const iso = (t: number): string => new Date(t).toISOString();

/** How an expected alert's delivery is judged in a scenario ("during" unless the matrix says otherwise). */
export const deliveryOf = (delivery: Readonly<Record<string, Delivery>> | undefined, exp: ExpectedAlert): Delivery => delivery?.[formatExpected(exp)] ?? 'during';

/** One stretch without heartbeats that the dead man's switch alarmed on (verify/deadman.ts). */
export interface HeartbeatGap {
  lastBeatAt: number;
  alarmedAt: number;
  resumedAt?: number;
}

/** What the judging needs beyond the observations: allowances and budgets (verify/judging.ts derives them). */
export interface JudgingArgs {
  /** How far an episode's activeAt may precede the fault and still be the fault's (ms). */
  skewMs: number;
  /** Each alert's own budget (static worst case plus allowance), seconds; an alert without one is held to the deadline only. */
  budgetS?: ReadonlyMap<string, number>;
  /** Alerts exempt from precision (the always-firing dead man's switch). */
  alwaysFiring: readonly string[];
}

function outcomeFor(w: ScenarioWindow, exp: ExpectedAlert, episodes: readonly Episode[], j: JudgingArgs): AlertOutcome {
  const skewMs = j.skewMs;
  const budgetS = j.budgetS?.get(exp.alertname);
  const base: Omit<AlertOutcome, 'verdict' | 'detail' | 'stages'> = {
    alertname: exp.alertname,
    service: exp.service,
    scenario: w.id,
    faultAt: iso(w.injectedAt),
    recoveredAt: w.recoveredAt === undefined ? undefined : iso(w.recoveredAt),
    deadlineS: w.deadlineS,
    ...(budgetS === undefined ? {} : { budgetS }),
    resetS: w.resetS,
  };
  const mine = episodes.filter((ep) => matches(exp, ep));
  const preexisting = mine.find((ep) => ep.activeAt < w.injectedAt - skewMs && (ep.endedAt === undefined || ep.endedAt > w.injectedAt));
  if (preexisting) {
    return { ...base, verdict: 'preexisting', detail: `already active since ${iso(preexisting.activeAt)}, before the fault`, stages: {} };
  }
  // The fault's episode: the first one in the window that was notified (a blip that cleared unnotified before it is not
  // what paged), else the first one at all.
  const inWindow = mine.filter((e) => e.activeAt >= w.injectedAt - skewMs && e.activeAt <= w.endedAt).sort((a, b) => a.activeAt - b.activeAt);
  const ep = inWindow.find((e) => e.notifiedAt !== undefined) ?? inWindow[0];
  const bad = w.firstBadSample?.[formatExpected(exp)];
  if (!ep) {
    return { ...base, verdict: 'missed', detail: 'never became pending', stages: { firstBadSampleS: secs(w.injectedAt, bad) } };
  }
  const recovered = w.recoveredAt;
  // The expectation may leave the service open; the alert's own label names it.
  if (base.service === undefined && ep.service) base.service = ep.service;
  const stages = {
    firstBadSampleS: secs(w.injectedAt, bad),
    pendingS: Math.max(0, secs(w.injectedAt, ep.activeAt) ?? 0),
    firingS: secs(w.injectedAt, ep.firingAt),
    notifiedS: secs(w.injectedAt, ep.notifiedAt),
    resolvedAfterRecoveryS: recovered === undefined ? undefined : secs(recovered, ep.endedAt),
    resolutionNotifiedAfterRecoveryS: recovered === undefined ? undefined : secs(recovered, ep.resolvedNotifiedAt),
  };
  const delivery = deliveryOf(w.delivery, exp);
  if (delivery !== 'during') return { ...base, delivery, ...undeliveredVerdict(w, ep, stages, delivery, budgetS), stages };
  let verdict: Verdict = 'pass';
  let detail = `notified ${stages.notifiedS}s after the fault`;
  if (stages.notifiedS === undefined) {
    verdict = 'missed';
    detail = stages.firingS === undefined ? `pending at ${stages.pendingS}s but never firing` : `firing at ${stages.firingS}s but no notification arrived`;
  } else if (stages.notifiedS > w.deadlineS) {
    verdict = 'late';
    detail = `notified ${stages.notifiedS}s after the fault, deadline ${w.deadlineS}s`;
  } else if (budgetS !== undefined && stages.notifiedS > budgetS) {
    // Inside the flat deadline but slower than the static model allows: the model or the alert is wrong.
    verdict = 'late';
    detail = `slower than its budget: ${stages.notifiedS} s > ${budgetS} s`;
  } else if (recovered !== undefined) {
    const resolved = stages.resolvedAfterRecoveryS;
    const resNotified = stages.resolutionNotifiedAfterRecoveryS;
    if (resolved === undefined || resolved > w.resetS) {
      verdict = 'not_resolved';
      detail = resolved === undefined ? `still active ${w.resetS}s after recovery` : `resolved ${resolved}s after recovery, budget ${w.resetS}s`;
    } else if (resNotified === undefined || resNotified > w.resetS) {
      verdict = 'not_resolved';
      detail = resNotified === undefined ? 'no resolution notification arrived' : `resolution notified ${resNotified}s after recovery, budget ${w.resetS}s`;
    }
  }
  return { ...base, verdict, detail, stages };
}

/**
 * An alert whose fault takes delivery away: judged on firing against the deadline and its budget (a notification's
 * worst case bounds its firing too), then, for "after-recovery", on the notification that must arrive once the fault is
 * undone, and on resolving within the reset budget.
 */
function undeliveredVerdict(w: ScenarioWindow, ep: Episode, stages: AlertOutcome['stages'], delivery: Exclude<Delivery, 'during'>, budgetS: number | undefined): { verdict: Verdict; detail: string } {
  const recovered = w.recoveredAt;
  if (stages.firingS === undefined) return { verdict: 'missed', detail: `pending at ${stages.pendingS}s but never firing` };
  if (stages.firingS > w.deadlineS) return { verdict: 'late', detail: `firing ${stages.firingS}s after the fault, deadline ${w.deadlineS}s` };
  if (budgetS !== undefined && stages.firingS > budgetS) return { verdict: 'late', detail: `firing slower than its budget: ${stages.firingS} s > ${budgetS} s` };
  if (delivery === 'after-recovery') {
    const after = recovered === undefined || ep.notifiedAt === undefined || ep.notifiedAt < recovered ? undefined : secs(recovered, ep.notifiedAt);
    stages.notifiedAfterRecoveryS = after;
    if (after === undefined) return { verdict: 'missed', detail: `firing at ${stages.firingS}s; not notified after the fault was undone` };
    if (after > w.resetS) return { verdict: 'late', detail: `notified ${after}s after recovery, budget ${w.resetS}s` };
  }
  const resolved = stages.resolvedAfterRecoveryS;
  if (recovered !== undefined && (resolved === undefined || resolved > w.resetS)) {
    return { verdict: 'not_resolved', detail: resolved === undefined ? `still active ${w.resetS}s after recovery` : `resolved ${resolved}s after recovery, budget ${w.resetS}s` };
  }
  const how = delivery === 'none' ? 'nothing can deliver it during this fault' : `delivered ${stages.notifiedAfterRecoveryS}s after recovery`;
  return { verdict: 'pass', detail: `firing ${stages.firingS}s after the fault; ${how}` };
}

/**
 * The dead man's switch per scenario that stops the heartbeat: alarmed within the deadline of the fault, heartbeat back
 * within the reset budget of recovery. An alarm no such scenario explains is a false alarm.
 */
export function judgeHeartbeat(windows: readonly ScenarioWindow[], gaps: readonly HeartbeatGap[], alarmAfterS: number, since = -Infinity): HeartbeatReport {
  const outcomes: HeartbeatOutcome[] = windows.filter((w) => w.heartbeatStops).map((w) => {
    const gap = gaps.find((g) => g.alarmedAt >= w.injectedAt && g.alarmedAt <= w.endedAt);
    const alarmS = gap ? secs(w.injectedAt, gap.alarmedAt) : undefined;
    const resumedS = gap?.resumedAt !== undefined && w.recoveredAt !== undefined ? secs(w.recoveredAt, gap.resumedAt) : undefined;
    const base = { scenario: w.id, deadlineS: w.deadlineS, resetS: w.resetS, alarmS, resumedAfterRecoveryS: resumedS };
    if (alarmS === undefined) return { ...base, verdict: 'missed' as const, detail: 'the dead man\'s switch never alarmed' };
    if (alarmS > w.deadlineS) return { ...base, verdict: 'late' as const, detail: `alarmed ${alarmS}s after the fault, deadline ${w.deadlineS}s` };
    if (resumedS === undefined || resumedS > w.resetS) return { ...base, verdict: 'not_resolved' as const, detail: resumedS === undefined ? 'no heartbeat after recovery' : `heartbeat back ${resumedS}s after recovery, budget ${w.resetS}s` };
    return { ...base, verdict: 'pass' as const, detail: `alarmed ${alarmS}s after the fault, heartbeat back ${resumedS}s after recovery` };
  });
  const falseAlarms = gaps
    .filter((g) => g.alarmedAt >= since && !windows.some((w) => (w.heartbeatStops || w.heartbeatMayStop) && g.alarmedAt >= w.injectedAt && g.alarmedAt <= (w.recoveredAt ?? w.endedAt) + w.resetS * 1000))
    .map((g) => ({ lastBeatAt: iso(g.lastBeatAt), alarmedAt: iso(g.alarmedAt), resumedAt: g.resumedAt === undefined ? undefined : iso(g.resumedAt) }));
  const passed = outcomes.every((o) => o.verdict === 'pass') && falseAlarms.length === 0;
  return { alarmAfterS, outcomes, falseAlarms, passed };
}

function explained(ep: Episode, windows: readonly ScenarioWindow[], skewMs: number): boolean {
  return windows.some((w) => {
    const until = (w.recoveredAt ?? w.endedAt) + w.resetS * 1000;
    const named = [...w.expect, ...w.mayAlsoFire].some((e) => matches(e, ep));
    return named && ep.activeAt >= w.injectedAt - skewMs && ep.activeAt <= until;
  });
}

/** Seconds from the fault to the alert's detection: its notification, or its firing where nothing could deliver it. */
export const detectedAt = (o: AlertOutcome): number | undefined => (o.delivery ? o.stages.firingS : o.stages.notifiedS);

/** The reason of a rule no scenario of the matrix expects. */
export const NO_SCENARIO = 'no scenario expects this alert (coverage)';

/**
 * The four alert-quality measures over expected-alert outcomes and the fired episodes (always-firing excluded), of which
 * falsePositives were unexplained. One place for evaluate and for merging shards' reports.
 */
export function qualityOf(outcomes: readonly AlertOutcome[], fired: number, falsePositives: number): QualityMeasures {
  const detected = outcomes.filter((o) => {
    const at = detectedAt(o);
    return at !== undefined && at <= o.deadlineS;
  });
  const detection = outcomes.flatMap((o) => (o.stages.notifiedS === undefined ? [] : [o.stages.notifiedS]));
  const reset = outcomes.flatMap((o) => (o.stages.resolvedAfterRecoveryS === undefined ? [] : [o.stages.resolvedAfterRecoveryS]));
  return {
    recall: outcomes.length ? detected.length / outcomes.length : 0,
    precision: fired ? (fired - falsePositives) / fired : 1,
    detectionMedianS: median(detection),
    detectionMaxS: detection.length ? Math.max(...detection) : undefined,
    resetMedianS: median(reset),
    resetMaxS: reset.length ? Math.max(...reset) : undefined,
    fired,
  };
}

export function evaluate(
  args: JudgingArgs & {
    windows: readonly ScenarioWindow[];
    episodes: readonly Episode[];
    control?: { start: number; end: number };
    ruleNames: readonly string[];
    /** Rules a scenario of another run expects (another shard, or a run without --only): no coverage gap here. */
    coveredElsewhere?: ReadonlySet<string>;
    /** Episodes over before this time (ms) are start-up transients, not judged. */
    since?: number;
  },
): Evaluation {
  const skewMs = args.skewMs;
  const always = new Set(args.alwaysFiring);
  const since = args.since ?? -Infinity;
  const scenarios: ScenarioOutcome[] = args.windows.map((w) => {
    const alerts = w.expect.map((exp) => outcomeFor(w, exp, args.episodes, args));
    const collateral = [
      ...new Set(
        args.episodes
          .filter((ep) => ep.activeAt >= w.injectedAt - skewMs && ep.activeAt <= w.endedAt && w.mayAlsoFire.some((m) => matches(m, ep)))
          .map((ep) => formatExpected({ alertname: ep.alertname, service: ep.service })),
      ),
    ];
    return {
      id: w.id,
      description: w.description,
      wave: w.wave,
      injectedAt: iso(w.injectedAt),
      recoveredAt: w.recoveredAt === undefined ? undefined : iso(w.recoveredAt),
      endedAt: iso(w.endedAt),
      error: w.error,
      alerts,
      collateral,
    };
  });

  // Precision is about alerts that fired: a condition that went pending and cleared within its `for` paged nobody,
  // which is what `for` is for. Pending-only episodes are still listed (nearMisses) for whoever tunes the rules.
  const judged = args.episodes.filter((ep) => !always.has(ep.alertname) && (ep.endedAt === undefined || ep.endedAt > since));
  const counted = judged.filter((ep) => ep.firingAt !== undefined);
  const nearMisses = judged
    .filter((ep) => ep.firingAt === undefined && !explained(ep, args.windows, skewMs))
    .map((ep) => ({ alertname: ep.alertname, service: ep.service, at: iso(ep.activeAt) }));
  const falsePositives: FalsePositive[] = counted
    .filter((ep) => !explained(ep, args.windows, skewMs))
    .map((ep) => {
      const inControl = args.control && ep.activeAt >= args.control.start && ep.activeAt <= args.control.end;
      const wave = args.windows.find((w) => ep.activeAt >= w.injectedAt && ep.activeAt <= w.endedAt)?.wave;
      return {
        alertname: ep.alertname,
        service: ep.service,
        during: inControl ? 'control' : wave !== undefined ? `wave ${wave}` : 'between scenarios',
        at: iso(ep.activeAt),
        state: ep.firingAt === undefined ? ('pending' as const) : ('firing' as const),
      };
    });

  const outcomes = scenarios.flatMap((s) => s.alerts);
  const rules: RuleVerdict[] = args.ruleNames.map((name) => {
    const mine = outcomes.filter((o) => o.alertname === name);
    const reasons: string[] = [];
    if (mine.length === 0 && !args.coveredElsewhere?.has(name)) reasons.push(NO_SCENARIO);
    for (const o of mine) if (o.verdict !== 'pass') reasons.push(`${o.scenario}${o.service ? ` [${o.service}]` : ''}: ${o.verdict} (${o.detail})`);
    for (const fp of falsePositives) if (fp.alertname === name) reasons.push(`fired without its fault (${fp.state} at ${fp.at}, ${fp.during})`);
    return { alertname: name, passed: reasons.length === 0, reasons };
  });

  const quality = qualityOf(outcomes, counted.length, falsePositives.length);
  return { scenarios, falsePositives, nearMisses, rules, quality };
}
