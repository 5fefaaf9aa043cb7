import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import { CATALOG } from '../alerts/catalog/index.ts';
import { renderAll, ruleFor } from '../alerts/generate.ts';
import { ALERTS_DIR, loadThresholds, type AlertDef } from '../alerts/model.ts';
import {
  MUTATION_KINDS,
  addMutants,
  labelMatchers,
  labelMutant,
  lessSensitive,
  mutateMetric,
  noiseMutants,
  planMutants,
  selectingMatchers,
  thresholdMutant,
  type Mutant,
} from '../verify/mutate.ts';
import { firstEvaluationFrom, judgeBaselineMutant, judgeMatrixMutant, withMutantExpectations } from '../verify/mutation-check.ts';
import { loadMatrix } from '../verify/matrix.ts';
import type { AlertOutcome, RunReport } from '../verify/results.ts';

const test = suite('mutation check');
const thresholds = loadThresholds();
const defs = CATALOG.filter((d) => !d.alwaysFiring);
const defOf = (name: string): AlertDef => CATALOG.find((d) => d.name === name)!;
const isMutant = (x: object): x is Mutant => 'name' in x;

/** Whitespace-separated tokens of a and b that differ, as [a's, b's] pairs; both must have as many tokens. */
function differingTokens(a: string, b: string): [string, string][] {
  const ta = a.split(/\s+/);
  const tb = b.split(/\s+/);
  assert.is(ta.length, tb.length, `token count differs:\n${a}\n${b}`);
  return ta.flatMap((t, i) => (t === tb[i] ? [] : [[t, tb[i]!] as [string, string]]));
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` }));
  });
}

/** A temporary copy of the generated rules and promtool tests, with some rules' expressions replaced in place. */
function generatedWith(tmp: string, exprs: ReadonlyMap<string, string>): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'case-'));
  for (const [rel, content] of renderAll().files) {
    if (!rel.startsWith('rules/') && !rel.startsWith('tests/')) continue;
    fs.mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    let text = content;
    if (rel.startsWith('rules/')) {
      const doc = YAML.parse(content) as { groups: { rules: { alert: string; expr: string }[] }[] };
      for (const rule of doc.groups.flatMap((g) => g.rules)) rule.expr = exprs.get(rule.alert) ?? rule.expr;
      text = YAML.stringify(doc, { lineWidth: 0 });
    }
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-mutate-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('every rule with a threshold says in the catalog what it measures, and ratios sit in [0, 1)', () => {
  const withThreshold = defs.filter((d) => thresholds[d.name]?.threshold !== undefined);
  assert.ok(withThreshold.length >= 10, `${withThreshold.length} rules with a threshold`);
  for (const d of withThreshold) {
    assert.ok(d.thresholdUnit, `${d.name} has no thresholdUnit`);
    if (d.thresholdUnit === 'ratio') assert.ok(thresholds[d.name]!.threshold! < 1, `${d.name}: ratio threshold ${thresholds[d.name]!.threshold}`);
  }
  assert.is(defOf('OrderRejectionRateHigh').thresholdUnit, 'ratio');
  assert.is(defOf('OrdersStuckPendingSubmit').thresholdUnit, 'count');
  assert.is(defOf('SlowOrderPlacement').thresholdUnit, 'seconds');
  for (const d of defs.filter((x) => thresholds[x.name]?.threshold === undefined)) assert.is(d.thresholdUnit, undefined, `${d.name} has a unit but no threshold`);
});

test('lessSensitive moves a ratio toward 1 but below it, and multiplies counts and seconds by ten', () => {
  assert.is(lessSensitive('ratio', 0.2), 0.92);
  assert.is(lessSensitive('ratio', 0.5), 0.95);
  assert.is(lessSensitive('ratio', 0), 0.9);
  assert.is(lessSensitive('count', 5), 50);
  assert.is(lessSensitive('seconds', 0.25), 2.5);
  assert.throws(() => lessSensitive('ratio', 1), /\[0, 1\)/);
});

test('threshold mutants change only the compared threshold: ratios stay below 1 and the minRate gate is untouched', () => {
  let ratios = 0;
  for (const d of defs) {
    const t = thresholds[d.name]!;
    const m = thresholdMutant(d, t);
    if (t.threshold === undefined) {
      assert.not.ok(isMutant(m), `${d.name} has no threshold but got a mutant`);
      continue;
    }
    assert.ok(isMutant(m));
    if (m.equivalent) continue;
    const diff = differingTokens(ruleFor(d, t).expr, m.expr);
    assert.equal(diff.length, 1, `${d.name}: ${JSON.stringify(diff)}`);
    const [before, after] = diff[0]!;
    assert.is(Number(before), t.threshold);
    assert.is(Number(after), lessSensitive(d.thresholdUnit!, t.threshold));
    if (d.thresholdUnit === 'ratio') {
      ratios++;
      assert.ok(Number(after) > t.threshold && Number(after) < 1, `${d.name}: ${after}`);
    }
    if (t.minRate !== undefined) assert.ok(m.expr.includes(`> ${t.minRate}`), `${d.name}: the gate > ${t.minRate} is gone from\n${m.expr}`);
  }
  assert.ok(ratios >= 5, `${ratios} ratio mutants`);
});

test('a threshold of 0 makes an equivalent threshold mutant, reported with why', () => {
  const m = thresholdMutant(defOf('SignalServiceModelReloadFailing'), thresholds.SignalServiceModelReloadFailing!);
  assert.ok(isMutant(m) && m.equivalent);
  assert.match(m.equivalent!, /threshold 0/);
});

test('selectingMatchers skips matchers under an absence guard (or) and on the right of an unless', () => {
  const expr = '(sum(increase(a{x="1"}[20s])) or on() vector(0)) == 0\nand on() sum(b{y=~"2|3"}) > 0\nunless on() min(c{z="4"}) == 0';
  assert.equal(selectingMatchers(expr).map((m) => m.name), ['y']);
  assert.equal(selectingMatchers('sum(rate(m{status="bad"}[20s])) / sum(rate(m[20s])) > 0.2').map((m) => m.value), ['bad']);
  // A parenthesis inside a regex value is not structure.
  assert.equal(selectingMatchers('up{job=~"(a|b)"} == 0').map((m) => m.value), ['(a|b)']);
});

test('structure comes from the syntax tree: words in label values are neither operators nor metrics', () => {
  assert.equal(selectingMatchers('a{x="1"} and on() b{y="or unless ("}').map((m) => m.name), ['x', 'y']);
  assert.equal(labelMatchers("up{job='single'}").map((m) => [m.name, m.op, m.value]), [['job', '=', 'single']]);
  assert.is(mutateMetric('up{job="up"} == 0 unless on() max(up{job="x"}) > 1', ['up']), 'up_mutated{job="up"} == 0 unless on() max(up_mutated{job="x"}) > 1');
  assert.is(mutateMetric('vector(1)', ['up']), undefined);
});

test('each label mutant changes exactly one matcher value, to one no series has', () => {
  let n = 0;
  for (const d of defs) {
    const t = thresholds[d.name]!;
    const m = labelMutant(d, t);
    if (!isMutant(m)) continue;
    n++;
    const before = labelMatchers(ruleFor(d, t).expr);
    const after = labelMatchers(m.expr);
    assert.is(after.length, before.length, d.name);
    const changed = before.filter((b, i) => b.value !== after[i]!.value);
    assert.is(changed.length, 1, `${d.name}: ${changed.length} matcher values changed`);
    const i = before.indexOf(changed[0]!);
    assert.is(after[i]!.name, before[i]!.name);
    assert.is(after[i]!.op, before[i]!.op);
    const realValues = before[i]!.op === '=~' ? before[i]!.value.split('|') : [before[i]!.value];
    const selects = (v: string): boolean => (after[i]!.op === '=~' ? new RegExp(`^(?:${after[i]!.value})$`).test(v) : after[i]!.value === v);
    for (const v of realValues) assert.not.ok(selects(v), `${d.name}: mutant ${after[i]!.value} still selects ${v}`);
    const cut = (expr: string, at: { start: number; end: number }): string => expr.slice(0, at.start) + expr.slice(at.end);
    assert.is(cut(m.expr, after[i]!), cut(ruleFor(d, t).expr, before[i]!), `${d.name}: more than the value changed`);
  }
  assert.ok(n >= 14, `${n} label mutants`);
  const noOrders = labelMutant(defOf('NoOrdersWhileMarketOpen'), thresholds.NoOrdersWhileMarketOpen!);
  assert.ok(isMutant(noOrders) && noOrders.change.startsWith('status=~'), 'NoOrdersWhileMarketOpen is mutated in its runs gate, not in the unless');
  const noData = labelMutant(defOf('NoMarketData'), thresholds.NoMarketData!);
  // Its only matchers that must select sit in the gate "scraped throughout the window"; a job no target has silences it.
  assert.ok(isMutant(noData) && noData.change.startsWith('job="market-data"'), `NoMarketData is mutated in its scrape gate: ${isMutant(noData) ? noData.change : noData.why}`);
});

test('noise mutants lower the threshold tenfold or drop exactly the minRate gate', () => {
  let gates = 0;
  for (const d of defs) {
    const t = thresholds[d.name]!;
    const original = ruleFor(d, t).expr;
    for (const m of noiseMutants(d, t).filter(isMutant)) {
      if (m.equivalent) continue;
      if (m.name.endsWith('__noise_threshold')) {
        const diff = differingTokens(original, m.expr);
        assert.equal(diff, [[String(t.threshold), String(Number((t.threshold! / 10).toPrecision(6)))]], d.name);
      } else {
        gates++;
        assert.ok(original.startsWith(m.expr), `${d.name}: the mutant is not the rule minus its gate:\n${m.expr}`);
        const gate = original.slice(m.expr.length).trim();
        assert.match(gate, /^and on\(\) /, d.name);
        assert.ok(gate.endsWith(`> ${t.minRate}`), `${d.name}: removed ${gate}`);
        assert.not.match(gate.slice(3), /\b(and|or|unless)\b/, `${d.name}: removed more than one operand: ${gate}`);
      }
    }
    if (t.minRate === undefined) assert.not.ok(noiseMutants(d, t).some((m) => isMutant(m) && m.name.endsWith('__noise_gate')), d.name);
  }
  assert.ok(gates >= 9, `${gates} gate mutants`);
});

test('always-firing alerts are never mutated, as the catalog flags them (not by name)', () => {
  const always = CATALOG.filter((d) => d.alwaysFiring);
  assert.ok(always.length >= 1);
  const { mutants } = planMutants(MUTATION_KINDS);
  for (const d of always) assert.not.ok(mutants.some((m) => m.alert === d.name), `${d.name} was mutated`);
  // The flag, not the name, decides: a flagged ordinary alert is skipped, an unflagged Watchdog is mutated.
  const flagged = { ...defOf('OrderRejectionRateHigh'), alwaysFiring: true };
  assert.is(planMutants(MUTATION_KINDS, [flagged]).mutants.length, 0);
  const unflagged = { ...defOf('Watchdog'), alwaysFiring: false };
  assert.ok(planMutants(['for'], [unflagged]).mutants.length === 1);
});

test('promtool check rules accepts the rule files with every mutant added beside its rule', async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'rules-'));
  for (const f of fs.readdirSync(path.join(ALERTS_DIR, 'rules'))) fs.copyFileSync(path.join(ALERTS_DIR, 'rules', f), path.join(dir, f));
  const runnable = planMutants(MUTATION_KINDS).mutants.filter((m) => !m.equivalent);
  const added = addMutants(dir, runnable);
  assert.equal(added.sort(), runnable.map((m) => m.name).sort());
  const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
  const r = await run('promtool', ['check', 'rules', ...files], dir);
  assert.is(r.code, 0, r.out);
  const total = [...r.out.matchAll(/SUCCESS: (\d+) rules found/g)].reduce((n, m) => n + Number(m[1]), 0);
  assert.is(total, CATALOG.length + runnable.length, r.out);
  // Each copy sits right after its rule, with the rule's labels.
  const doc = YAML.parse(fs.readFileSync(path.join(dir, 'trading.yml'), 'utf8')) as { groups: { rules: { alert: string; labels: object }[] }[] };
  const names = doc.groups[0]!.rules.map((r) => r.alert);
  assert.is(names[names.indexOf('OrderRejectionRateHigh') + 1], 'OrderRejectionRateHigh__threshold');
  assert.equal(doc.groups[0]!.rules[names.indexOf('OrderRejectionRateHigh__label')]!.labels, doc.groups[0]!.rules[names.indexOf('OrderRejectionRateHigh')]!.labels);
});

test('the catalog\'s own firing cases fire under no threshold or label mutant (promtool test rules)', async () => {
  const tests = (dir: string): string[] => fs.readdirSync(path.join(dir, 'tests')).map((f) => `tests/${f}`);
  // The unmutated rules pass, so the failures below are the mutants'.
  const clean = generatedWith(tmp, new Map());
  const ok = await run('promtool', ['test', 'rules', ...tests(clean)], clean);
  assert.is(ok.code, 0, ok.out);
  for (const kind of ['threshold', 'label'] as const) {
    const runnable = planMutants([kind]).mutants.filter((m) => !m.equivalent);
    assert.ok(runnable.length >= 12, `${runnable.length} ${kind} mutants`);
    // One mutant per rule, so each rule's firing case fails on its own mutant only.
    const dir = generatedWith(tmp, new Map(runnable.map((m) => [m.alert, m.expr])));
    const r = await run('promtool', ['test', 'rules', ...tests(dir)], dir);
    assert.is.not(r.code, 0, `${kind}: every firing case still fires`);
    for (const m of runnable) assert.match(r.out, `${m.alert} fires within the budget when`, `${m.name} (${m.change}): its rule's firing case still fires`);
  }
});

test('scenarios expecting a rule expect its mutants too, with the same service', () => {
  const m = planMutants(['label', 'for']).mutants;
  const scenarios = loadMatrix();
  const out = withMutantExpectations(scenarios, m);
  const pg = out.find((s) => s.id === 'postgres-stopped')!;
  assert.ok(pg.expect.includes('ExecutionGatewayDatabaseDisconnected__for'));
  assert.ok(pg.mayAlsoFire!.includes('OrderFailureRateHigh__label'));
  assert.equal(pg.faults, scenarios.find((s) => s.id === 'postgres-stopped')!.faults);
  const withService = withMutantExpectations([{ ...scenarios[0]!, expect: ['ExecutionGatewayDown/execution-gateway'] }], m)[0]!;
  assert.equal(withService.expect, ['ExecutionGatewayDown/execution-gateway', 'ExecutionGatewayDown__label/execution-gateway', 'ExecutionGatewayDown__for/execution-gateway']);
  // A mutant of an alert nothing can deliver during its fault is judged the same way as the rule.
  const am = out.find((s) => s.id === 'alertmanager-killed')!;
  assert.is(am.delivery['AlertmanagerDown__for'], 'none');
  assert.is(am.delivery['AlertmanagerDown'], 'none');
});

// Judging from synthetic reports.

const outcome = (alertname: string, verdict: AlertOutcome['verdict'], detail: string, scenario = 's1'): AlertOutcome => ({ alertname, scenario, verdict, detail, faultAt: '', stages: {}, deadlineS: 60, resetS: 60 });
function report(over: Partial<RunReport>): RunReport {
  return { runId: 'r', startedAt: '', finishedAt: '', wallS: 0, repeat: 1, options: {}, preflight: { ok: true, checks: [] }, control: { durationS: 300, falsePositives: [] }, scenarios: [], falsePositives: [], nearMisses: [], rules: [], quality: { recall: 1, precision: 1 }, passed: 0, failed: 0, ...over };
}
const scenario = (alerts: AlertOutcome[], id = 's1'): RunReport['scenarios'][number] => ({ id, description: '', wave: 1, injectedAt: '', endedAt: '', alerts, collateral: [] });
const mutantOf = (kind: 'threshold' | 'label' | 'noise', alert = 'OrderRejectionRateHigh'): Mutant => {
  const all = planMutants([kind]).mutants.filter((m) => m.alert === alert);
  return all.find((m) => !m.name.endsWith('_gate')) ?? all[0]!;
};

test('a matrix mutant is caught only for its failure, and only where the unmutated rule passed', () => {
  const m = mutantOf('label');
  const caught = judgeMatrixMutant(m, report({ scenarios: [scenario([outcome(m.alert, 'pass', 'notified 20s after the fault'), outcome(m.name, 'missed', 'never became pending')])] }), new Map());
  assert.is(caught?.verdict, 'caught');
  const bothMissed = judgeMatrixMutant(m, report({ scenarios: [scenario([outcome(m.alert, 'missed', 'never became pending'), outcome(m.name, 'missed', 'never became pending')])] }), new Map());
  assert.is(bothMissed?.verdict, 'survived');
  const pendingOnly = judgeMatrixMutant(m, report({ scenarios: [scenario([outcome(m.alert, 'pass', ''), outcome(m.name, 'missed', 'pending at 10s but never firing')])] }), new Map());
  assert.is(pendingOnly?.verdict, 'survived', 'a label mutant that went pending selected something');
  const undelivered = judgeMatrixMutant(mutantOf('threshold'), report({ scenarios: [scenario([outcome(m.alert, 'pass', ''), outcome('OrderRejectionRateHigh__threshold', 'missed', 'firing at 30s but no notification arrived')])] }), new Map());
  assert.is(undelivered?.verdict, 'survived');
  assert.is(judgeMatrixMutant(m, report({ scenarios: [] }), new Map()), undefined);
  const forMutant = planMutants(['for']).mutants.find((x) => x.alert === m.alert)!;
  const held = judgeMatrixMutant(forMutant, report({ scenarios: [scenario([outcome(m.alert, 'pass', ''), outcome(forMutant.name, 'missed', 'pending at 12.5s but never firing')])] }), new Map());
  assert.is(held?.verdict, 'caught');
  const neverPending = judgeMatrixMutant(forMutant, report({ scenarios: [scenario([outcome(m.alert, 'pass', ''), outcome(forMutant.name, 'missed', 'never became pending')])] }), new Map());
  assert.is(neverPending?.verdict, 'survived', 'a `for` mutant that never went pending is not what a longer `for` causes');
});

test('a ratio threshold mutant that passes only under faults failing every event is equivalent on this matrix, else it survived', () => {
  const m = mutantOf('threshold');
  const passes = report({ scenarios: [scenario([outcome(m.alert, 'pass', ''), outcome(m.name, 'pass', 'notified 40s after the fault')], 'all-bad')] });
  const saturated = judgeMatrixMutant(m, passes, new Map([['all-bad', 1]]));
  assert.is(saturated?.verdict, 'equivalent');
  assert.match(saturated!.reason, /all-bad drives the ratio to 1/);
  const bounded = judgeMatrixMutant(m, passes, new Map([['all-bad', 0.95]]));
  assert.is(bounded?.verdict, 'survived');
  assert.match(bounded!.reason, /peaked at 0\.95, mutant threshold 0\.92/);
});

test('a noise mutant is caught by a false positive of its own, equivalent when it never held, and survives a near miss', () => {
  const m = mutantOf('noise', 'SlowOrderPlacement');
  const control = { start: Date.parse('2026-01-01T00:00:00Z'), end: Date.parse('2026-01-01T00:05:00Z') };
  const fp = { alertname: m.name, during: 'control', at: '2026-01-01T00:00:42Z', state: 'firing' as const };
  const caught = judgeBaselineMutant(m, report({ falsePositives: [fp] }), 0.3, control);
  assert.is(caught.verdict, 'caught');
  assert.is(caught.firedAtS, 42);
  assert.is(judgeBaselineMutant(m, report({ falsePositives: [fp, { ...fp, alertname: m.alert }] }), 0.3, control).verdict, 'survived');
  const quiet = judgeBaselineMutant(m, report({}), 0.04, control);
  assert.is(quiet.verdict, 'equivalent');
  assert.match(quiet.reason, /peaked at 0\.04 in 300 s of baseline, mutant threshold 0\.1/);
  const near = judgeBaselineMutant(m, report({ nearMisses: [{ alertname: m.name, at: '2026-01-01T00:01:00Z' }] }), 0.2, control);
  assert.is(near.verdict, 'survived');
  assert.ok(near.explained, 'a near miss is measured: pending, cleared within its for');
  const odd = judgeBaselineMutant(m, report({}), 0.2, control);
  assert.ok(odd.verdict === 'survived' && !odd.explained, 'above its threshold yet never pending is not explained');
});

test("a mutant's peak is read on its rule group's own schedule: the first evaluation at or after the window's start", () => {
  // A group evaluated every 5 s, last at 12:00:03.250: its evaluations fall at :58.250, :03.250, :08.250, ...
  const last = Date.parse('2026-12-03T12:00:03.250Z');
  const at = (iso: string): string => new Date(firstEvaluationFrom(last, 5, Date.parse(iso))).toISOString();
  assert.is(at('2026-12-03T11:59:55.000Z'), '2026-12-03T11:59:58.250Z', 'a window before the last evaluation');
  assert.is(at('2026-12-03T11:59:58.250Z'), '2026-12-03T11:59:58.250Z', 'a window starting on an evaluation');
  assert.is(at('2026-12-03T11:59:58.251Z'), '2026-12-03T12:00:03.250Z');
  assert.is(at('2026-12-03T12:00:04.000Z'), '2026-12-03T12:00:08.250Z', 'a window after the last evaluation');
});

test.run();
