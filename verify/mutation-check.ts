// The mutation check (`verify-alerts --mutate`): the harness runs the rules with their mutants beside them, and each
// mutant is judged caught, survived or equivalent, with the measured reason; reports/mutation-<id>/mutation.{md,json}.
import fs from 'node:fs';
import path from 'node:path';
import { formatExpected, parseExpected, type ScenarioWindow } from './evaluate.ts';
import { runVerifyAlerts, type VerifyOptions } from './harness.ts';
import { runSharded, shardsFor } from './sharded-run.ts';
import { createReporters, REPORTER_NAMES } from './report/reporter.ts';
import { KIND_DESCRIPTIONS, MUTATION_KINDS, STAGE_OF, addMutants, planMutants, type Mutant, type MutationKind, type NotMutated, type Stage } from './mutate.ts';
import type { PrometheusApi, RuleGroup } from './prometheus-api.ts';
import { runIdAt, type AlertOutcome, type RunReport } from './results.ts';
import type { FaultScenario } from './scenario.ts';

/**
 * Control window of the baseline stage, where noise mutants must show on the healthy loaded stack. The baseline
 * crosses a tenth of a threshold only in rare excursions: in a 600 s measuring run the two noise mutants it triggered
 * first fired 99 s and 302 s into the window (300 s would have missed one). 600 s, twenty times the longest rule
 * window, observed as BASELINE_STACKS stacks at once, each for its share.
 */
export const BASELINE_CONTROL_S = 600;
/** Stacks the baseline stage runs on at once, each for its share of BASELINE_CONTROL_S. */
export const BASELINE_STACKS = 3;
/** The matrix stage catches nothing in its control window; it only has to be quiet enough to start from. */
export const MATRIX_CONTROL_S = 20;
/** A ratio at or above this has every event bad: the fault cannot tell one in-range threshold from another. */
const SATURATED = 0.999;

export type MutantVerdict = 'caught' | 'survived' | 'equivalent';

export interface MutantResult {
  name: string;
  alert: string;
  kind: MutationKind;
  change: string;
  verdict: MutantVerdict;
  reason: string;
  /**
   * A survivor whose measured reason is not a gap of the harness: a noise mutant the baseline drove over its threshold
   * for less than its `for` (pending, never paging, as the original would not page either). Only unexplained survivors
   * fail the check.
   */
  explained?: boolean;
  /** The run could not judge it: the unmutated rule fired on the baseline too (an unexplained survivor unless another stack judged it). */
  inconclusive?: boolean;
  /** Seconds into the control window at which a noise mutant first fired (negative: already during warm-up). */
  firedAtS?: number;
}

export interface MutationRun {
  stage: Stage;
  /** The stacks the run was sharded over, when more than one. */
  shards?: number;
  kinds: MutationKind[];
  mutants: number;
  controlS: number;
  wallS: number;
  reportDir: string;
}

export interface MutationReport {
  id: string;
  startedAt: string;
  wallS: number;
  /** The Prometheus and Alertmanager the runs judged (from their reports). */
  versions?: RunReport['versions'];
  kinds: MutationKind[];
  runs: MutationRun[];
  results: MutantResult[];
  notMutated: NotMutated[];
  totals: Partial<Record<MutationKind, { caught: number; survived: number; unexplained: number; equivalent: number; notMutated: number }>>;
  /** Mutants caught. */
  passed: number;
  /** Mutants that survived with no explanation measured: the check fails on any. */
  failed: number;
}

export interface MutationCheckOptions {
  base: VerifyOptions;
  kinds: MutationKind[];
  /** Overrides the control window of both stages (--control); the baseline stage's is shared by its stacks. */
  controlS?: number;
  /** Stacks the matrix stage is sharded over at most (verify/sharded-run.ts). */
  shards: number;
  log: (line: string) => void;
}

/** Scenarios that expect (or may also fire) an alert now expect (or may also fire) its mutants too, judged on delivery alike. */
export function withMutantExpectations(scenarios: readonly FaultScenario[], mutants: readonly Mutant[]): FaultScenario[] {
  const byAlert = new Map<string, Mutant[]>();
  for (const m of mutants) byAlert.set(m.alert, [...(byAlert.get(m.alert) ?? []), m]);
  const extend = (refs: readonly string[]): string[] =>
    refs.flatMap((ref) => {
      const e = parseExpected(ref);
      return [ref, ...(byAlert.get(e.alertname) ?? []).map((m) => formatExpected({ alertname: m.name, service: e.service }))];
    });
  // A mutant is judged on delivery as its rule is (a dead Alertmanager delivers neither).
  const delivery = (d: FaultScenario['delivery']): FaultScenario['delivery'] =>
    Object.fromEntries(Object.entries(d).flatMap(([ref, mode]) => extend([ref]).map((r) => [r, mode])));
  return scenarios.map((s) => ({ ...s, expect: extend(s.expect), mayAlsoFire: extend(s.mayAlsoFire), delivery: delivery(s.delivery) }));
}

/** What a mutant's measured value is called in a reason. */
const quantityWords = (m: Mutant): string => (m.quantity?.unit === 'ratio' ? 'its ratio' : m.quantity?.unit === 'seconds' ? 'its latency (s)' : 'its count');
const fmt = (v: number | undefined): string => (v === undefined ? 'no value' : String(Number(v.toPrecision(3))));

/**
 * The failure the kind's mutation causes, and no other: a label no series has selects nothing (never pending); a `for`
 * past the budget holds the alert pending; a less sensitive threshold pages late or not at. A firing alert that
 * Alertmanager did not deliver is none of these.
 */
function catches(kind: MutationKind, a: AlertOutcome): boolean {
  if (kind === 'label') return a.verdict === 'missed' && a.detail === 'never became pending';
  if (kind === 'for') return (a.verdict === 'missed' && /^pending at .* but never firing$/.test(a.detail)) || a.verdict === 'late';
  return (a.verdict === 'missed' && !/no notification arrived/.test(a.detail)) || a.verdict === 'late';
}

/** Judges a matrix-stage mutant from its run's report; undefined when no scenario of the run expected it. */
export function judgeMatrixMutant(m: Mutant, report: RunReport, peaks: ReadonlyMap<string, number | undefined>): MutantResult | undefined {
  const pairs = report.scenarios.flatMap((s) =>
    s.alerts
      .filter((a) => a.alertname === m.name)
      .map((a) => ({ scenario: s.id, mutant: a, original: s.alerts.find((o) => o.alertname === m.alert && (a.service === undefined || o.service === undefined || o.service === a.service)) })),
  );
  if (pairs.length === 0) return undefined;
  const base = { name: m.name, alert: m.alert, kind: m.kind, change: m.change };
  const caught = pairs.filter((p) => catches(m.kind, p.mutant) && p.original?.verdict === 'pass');
  if (caught.length) return { ...base, verdict: 'caught', reason: caught.map((p) => `${p.scenario}: ${p.mutant.verdict} (${p.mutant.detail}) where the rule passed`).join('; ') };
  const passedIn = pairs.filter((p) => p.mutant.verdict === 'pass');
  if (m.kind === 'threshold' && m.quantity?.unit === 'ratio' && passedIn.length === pairs.length && passedIn.every((p) => (peaks.get(p.scenario) ?? 0) >= SATURATED)) {
    return {
      ...base,
      verdict: 'equivalent',
      reason: `on this matrix: ${passedIn.map((p) => `${p.scenario} drives the ratio to ${fmt(peaks.get(p.scenario))}`).join(', ')}, i.e. every event bad, which any threshold below 1 crosses within the window the budget allows; only a fault failing a bounded share can tell ${m.quantity.original} from ${m.quantity.threshold}`,
    };
  }
  const why = pairs.map((p) => {
    const peak = peaks.has(p.scenario) ? `; ${quantityWords(m)} peaked at ${fmt(peaks.get(p.scenario))}, mutant threshold ${m.quantity!.threshold}` : '';
    const original = p.original && p.original.verdict !== 'pass' ? `; the rule itself: ${p.original.verdict} (${p.original.detail})` : '';
    return `${p.scenario}: ${p.mutant.verdict} (${p.mutant.detail})${peak}${original}`;
  });
  return { ...base, verdict: 'survived', reason: why.join('; ') };
}

/** Judges a baseline-stage mutant (noise, metric) from its run's report and the peak measured in the control window. */
export function judgeBaselineMutant(m: Mutant, report: RunReport, peak: number | undefined, control: { start: number; end: number }): MutantResult {
  const base = { name: m.name, alert: m.alert, kind: m.kind, change: m.change };
  if (m.kind === 'metric') {
    const reasons = report.rules.find((r) => r.alertname === m.name)?.reasons ?? [];
    const hit = reasons.find((r) => /references metrics no service exposes/.test(r));
    return hit ? { ...base, verdict: 'caught', reason: `pre-flight: ${hit}` } : { ...base, verdict: 'survived', reason: `pre-flight did not flag it: ${reasons.join('; ') || 'passed'}` };
  }
  const controlS = Math.round((control.end - control.start) / 1000);
  const fp = report.falsePositives.find((f) => f.alertname === m.name);
  const originalFp = report.falsePositives.find((f) => f.alertname === m.alert);
  if (fp && !originalFp) {
    const firedAtS = Math.round((Date.parse(fp.at) - control.start) / 100) / 10;
    return { ...base, verdict: 'caught', reason: `fired without a fault ${firedAtS >= 0 ? `${firedAtS} s into the control window` : `during warm-up, ${-firedAtS} s before the control window`}, still active in it`, firedAtS };
  }
  if (fp) return { ...base, verdict: 'survived', inconclusive: true, reason: `inconclusive: the unmutated rule fired on the baseline too (${originalFp!.at})` };
  const peakText = `${quantityWords(m)} peaked at ${fmt(peak)} in ${controlS} s of baseline, mutant threshold ${m.quantity?.threshold}`;
  const near = report.nearMisses.find((n) => n.alertname === m.name);
  if (near) return { ...base, verdict: 'survived', explained: true, reason: `pending at ${near.at} but cleared within its for (${m.for}): the baseline reached it, too briefly to page; ${peakText}` };
  if (peak !== undefined && peak > (m.quantity?.threshold ?? Infinity)) return { ...base, verdict: 'survived', reason: `never pending although ${peakText}` };
  return { ...base, verdict: 'equivalent', reason: `on this load: never held; ${peakText}` };
}

interface StageResult {
  run: MutationRun;
  report: RunReport;
  results: MutantResult[];
}

/**
 * How strongly a verdict says the harness fails a broken rule: caught beats an unexplained survivor, which beats the
 * rest; a stack where the unmutated rule fired too could judge nothing, so any other stack's verdict beats it.
 */
const STRENGTH = (r: MutantResult): number => (r.inconclusive ? 4 : r.verdict === 'caught' ? 0 : r.verdict === 'survived' && !r.explained ? 1 : r.verdict === 'survived' ? 2 : 3);

/** One verdict per mutant over runs that each judged it (the baseline's stacks): the strongest, naming its run when several. */
export function strongestVerdicts(perRun: readonly MutantResult[][]): MutantResult[] {
  if (perRun.length === 1) return [...perRun[0]!];
  const best = new Map<string, MutantResult>();
  perRun.forEach((results, i) => {
    for (const r of results) {
      const tagged = { ...r, reason: `stack ${i + 1}/${perRun.length}: ${r.reason}` };
      const held = best.get(r.name);
      if (!held || STRENGTH(tagged) < STRENGTH(held)) best.set(r.name, tagged);
    }
  });
  return [...best.values()];
}

/** The first evaluation at or after fromMs of a group evaluated every intervalS on the phase of lastMs (epoch ms). */
export function firstEvaluationFrom(lastMs: number, intervalS: number, fromMs: number): number {
  const stepMs = intervalS * 1000;
  return lastMs - Math.floor((lastMs - fromMs) / stepMs) * stepMs;
}

/**
 * Peak of a mutant's quantity over [from, to] as its rule saw it: at the instants its rule group was evaluated, not at
 * instants of the query's choosing. A p95 over a short window jumps between two evaluations, so a peak sampled off the
 * rule's schedule can cross a threshold the rule never saw crossed (measured: 0.0525 against a noise mutant's 0.05,
 * the rule never pending). Prometheus evaluates a group every interval from a fixed phase; its lastEvaluation (when
 * the last one began, a few ms after its scheduled instant) gives the phase. Undefined where there is no value (no
 * events, NaN), or when the rule is not loaded.
 */
async function peakOf(prom: PrometheusApi, groups: readonly RuleGroup[], rule: string, expr: string, from: number, to: number): Promise<number | undefined> {
  const group = groups.find((g) => g.rules.some((r) => r.name === rule));
  if (!group || group.lastEvaluation.startsWith('0001')) return undefined;
  const start = firstEvaluationFrom(Date.parse(group.lastEvaluation), group.interval, from);
  if (start > to) return undefined;
  const series = await prom.queryRange(expr, new Date(start), new Date(to), group.interval);
  const values = series.flatMap((s) => s.values.map(([, v]) => Number(v))).filter((v) => Number.isFinite(v));
  return values.length ? Math.max(...values) : undefined;
}

export async function runMutationCheck(opts: MutationCheckOptions): Promise<MutationReport> {
  const started = Date.now();
  const id = runIdAt(started);
  const kinds = MUTATION_KINDS.filter((k) => opts.kinds.includes(k));
  const { mutants, notMutated } = planMutants(kinds);
  const results: MutantResult[] = mutants.filter((m) => m.equivalent).map((m) => ({ name: m.name, alert: m.alert, kind: m.kind, change: m.change, verdict: 'equivalent' as const, reason: m.equivalent! }));
  const runs: MutationRun[] = [];
  let versions: RunReport['versions'];

  // One stage after the other: the baseline stage judges noise on healthy stacks, and a matrix stack beside them is
  // not noise-free (measured: one shard's restart of five services at once made the unmutated SlowOrderPlacement fire
  // on both baseline stacks, 1 s apart). The matrix stage is sharded; the baseline stage runs on BASELINE_STACKS stacks
  // at once that share its control window (the noise a mutant must show is rare excursions of the baseline, so what
  // counts is the stack-seconds of baseline observed, not one stack's uninterrupted stretch).
  const runStage = async (stage: Stage): Promise<StageResult[]> => {
    const mine = mutants.filter((m) => STAGE_OF[m.kind] === stage && !m.equivalent);
    if (mine.length === 0) return [];
    const stageKinds = kinds.filter((k) => STAGE_OF[k] === stage);
    const totalControlS = opts.controlS ?? (stage === 'baseline' ? BASELINE_CONTROL_S : MATRIX_CONTROL_S);
    const stacks = stage === 'baseline' ? BASELINE_STACKS : 1;
    const controlS = Math.ceil(totalControlS / stacks);
    opts.log(`\nmutation ${stageKinds.join(', ')}: ${mine.length} mutants beside the rules, ${stage === 'matrix' ? 'caught in the fault matrix' : `caught on the healthy baseline (pre-flight, ${stacks} stacks x ${controlS} s control window)`}`);
    const runOne = async (tag: string): Promise<StageResult> => {
      const peaks = new Map<string, Map<string, number | undefined>>();
      let control = { start: 0, end: 0 };
      const t0 = Date.now();
      const log = (l: string): void => opts.log(l.replace(/^/gm, `[${tag}] `));
      const scenarios = stage === 'matrix' ? withMutantExpectations(opts.base.scenarios, mine) : opts.base.scenarios;
      const run: VerifyOptions = {
        ...opts.base,
        scenarios,
        repeat: 1,
        keep: false,
        controlS,
        log,
        // Each run's lines marked with its stage, through the check's own log.
        reporters: createReporters(REPORTER_NAMES, { write: log }),
        mutateRules: (dir) => addMutants(dir, mine),
        onlyMutated: stage === 'matrix',
        skipMatrix: stage === 'baseline',
        inspect: async (prom, live) => {
          control = live.control;
          const measured = mine.filter((x) => x.quantity && (x.kind === 'threshold' || x.kind === 'noise'));
          // Without the rules no peak can be read on their schedule: each is then unknown, as a failed query leaves it.
          const groups = measured.length ? await prom.rules().catch((): RuleGroup[] => []) : [];
          for (const m of measured) {
            // Shards inspect their own windows of one map each.
            const byWindow = peaks.get(m.name) ?? new Map<string, number | undefined>();
            peaks.set(m.name, byWindow);
            const windows: Pick<ScenarioWindow, 'id' | 'injectedAt' | 'recoveredAt' | 'endedAt'>[] =
              m.kind === 'noise' ? [{ id: 'control', injectedAt: live.control.start, endedAt: live.control.end }] : live.windows.filter((w) => w.expect.some((e) => e.alertname === m.alert));
            for (const w of windows) byWindow.set(w.id, await peakOf(prom, groups, m.name, m.quantity!.expr, w.injectedAt, w.recoveredAt ?? w.endedAt).catch(() => undefined));
          }
        },
      };
      const shards = stage === 'matrix' ? shardsFor(opts.shards, run, opts.base.only?.length ? opts.base.only : mine.map((m) => m.name)) : 1;
      const res = shards > 1 ? await runSharded({ ...run, shards }) : await runVerifyAlerts(run);
      const report = res.reports[0];
      if (!report) throw new Error(`the ${tag} run of the mutation check produced no report (see ${res.reportDir})`);
      const info: MutationRun = { stage, kinds: stageKinds, mutants: mine.length, controlS, wallS: Math.round((Date.now() - t0) / 1000), reportDir: res.reportDir, ...(shards > 1 ? { shards } : {}) };
      const judged = mine.flatMap((m) => {
        const p = peaks.get(m.name) ?? new Map<string, number | undefined>();
        // With --only, a mutant whose rule no selected scenario expects is not tested: neither caught nor survived.
        const r = stage === 'matrix' ? judgeMatrixMutant(m, report, p) : judgeBaselineMutant(m, report, p.get('control'), control);
        return r ? [r] : [];
      });
      return { run: info, report, results: judged };
    };
    return Promise.all(Array.from({ length: stacks }, (_, i) => runOne(stacks > 1 ? `${stage} ${i + 1}/${stacks}` : stage)));
  };
  for (const stage of ['matrix', 'baseline'] as Stage[]) {
    const parts = await runStage(stage);
    for (const p of parts) runs.push(p.run);
    versions ??= parts[0]?.report.versions;
    results.push(...strongestVerdicts(parts.map((p) => p.results)));
  }

  const totals: MutationReport['totals'] = {};
  for (const k of kinds) {
    const of = results.filter((r) => r.kind === k);
    totals[k] = {
      caught: of.filter((r) => r.verdict === 'caught').length,
      survived: of.filter((r) => r.verdict === 'survived').length,
      unexplained: of.filter((r) => r.verdict === 'survived' && !r.explained).length,
      equivalent: of.filter((r) => r.verdict === 'equivalent').length,
      notMutated: notMutated.filter((n) => n.kind === k).length,
    };
  }
  const order = (r: MutantResult): number => MUTATION_KINDS.indexOf(r.kind);
  results.sort((a, b) => order(a) - order(b));
  return {
    id,
    startedAt: new Date(started).toISOString(),
    wallS: Math.round((Date.now() - started) / 1000),
    ...(versions ? { versions } : {}),
    kinds,
    runs,
    results,
    notMutated,
    totals,
    passed: results.filter((r) => r.verdict === 'caught').length,
    failed: results.filter((r) => r.verdict === 'survived' && !r.explained).length,
  };
}

const minutes = (s: number): string => `${(s / 60).toFixed(1)} min`;

/** The per-kind summary printed at the end of --mutate (the caller prints the final "N passed, N failed"). */
export function renderMutationSummary(r: MutationReport): string {
  const lines = ['', `mutation check ${r.id}: ${minutes(r.wallS)}${r.versions ? ` (Prometheus ${r.versions.prometheus})` : ''}`];
  for (const run of r.runs) lines.push(`  ${run.stage} run (${run.kinds.join(', ')}): ${run.mutants} mutants, ${minutes(run.wallS)}; report ${run.reportDir}`);
  for (const k of r.kinds) {
    const t = r.totals[k]!;
    lines.push(`  ${k}: ${t.caught} caught, ${t.survived} survived (${t.unexplained} unexplained), ${t.equivalent} equivalent, ${t.notMutated} rules not mutated`);
  }
  const label = (x: MutantResult): string => (x.verdict === 'equivalent' ? 'equivalent' : x.explained ? 'survived (explained)' : 'SURVIVED');
  for (const x of r.results.filter((x) => x.verdict !== 'caught')) lines.push(`  ${label(x)} ${x.name} (${x.change}): ${x.reason}`);
  return lines.join('\n');
}

export function renderMutationMarkdown(r: MutationReport): string {
  const esc = (s: string): string => s.replaceAll('|', '\\|');
  const out = [
    `# Mutation check ${r.id}`,
    '',
    `${r.passed} mutants caught, ${r.results.filter((x) => x.verdict === 'survived').length} survived (${r.failed} unexplained, which fail the check), ${r.results.filter((x) => x.verdict === 'equivalent').length} equivalent; ${minutes(r.wallS)} in all${r.versions ? `, on Prometheus ${r.versions.prometheus} and Alertmanager ${r.versions.alertmanager ?? 'unknown'}` : ''}.`,
    '',
    '| kind | what it does | caught | survived (unexplained) | equivalent | rules not mutated |',
    '|---|---|---|---|---|---|',
    ...r.kinds.map((k) => {
      const t = r.totals[k]!;
      return `| ${k} | ${esc(KIND_DESCRIPTIONS[k])} | ${t.caught} | ${t.survived} (${t.unexplained}) | ${t.equivalent} | ${t.notMutated} |`;
    }),
    '',
    '## Runs',
    '',
    ...r.runs.map((run) => `- ${run.stage} (${run.kinds.join(', ')}): ${run.mutants} mutants, control window ${run.controlS} s, ${minutes(run.wallS)}; harness report \`${run.reportDir}\``),
    '',
    '## Mutants',
    '',
    '| mutant | change | verdict | why |',
    '|---|---|---|---|',
    ...r.results.map((x) => `| ${x.name} | ${esc(x.change)} | ${x.verdict}${x.explained ? ' (explained)' : ''} | ${esc(x.reason)} |`),
    '',
    '## Rules not mutated',
    '',
    ...r.notMutated.map((n) => `- ${n.kind} ${n.alert}: ${n.why}`),
    '',
  ];
  return out.join('\n');
}

export function writeMutationReport(reportsDir: string, r: MutationReport): { md: string; json: string } {
  const dir = path.join(reportsDir, `mutation-${r.id}`);
  fs.mkdirSync(dir, { recursive: true });
  const files = { md: path.join(dir, 'mutation.md'), json: path.join(dir, 'mutation.json') };
  fs.writeFileSync(files.json, `${JSON.stringify(r, null, 2)}\n`);
  fs.writeFileSync(files.md, renderMutationMarkdown(r));
  return files;
}
