// Turns what was observed (alert episodes, notifications) and what was done (scenario windows) into verdicts:
// per expected alert, false positives, per-rule pass/fail, and the four alert-quality measures.
import type { AlertOutcome, FalsePositive, QualityMeasures, RuleVerdict, ScenarioOutcome, Verdict } from './results.ts';
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

function explained(ep: Episode, windows: readonly ScenarioWindow[], skewMs: number): boolean {
  return windows.some((w) => {
    const until = (w.recoveredAt ?? w.endedAt) + w.resetS * 1000;
    const named = [...w.expect, ...w.mayAlsoFire].some((e) => matches(e, ep));
    return named && ep.activeAt >= w.injectedAt - skewMs && ep.activeAt <= until;
  });
}

export function evaluate(
  args: JudgingArgs & {
    windows: readonly ScenarioWindow[];
    episodes: readonly Episode[];
    control?: { start: number; end: number };
    ruleNames: readonly string[];
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
    if (mine.length === 0) reasons.push('no scenario expects this alert (coverage)');
    for (const o of mine) if (o.verdict !== 'pass') reasons.push(`${o.scenario}${o.service ? ` [${o.service}]` : ''}: ${o.verdict} (${o.detail})`);
    for (const fp of falsePositives) if (fp.alertname === name) reasons.push(`fired without its fault (${fp.state} at ${fp.at}, ${fp.during})`);
    return { alertname: name, passed: reasons.length === 0, reasons };
  });

  const detected = outcomes.filter((o) => o.stages.notifiedS !== undefined && o.stages.notifiedS <= o.deadlineS);
  const detection = outcomes.flatMap((o) => (o.stages.notifiedS === undefined ? [] : [o.stages.notifiedS]));
  const reset = outcomes.flatMap((o) => (o.stages.resolvedAfterRecoveryS === undefined ? [] : [o.stages.resolvedAfterRecoveryS]));
  const quality: QualityMeasures = {
    recall: outcomes.length ? detected.length / outcomes.length : 0,
    precision: counted.length ? (counted.length - falsePositives.length) / counted.length : 1,
    detectionMedianS: median(detection),
    detectionMaxS: detection.length ? Math.max(...detection) : undefined,
    resetMedianS: median(reset),
    resetMaxS: reset.length ? Math.max(...reset) : undefined,
  };
  return { scenarios, falsePositives, nearMisses, rules, quality };
}
