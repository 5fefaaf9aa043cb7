// junit.xml: one run report as JUnit XML for CI test views (GitLab, Jenkins, GitHub test reporters): a suite per fault
// scenario with a testcase per expected alert, then suites for false positives, coverage, rules, the dead man's switch,
// pre-flight, crashes and dashboards, so that every failure of the run is a failed testcase.
//
// The inside of the document satisfies the strict Ant schema (JUnit.xsd, tests/fixtures/junit/README.md: a suite's
// properties, system-out and system-err are required, a testcase holds neither, timestamps carry no timezone); the
// totals on <testsuites> are those Jenkins' schema (jenkins-junit.xsd) and the CI readers know. A testcase cannot hold properties
// there, so each alert's stage times are its suite's properties, named "<testcase>.<stage>", and its suite's
// system-out lines; a failed one repeats them in its failure's body.
import type { AlertOutcome, AlertStages, RunReport, ScenarioOutcome } from '../results.ts';
import { NO_SCENARIO, detectedAt, formatExpected } from '../evaluate.ts';

const PACKAGE = 'verify-alerts';
// The report does not record the machine it ran on; the Ant schema names 'localhost' for a host that cannot be told.
const HOSTNAME = 'localhost';

/** Every stage an alert outcome records, by its property name; a new stage in AlertStages must be named here. */
const STAGE_PROPERTIES: Record<keyof AlertStages, string> = {
  firstBadSampleS: 'first_bad_sample_s',
  pendingS: 'pending_s',
  firingS: 'firing_s',
  notifiedS: 'notified_s',
  notifiedAfterRecoveryS: 'notified_after_recovery_s',
  resolvedAfterRecoveryS: 'resolved_after_recovery_s',
  resolutionNotifiedAfterRecoveryS: 'resolution_notified_after_recovery_s',
};

interface Problem {
  /** The verdict or kind of problem ("late", "crash", ...). */
  type: string;
  message: string;
  body: string;
}

interface TestCase {
  name: string;
  classname: string;
  timeS: number;
  failure?: Problem;
  error?: Problem;
}

interface TestSuite {
  name: string;
  timestamp: string;
  timeS: number;
  properties: [string, string][];
  cases: TestCase[];
  out: string[];
}

// XML 1.0 allows tab, newline, carriage return and the code points from space up, less surrogates, U+FFFE and U+FFFF.
const FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const clean = (s: string): string => s.replace(FORBIDDEN, '');
const text = (s: string): string => clean(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
// Tabs and line breaks as references: a parser would otherwise turn them into spaces inside an attribute.
const attr = (s: string): string => text(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
const seconds = (s: number): string => (Number.isFinite(s) && s > 0 ? s : 0).toFixed(3);
const secondsBetween = (from: string, to: string): number => (Date.parse(to) - Date.parse(from)) / 1000;

/** The Ant schema's timestamp: ISO 8601 to the second, no fraction, no timezone (the times here are UTC). */
function timestamp(iso: string, what: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`junit: ${what} "${iso}" is not a timestamp; the run report is damaged`);
  return new Date(t).toISOString().slice(0, 19);
}

const caseName = (a: { alertname: string; service?: string }): string => formatExpected(a);

/** Every fact an alert outcome records, as property name and value. */
function outcomeProperties(a: AlertOutcome): [string, string][] {
  const props: [string, string][] = [['verdict', a.verdict], ['detail', a.detail]];
  if (a.delivery) props.push(['delivery', a.delivery]);
  props.push(['fault_at', a.faultAt]);
  if (a.recoveredAt) props.push(['recovered_at', a.recoveredAt]);
  for (const [stage, name] of Object.entries(STAGE_PROPERTIES) as [keyof AlertStages, string][]) {
    const s = a.stages[stage];
    if (s !== undefined) props.push([name, String(s)]);
  }
  props.push(['deadline_s', String(a.deadlineS)]);
  if (a.budgetS !== undefined) props.push(['budget_s', String(a.budgetS)]);
  props.push(['reset_s', String(a.resetS)]);
  if (a.panel) props.push(['panel', `${a.panel.where} ${a.panel.error ? `error: ${a.panel.error}` : a.panel.changed ? 'changed' : 'unchanged'}`]);
  return props;
}

/**
 * The testcase's time: when the alert was detected, its notification, or its firing when the fault takes delivery
 * away (as verify/evaluate.ts judges it); else the last stage it reached.
 */
function detectionS(a: AlertOutcome): number {
  const s = a.stages;
  return detectedAt(a) ?? s.firingS ?? s.pendingS ?? s.firstBadSampleS ?? 0;
}

function scenarioSuite(s: ScenarioOutcome, report: RunReport): TestSuite {
  const classname = `${PACKAGE}.${s.id}`;
  const properties: [string, string][] = [['wave', String(s.wave)], ['description', s.description], ['injected_at', s.injectedAt]];
  if (s.recoveredAt) properties.push(['recovered_at', s.recoveredAt]);
  properties.push(['ended_at', s.endedAt]);
  if (s.error) properties.push(['error', s.error]);
  if (s.collateral.length) properties.push(['collateral', s.collateral.join(', ')]);
  const out: string[] = [];
  const cases = s.alerts.map((a): TestCase => {
    const name = caseName(a);
    const props = outcomeProperties(a);
    properties.push(...props.map(([k, v]): [string, string] => [`${name}.${k}`, v]));
    const line = `${name}: ${props.map(([k, v]) => `${k}=${v}`).join(' ')}`;
    out.push(line);
    const rule = report.rules.find((r) => r.alertname === a.alertname && !r.passed);
    const body = [line, ...(rule ? [`rule ${rule.alertname} failed: ${rule.reasons.join('; ')}`] : [])].join('\n');
    const tc: TestCase = { name, classname, timeS: detectionS(a) };
    if (s.error) tc.error = { type: 'scenario_error', message: `scenario error: ${s.error}`, body: `${s.error}\n${body}` };
    else if (a.verdict !== 'pass') tc.failure = { type: a.verdict, message: `${a.verdict}: ${a.detail}`, body };
    return tc;
  });
  if (s.error && cases.length === 0) cases.push({ name: 'scenario', classname, timeS: 0, error: { type: 'scenario_error', message: `scenario error: ${s.error}`, body: s.error } });
  if (s.collateral.length) out.push(`collateral (allowed to fire too): ${s.collateral.join(', ')}`);
  return { name: s.id, timestamp: timestamp(s.injectedAt, `scenario ${s.id} injectedAt`), timeS: secondsBetween(s.injectedAt, s.endedAt), properties, cases, out };
}

function falsePositiveSuite(report: RunReport, at: string): TestSuite {
  const classname = `${PACKAGE}.false-positives`;
  const cases = report.falsePositives.map((f): TestCase => {
    const what = `${caseName(f)} ${f.state} at ${f.at} without its fault (${f.during})`;
    return { name: `${caseName(f)} (${f.during})`, classname, timeS: 0, failure: { type: 'false_positive', message: `false_positive: ${what}`, body: what } };
  });
  if (cases.length === 0) cases.push({ name: 'no false positive', classname, timeS: 0 });
  // Near misses page nobody (absorbed by their `for`); listed for whoever tunes the rules, not failed.
  const out = report.nearMisses.map((n) => `near miss: ${caseName(n)} pending at ${n.at}, never fired`);
  return { name: 'false positives', timestamp: at, timeS: report.control.durationS, properties: [['control_s', String(report.control.durationS)]], cases, out };
}

function coverageSuite(report: RunReport, at: string): TestSuite {
  const classname = `${PACKAGE}.coverage`;
  const gaps = report.rules.filter((r) => r.reasons.includes(NO_SCENARIO));
  const cases = gaps.map((r): TestCase => ({ name: r.alertname, classname, timeS: 0, failure: { type: 'no_scenario', message: `no_scenario: ${NO_SCENARIO}`, body: r.reasons.join('\n') } }));
  if (cases.length === 0) cases.push({ name: 'every rule has a scenario', classname, timeS: 0 });
  return { name: 'coverage', timestamp: at, timeS: 0, properties: [], cases, out: [] };
}

/** Failed rules no other failed testcase names (failed for pre-flight, say, with every alert passing), and every failed rule's reasons. */
function rulesSuite(report: RunReport, at: string, named: ReadonlySet<string>): TestSuite {
  const classname = `${PACKAGE}.rules`;
  const failed = report.rules.filter((r) => !r.passed);
  const cases = failed
    .filter((r) => !named.has(r.alertname))
    .map((r): TestCase => ({ name: r.alertname, classname, timeS: 0, failure: { type: 'rule_failed', message: `rule_failed: ${r.reasons.join('; ')}`, body: r.reasons.join('\n') } }));
  const properties: [string, string][] = [['passed', String(report.rules.length - failed.length)], ['failed', String(failed.length)]];
  return { name: 'rules', timestamp: at, timeS: 0, properties, cases, out: failed.map((r) => `FAILED ${r.alertname}: ${r.reasons.join('; ')}`) };
}

function heartbeatSuite(h: NonNullable<RunReport['heartbeat']>, at: string): TestSuite {
  const classname = `${PACKAGE}.dead-mans-switch`;
  const properties: [string, string][] = [['alarm_after_s', String(h.alarmAfterS)]];
  const out: string[] = [];
  const cases = h.outcomes.map((o): TestCase => {
    const facts: [string, string][] = [['verdict', o.verdict], ['detail', o.detail]];
    if (o.alarmS !== undefined) facts.push(['alarm_s', String(o.alarmS)]);
    if (o.resumedAfterRecoveryS !== undefined) facts.push(['resumed_after_recovery_s', String(o.resumedAfterRecoveryS)]);
    facts.push(['deadline_s', String(o.deadlineS)], ['reset_s', String(o.resetS)]);
    properties.push(...facts.map(([k, v]): [string, string] => [`${o.scenario}.${k}`, v]));
    const line = `${o.scenario}: ${facts.map(([k, v]) => `${k}=${v}`).join(' ')}`;
    out.push(line);
    const tc: TestCase = { name: o.scenario, classname, timeS: o.alarmS ?? 0 };
    if (o.verdict !== 'pass') tc.failure = { type: o.verdict, message: `${o.verdict}: ${o.detail}`, body: line };
    return tc;
  });
  for (const f of h.falseAlarms) {
    const what = `no heartbeat from ${f.lastBeatAt}, alarmed at ${f.alarmedAt}${f.resumedAt ? `, back at ${f.resumedAt}` : ''}, no fault stopped it`;
    cases.push({ name: `false alarm at ${f.alarmedAt}`, classname, timeS: 0, failure: { type: 'false_alarm', message: `false_alarm: ${what}`, body: what } });
  }
  if (cases.length === 0) cases.push({ name: 'no false alarm', classname, timeS: 0 });
  return { name: "dead man's switch", timestamp: at, timeS: 0, properties, cases, out };
}

function preflightSuite(report: RunReport, at: string): TestSuite {
  const classname = `${PACKAGE}.pre-flight`;
  const cases = report.preflight.checks.map((c): TestCase => ({
    name: c.name,
    classname,
    timeS: 0,
    ...(c.ok ? {} : { failure: { type: 'preflight', message: `preflight: ${c.detail}`, body: c.detail } }),
  }));
  // Not ok with every check ok would leave the failure unseen.
  if (!report.preflight.ok && report.preflight.checks.every((c) => c.ok)) {
    cases.push({ name: 'pre-flight', classname, timeS: 0, failure: { type: 'preflight', message: 'preflight: pre-flight failed', body: 'pre-flight failed with no failed check recorded' } });
  }
  return { name: 'pre-flight', timestamp: at, timeS: 0, properties: [], cases, out: [] };
}

function crashSuite(report: RunReport, at: string): TestSuite {
  const classname = `${PACKAGE}.crashes`;
  const cases = (report.crashes ?? []).map((c): TestCase => ({
    name: `${c.service} exited ${c.code}`,
    classname,
    timeS: 0,
    failure: { type: 'crash', message: `crash: ${c.detail}`, body: `${c.detail} at ${c.at}\n${c.tail}` },
  }));
  if (cases.length === 0) cases.push({ name: 'no service exited on its own', classname, timeS: 0 });
  return { name: 'crashes', timestamp: at, timeS: 0, properties: [], cases, out: [] };
}

function dashboardSuite(d: NonNullable<RunReport['dashboards']>, at: string): TestSuite {
  const classname = `${PACKAGE}.dashboards`;
  const cases = d.failures.map((f): TestCase => ({
    name: f.where,
    classname,
    timeS: 0,
    failure: { type: 'dashboard_query', message: `dashboard_query: ${f.error}`, body: `${f.where}\n${f.promql}\n${f.error}` },
  }));
  if (cases.length === 0) cases.push({ name: 'every query returns data', classname, timeS: 0 });
  return { name: 'dashboards', timestamp: at, timeS: 0, properties: [['queries', String(d.queries)]], cases, out: d.notes };
}

function suitesOf(report: RunReport): TestSuite[] {
  const at = timestamp(report.startedAt, 'startedAt');
  const suites = [...report.scenarios.map((s) => scenarioSuite(s, report)), falsePositiveSuite(report, at), coverageSuite(report, at)];
  // A rule whose name is on a failed alert, false positive or coverage testcase is already seen failing.
  const named = new Set(suites.flatMap((s) => s.cases.filter((c) => c.failure || c.error).map((c) => c.name.split(/[/ ]/)[0]!)));
  suites.push(rulesSuite(report, at, named));
  if (report.heartbeat) suites.push(heartbeatSuite(report.heartbeat, at));
  suites.push(preflightSuite(report, at), crashSuite(report, at));
  if (report.dashboards) suites.push(dashboardSuite(report.dashboards, at));
  return suites;
}

function renderProblem(tag: 'failure' | 'error', p: Problem): string {
  return `<${tag} message="${attr(p.message)}" type="${attr(p.type)}">${text(p.body)}</${tag}>`;
}

function renderCase(c: TestCase): string {
  const open = `<testcase classname="${attr(c.classname)}" name="${attr(c.name)}" time="${seconds(c.timeS)}"`;
  const problem = c.error ? renderProblem('error', c.error) : c.failure ? renderProblem('failure', c.failure) : '';
  return problem ? `${open}>\n      ${problem}\n    </testcase>` : `${open}/>`;
}

const count = (cases: readonly TestCase[]) => ({
  tests: cases.length,
  failures: cases.filter((c) => c.failure).length,
  errors: cases.filter((c) => c.error).length,
});

/** Every suite names its run first: Jenkins' schema wants at least one property where Ant's wants the element. */
function renderSuite(s: TestSuite, id: number, runId: string): string {
  const n = count(s.cases);
  const properties: [string, string][] = [['run_id', runId], ...s.properties];
  return [
    `  <testsuite name="${attr(s.name)}" package="${PACKAGE}" id="${id}" hostname="${HOSTNAME}" timestamp="${s.timestamp}" tests="${n.tests}" failures="${n.failures}" errors="${n.errors}" time="${seconds(s.timeS)}">`,
    `    <properties>\n${properties.map(([k, v]) => `      <property name="${attr(k)}" value="${attr(v)}"/>`).join('\n')}\n    </properties>`,
    ...s.cases.map((c) => `    ${renderCase(c)}`),
    s.out.length ? `    <system-out>${text(s.out.join('\n'))}</system-out>` : '    <system-out/>',
    '    <system-err/>',
    '  </testsuite>',
  ].join('\n');
}

export function renderJunit(report: RunReport): string {
  const suites = suitesOf(report);
  const n = count(suites.flatMap((s) => s.cases));
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(`verify-alerts ${report.runId}`)}" tests="${n.tests}" failures="${n.failures}" errors="${n.errors}" time="${seconds(report.wallS)}">`,
    ...suites.map((s, i) => renderSuite(s, i, report.runId)),
    '</testsuites>',
    '',
  ].join('\n');
}
