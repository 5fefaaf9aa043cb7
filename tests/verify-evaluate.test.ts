import { suite } from 'uvu';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { AlertTimeline } from '../verify/timeline.ts';
import { labelsFingerprint } from '../verify/fingerprint.ts';
import { evaluate, judgeHeartbeat, parseExpected, type ScenarioWindow } from '../verify/evaluate.ts';
import { planWaves } from '../verify/waves.ts';
import { loadMatrix } from '../verify/matrix.ts';
import { resolveCount } from '../verify/drivers/http.ts';
import { loadThresholds } from '../alerts/model.ts';
import { renderHtml } from '../verify/report/html.ts';
import { renderMarkdown } from '../verify/report/markdown.ts';
import type { RunReport } from '../verify/results.ts';
import { acrossRuns, renderAcrossRuns, renderByVersion } from '../verify/report/across-runs.ts';

const test = suite('verify evaluation');
const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number): number => T0 + s * 1000;
const iso = (s: number): string => new Date(at(s)).toISOString();
/** Judging at a 5 s evaluation interval, with Watchdog always firing. */
const J = { skewMs: 5000, alwaysFiring: ['Watchdog'] };
/** One alert as Alertmanager's webhook carries it: status, labels, their fingerprint, and Prometheus' FiredAt. */
const am = (status: string, labels: Record<string, string>, firedAtS: number) => ({ status, labels, fingerprint: labelsFingerprint(labels), startsAt: iso(firedAtS) });

function window(over: Partial<ScenarioWindow> = {}): ScenarioWindow {
  return {
    id: 'db-down',
    description: 'stop postgres',
    wave: 1,
    injectedAt: at(0),
    recoveredAt: at(40),
    endedAt: at(100),
    expect: [parseExpected('DatabaseDown/execution-gateway')],
    mayAlsoFire: [parseExpected('OrchestrationFailures')],
    deadlineS: 60,
    resetS: 45,
    ...over,
  };
}

/** Replays a simple alert life: pending at p, firing at f, notified at n, gone at e, resolution notified at r. */
function life(tl: AlertTimeline, name: string, service: string | undefined, p: number, f: number, n: number, e: number, r: number): void {
  const labels = { alertname: name, ...(service ? { service } : {}) };
  for (let s = p; s < e; s += 1) {
    tl.observe([{ labels, state: s >= f ? 'firing' : 'pending', activeAt: iso(p) }], at(s));
    if (n >= s && n < s + 1) tl.notify([am('firing', labels, f)], at(n));
  }
  tl.observe([], at(e));
  tl.notify([am('resolved', labels, f)], at(r));
}

test('a notification that arrives before the poll that sees its alert still counts', () => {
  const tl = new AlertTimeline();
  const labels = { alertname: 'DatabaseDown', service: 'execution-gateway' };
  tl.notify([am('firing', labels, 7)], at(12));
  tl.observe([{ labels, state: 'firing', activeAt: iso(7) }], at(13));
  tl.observe([], at(30));
  tl.notify([am('resolved', labels, 7)], at(35));
  const ep = tl.episodes()[0]!;
  assert.is(ep.notifiedAt, at(12));
  assert.is(ep.resolvedNotifiedAt, at(35));
});

test('an alert notified inside the deadline and resolved inside the reset budget passes', () => {
  const tl = new AlertTimeline();
  life(tl, 'DatabaseDown', 'execution-gateway', 6, 16, 21, 50, 55);
  const ev = evaluate({ ...J, windows: [window()], episodes: tl.episodes(), ruleNames: ['DatabaseDown'] });
  const o = ev.scenarios[0]!.alerts[0]!;
  assert.is(o.verdict, 'pass');
  assert.is(o.stages.pendingS, 6);
  assert.is(o.stages.firingS, 16);
  assert.is(o.stages.notifiedS, 21);
  assert.is(o.stages.resolvedAfterRecoveryS, 10);
  assert.is(o.stages.resolutionNotifiedAfterRecoveryS, 15);
  assert.equal(ev.rules, [{ alertname: 'DatabaseDown', passed: true, reasons: [] }]);
  assert.is(ev.quality.recall, 1);
  assert.is(ev.quality.precision, 1);
});

test('a notification after 60 s is late and fails the rule', () => {
  const tl = new AlertTimeline();
  life(tl, 'DatabaseDown', 'execution-gateway', 30, 55, 61, 70, 72);
  const ev = evaluate({ ...J, windows: [window()], episodes: tl.episodes(), ruleNames: ['DatabaseDown'] });
  assert.is(ev.scenarios[0]!.alerts[0]!.verdict, 'late');
  assert.is(ev.rules[0]!.passed, false);
  assert.is(ev.quality.recall, 0);
});

test('an alert notified inside 60 s but slower than its own budget is late and fails the rule', () => {
  const tl = new AlertTimeline();
  life(tl, 'DatabaseDown', 'execution-gateway', 6, 26, 31.2, 50, 55);
  const budgetS = new Map([['DatabaseDown', 29]]);
  const ev = evaluate({ ...J, budgetS, windows: [window()], episodes: tl.episodes(), ruleNames: ['DatabaseDown'] });
  const o = ev.scenarios[0]!.alerts[0]!;
  assert.is(o.verdict, 'late');
  assert.is(o.detail, 'slower than its budget: 31.2 s > 29 s');
  assert.equal([o.budgetS, o.deadlineS], [29, 60]);
  assert.match(ev.rules[0]!.reasons[0]!, /db-down \[execution-gateway\]: late \(slower than its budget/);
  const inside = evaluate({ ...J, budgetS: new Map([['DatabaseDown', 31.2]]), windows: [window()], episodes: tl.episodes(), ruleNames: ['DatabaseDown'] });
  assert.is(inside.scenarios[0]!.alerts[0]!.verdict, 'pass', 'at its budget exactly still passes');
});

test('an alert that never fires is missed; a rule without a scenario fails coverage', () => {
  const ev = evaluate({ ...J, windows: [window()], episodes: [], ruleNames: ['DatabaseDown', 'Orphan'] });
  assert.is(ev.scenarios[0]!.alerts[0]!.verdict, 'missed');
  assert.match(ev.rules[1]!.reasons[0]!, /coverage/);
});

test('an alert that stays active after recovery is not resolved', () => {
  const tl = new AlertTimeline();
  life(tl, 'DatabaseDown', 'execution-gateway', 6, 16, 21, 95, 96);
  const ev = evaluate({ ...J, windows: [window()], episodes: tl.episodes(), ruleNames: ['DatabaseDown'] });
  assert.is(ev.scenarios[0]!.alerts[0]!.verdict, 'not_resolved');
});

test('an alert no fault names is a false positive; collateral it may fire is not', () => {
  const tl = new AlertTimeline();
  const labels = (n: string) => ({ alertname: n });
  tl.observe([
    { labels: labels('OrchestrationFailures'), state: 'firing', activeAt: iso(10) },
    { labels: labels('HighLatency'), state: 'firing', activeAt: iso(12) },
    { labels: labels('Blip'), state: 'pending', activeAt: iso(12) },
    { labels: labels('Watchdog'), state: 'firing', activeAt: iso(-100) },
  ], at(12));
  tl.observe([], at(30));
  const ev = evaluate({ ...J, windows: [window()], episodes: tl.episodes(), ruleNames: ['DatabaseDown', 'HighLatency', 'Blip'] });
  assert.equal(ev.falsePositives.map((f) => f.alertname), ['HighLatency']);
  assert.equal(ev.nearMisses.map((f) => f.alertname), ['Blip'], 'pending that never fired is a near miss, not a failure');
  assert.is(ev.rules[2]!.passed, false, 'Blip still fails coverage');
  assert.is(ev.falsePositives[0]!.during, 'wave 1');
  assert.equal(ev.scenarios[0]!.collateral, ['OrchestrationFailures']);
  assert.is(ev.quality.precision, 0.5);
  assert.is(ev.rules[1]!.passed, false);
});

test('start-up transients that ended before the control window are not judged', () => {
  const tl = new AlertTimeline();
  tl.observe([{ labels: { alertname: 'NoOrders' }, state: 'firing', activeAt: iso(-50) }], at(-40));
  tl.observe([], at(-30));
  tl.observe([{ labels: { alertname: 'Noise' }, state: 'firing', activeAt: iso(-28) }], at(-28));
  const ev = evaluate({ ...J, windows: [window()], episodes: tl.episodes(), ruleNames: ['DatabaseDown'], since: at(-25), control: { start: at(-25), end: at(-1) } });
  assert.equal(ev.falsePositives.map((f) => [f.alertname, f.during]), [['Noise', 'between scenarios']]);
});

test('an alert already active before the fault cannot prove detection', () => {
  const tl = new AlertTimeline();
  tl.observe([{ labels: { alertname: 'DatabaseDown', service: 'execution-gateway' }, state: 'firing', activeAt: iso(-20) }], at(1));
  const ev = evaluate({ ...J, windows: [window()], episodes: tl.episodes(), ruleNames: ['DatabaseDown'] });
  assert.is(ev.scenarios[0]!.alerts[0]!.verdict, 'preexisting');
});

test('waves keep scenarios with shared resources or shared alerts apart', () => {
  const s = (id: string, touches: string[], expect: string[]) => ({ id, touches, expect: expect.map(parseExpected), mayAlsoFire: [] });
  const waves = planWaves([
    s('pg', ['postgres'], ['DatabaseDown']),
    s('redis', ['redis'], ['RedisDown']),
    s('pg-latency', ['postgres'], ['SlowOrders']),
    s('kill-orch', ['service:orchestrator'], ['ServiceDown/orchestrator']),
    s('kill-md', ['service:market-data'], ['ServiceDown/market-data']),
    s('kill-any', ['service:signal-service'], ['ServiceDown']),
  ]);
  assert.equal(waves.map((w) => w.map((x) => x.id)), [['pg', 'redis', 'kill-orch', 'kill-md'], ['pg-latency', 'kill-any']]);
});

test('shared collateral does not split a wave; an excluded part does', () => {
  const s = (id: string, touches: string[], expect: string[], may: string[] = [], excludes: string[] = [], tags: string[] = []) => ({ id, touches, excludes, tags, expect: expect.map(parseExpected), mayAlsoFire: may.map(parseExpected) });
  const waves = planWaves([
    s('pg', ['postgres'], ['DatabaseDown'], ['RunsFailing'], [], ['alerts:gateway']),
    s('redis', ['redis'], ['RedisDown'], ['RunsFailing'], [], ['alerts:gateway']),
    s('kill-gw', ['service:gateway'], ['GatewayDown'], [], ['alerts:gateway']),
    s('runs', ['link'], ['RunsFailing']),
  ]);
  assert.equal(waves.map((w) => w.map((x) => x.id)), [['pg', 'redis'], ['kill-gw', 'runs']]);
});

test('broker-symbol-outage leaves a backlog above the stuck-orders threshold and below ten times it', () => {
  const threshold = loadThresholds().OrdersStuckPendingSubmit?.threshold ?? NaN;
  const step = loadMatrix().find((s) => s.id === 'broker-symbol-outage')!.faults.find((f) => 'http' in f);
  assert.ok(step && 'http' in step, 'broker-symbol-outage places its batch with an http step');
  const count = step.http.inject.count;
  const n = resolveCount(count);
  assert.ok(n > threshold && n < 10 * threshold, `batch ${n} against threshold ${threshold}`);
  assert.is(resolveCount(count, { OrdersStuckPendingSubmit: { for: '5s', threshold: 2.5 } }), 10);
  assert.throws(() => resolveCount(count, {}), /OrdersStuckPendingSubmit needs "threshold"/);
});

test('reports render every alert and the summary', () => {
  const tl = new AlertTimeline();
  life(tl, 'DatabaseDown', 'execution-gateway', 6, 16, 21, 50, 55);
  const ev = evaluate({ ...J, budgetS: new Map([['DatabaseDown', 36]]), windows: [window()], episodes: tl.episodes(), ruleNames: ['DatabaseDown'] });
  const report: RunReport = {
    runId: 'r1', startedAt: iso(0), finishedAt: iso(100), wallS: 100, repeat: 1, options: {},
    preflight: { ok: true, checks: [{ name: 'targets up', ok: true, detail: '' }] },
    control: { durationS: 30, falsePositives: [] },
    ...ev, passed: 1, failed: 0,
  };
  const html = renderHtml(report);
  assert.match(html, /<svg[^>]*aria-label="DatabaseDown \(execution-gateway\)"/);
  assert.not.match(html, /<script/);
  assert.match(renderMarkdown(report), /\| DatabaseDown \| execution-gateway \| db-down \| pass \|/);
  assert.match(renderMarkdown(report), /\| 21\.0s \| 36\.0s \| 60\.0s \|/, 'notified, its own budget and the flat deadline side by side');
  assert.match(html, /36s: this alert's own budget/);
});

test('detection across runs: median and max per alert and scenario, against the own budget', () => {
  const run = (notifiedAt: number): RunReport => {
    const tl = new AlertTimeline();
    life(tl, 'DatabaseDown', 'execution-gateway', 6, 16, notifiedAt, 50, 55);
    const ev = evaluate({ ...J, budgetS: new Map([['DatabaseDown', 36]]), windows: [window()], episodes: tl.episodes(), ruleNames: ['DatabaseDown'] });
    return { runId: 'r', startedAt: iso(0), finishedAt: iso(100), wallS: 100, repeat: 1, options: {}, preflight: { ok: true, checks: [] }, control: { durationS: 30, falsePositives: [] }, ...ev, passed: 1, failed: 0 };
  };
  const rows = acrossRuns([run(21), run(37), run(25)]);
  assert.equal(rows.map((r) => [r.alertname, r.scenario, r.runs, r.passes, r.detectionMedianS, r.detectionMaxS, r.budgetS]), [['DatabaseDown', 'db-down', 3, 2, 25, 37, 36]]);
  const md = renderAcrossRuns(rows, 3);
  assert.match(md, /\| DatabaseDown \| db-down \| 2\/3 \| 25\.0 s \| 37\.0 s \| 36\.0 s \|/);
  assert.match(md, /0\/1 alert-scenario pairs passed in every run/);
  // Runs on two Prometheus versions side by side: each version's own figures, and the report's version in its lines.
  const on = (version: string, notifiedAt: number): RunReport => ({ ...run(notifiedAt), versions: { prometheus: version, alertmanager: '0.25.0' } });
  const both = renderByVersion([on('2.42.0', 21), on('3.16.0', 25), on('3.16.0', 37)]);
  assert.match(both, /\| alert \| scenario \| 2\.42\.0: passed \| median \| max \| own budget \| 3\.16\.0: passed \| median \| max \| own budget \|/);
  assert.match(both, /\| DatabaseDown \| db-down \| 1\/1 \| 21\.0 s \| 21\.0 s \| 36\.0 s \| 1\/2 \| 31\.0 s \| 37\.0 s \| 36\.0 s \|/);
  assert.match(both, /Prometheus 3\.16\.0: 2 runs, 2 passed, 0 failed; detection median 31\.0 s, max 37\.0 s\./);
  assert.match(renderMarkdown(on('3.16.0', 21)), /- Prometheus 3\.16\.0, Alertmanager 0\.25\.0/);
});

test('an alert whose fault takes delivery away is judged on firing ("none") or on its notification after recovery', () => {
  const tl = new AlertTimeline();
  // Notified at 45 s, 5 s after recovery at 40 s (Prometheus re-sent it to the Alertmanager that came back).
  life(tl, 'DatabaseDown', 'execution-gateway', 5, 15, 45, 55, 60);
  const base = { episodes: tl.episodes(), ruleNames: ['DatabaseDown'], ...J };
  const after = evaluate({ ...base, windows: [window({ delivery: { 'DatabaseDown/execution-gateway': 'after-recovery' } })] }).scenarios[0]!.alerts[0]!;
  assert.is(after.verdict, 'pass', after.detail);
  assert.is(after.stages.notifiedAfterRecoveryS, 5);
  assert.is(after.delivery, 'after-recovery');
  const none = evaluate({ ...base, windows: [window({ delivery: { 'DatabaseDown/execution-gateway': 'none' } })] }).scenarios[0]!.alerts[0]!;
  assert.is(none.verdict, 'pass', none.detail);
  // Judged "during", the same life is late: notified 45 s after the fault but past its 30 s budget.
  const during = evaluate({ ...base, budgetS: new Map([['DatabaseDown', 30]]), windows: [window()] }).scenarios[0]!.alerts[0]!;
  assert.is(during.verdict, 'late');
  // After recovery, a notification beyond the reset budget is late, and none at all is a miss.
  assert.is(evaluate({ ...base, windows: [window({ resetS: 4, delivery: { 'DatabaseDown/execution-gateway': 'after-recovery' } })] }).scenarios[0]!.alerts[0]!.verdict, 'late');
  const tl2 = new AlertTimeline();
  life(tl2, 'DatabaseDown', 'execution-gateway', 5, 15, 35, 55, 60);
  const missed = evaluate({ episodes: tl2.episodes(), ruleNames: ['DatabaseDown'], ...J, windows: [window({ delivery: { 'DatabaseDown/execution-gateway': 'after-recovery' } })] }).scenarios[0]!.alerts[0]!;
  assert.is(missed.verdict, 'missed', 'notified before recovery is not the re-send after it');
});

test('the dead man\'s switch passes a fault it alarmed on in time, and fails a late alarm, a missing one and a false alarm', () => {
  const w = window({ heartbeatStops: true });
  const ok = judgeHeartbeat([w], [{ lastBeatAt: at(-2), alarmedAt: at(23), resumedAt: at(48) }], 25);
  assert.ok(ok.passed);
  assert.equal(ok.outcomes.map((o) => [o.verdict, o.alarmS, o.resumedAfterRecoveryS]), [['pass', 23, 8]]);
  assert.is(judgeHeartbeat([w], [{ lastBeatAt: at(30), alarmedAt: at(65), resumedAt: at(70) }], 25).outcomes[0]!.verdict, 'late');
  assert.is(judgeHeartbeat([w], [], 25).outcomes[0]!.verdict, 'missed');
  assert.is(judgeHeartbeat([w], [{ lastBeatAt: at(-2), alarmedAt: at(23) }], 25).outcomes[0]!.verdict, 'not_resolved');
  const noisy = judgeHeartbeat([window()], [{ lastBeatAt: at(10), alarmedAt: at(35), resumedAt: at(37) }], 25);
  assert.not.ok(noisy.passed);
  assert.is(noisy.falseAlarms.length, 1, 'an alarm during a fault that does not stop the heartbeat is a false alarm');
});

test('an alarm during a fault that may lapse the heartbeat is explained; it is required of none, and one outside still fails', () => {
  const reload = window({ heartbeatMayStop: true });
  const gap = { lastBeatAt: at(10), alarmedAt: at(35), resumedAt: at(37) };
  const judged = judgeHeartbeat([reload], [gap], 25);
  assert.ok(judged.passed);
  assert.equal([judged.outcomes.length, judged.falseAlarms.length], [0, 0], 'nothing is required of a may-stop scenario');
  assert.ok(judgeHeartbeat([reload], [], 25).passed, 'and no alarm is fine too');
  const later = judgeHeartbeat([reload], [{ lastBeatAt: at(200), alarmedAt: at(225), resumedAt: at(227) }], 25);
  assert.is(later.falseAlarms.length, 1, 'past its window and reset budget an alarm is false again');
});

test('the matrix reads heartbeat: may-stop, and still wants an alert or heartbeat: stops of a scenario that expects none', () => {
  const m = loadMatrix();
  assert.equal(m.filter((s) => s.heartbeat === 'may-stop').map((s) => s.id), ['rule-fails-at-evaluation', 'scrape-job-removed']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-matrix-'));
  try {
    const file = path.join(dir, 'm.yaml');
    fs.writeFileSync(file, 'scenarios:\n  - id: x\n    description: x\n    touches: [a]\n    heartbeat: may-stop\n    faults:\n      - load: { pause: [orders] }\n');
    assert.throws(() => loadMatrix(file), /expect: name at least one alert, or heartbeat: stops/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a fault scenario that runs alone shares its wave with nobody', () => {
  const mk = (id: string, alone = false) => ({ id, touches: [id], expect: [], mayAlsoFire: [], alone });
  assert.equal(planWaves([mk('a'), mk('b', true), mk('c'), mk('d')]).map((w) => w.map((s) => s.id)), [['a', 'c', 'd'], ['b']]);
});

test.run();
