import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assignWaves, describeSplit, parseShard, planHash, type WaveCost } from '../verify/shard-plan.ts';
import { MergeError, mergeReports, readShardReports } from '../verify/report/merge.ts';
import { StageRunner } from '../verify/stages.ts';
import { evaluate, parseExpected, type ScenarioWindow } from '../verify/evaluate.ts';
import { AlertTimeline } from '../verify/timeline.ts';
import { labelsFingerprint } from '../verify/fingerprint.ts';
import { planMatrix, waveCostS } from '../verify/harness.ts';
import { DEFAULT_MATRIX, loadMatrix } from '../verify/matrix.ts';
import { loadRules } from '../verify/rules.ts';
import { judgingFor } from '../verify/judging.ts';
import { loadTiming } from '../alerts/budget.ts';
import { loadAlertCatalog } from '../verify/alert-catalog.ts';
import type { RunReport } from '../verify/results.ts';

const test = suite('shards');
const root = path.resolve(import.meta.dirname, '..');

const waves = (costs: number[]): WaveCost[] => costs.map((costS, i) => ({ wave: i + 1, ids: [`s${i + 1}`], costS }));

test('parseShard reads i/N and says what a shard looks like otherwise', () => {
  assert.equal(parseShard('2/4'), { index: 2, total: 4 });
  for (const bad of ['0/4', '5/4', '2', 'a/b', '1/0']) assert.throws(() => parseShard(bad), /expected i\/N/);
});

test('every wave goes to exactly one shard, each shard runs its waves in matrix order', () => {
  const w = waves([90, 100, 110, 80, 140, 110, 110, 60]);
  for (const total of [1, 2, 3, 4]) {
    const parts = assignWaves(w, total, 40);
    assert.equal(parts.flat().sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
    for (const p of parts) assert.equal(p, [...p].sort((a, b) => a - b));
    assert.is(parts.length, total);
  }
});

test('the split balances the estimated time, counting the control window on shard 1', () => {
  const w = waves([100, 100, 100, 100]);
  assert.equal(assignWaves(w, 2, 0), [[1, 3], [2, 4]]);
  // Shard 1 holds the control window: the busiest shard runs no longer than the best split of 500 s onto two (300 s).
  const longest = (parts: number[][], head: number): number => Math.max(...parts.map((p, i) => p.length * 100 + (i === 0 ? head : 0)));
  assert.is(longest(assignWaves(w, 2, 100), 100), 300);
  assert.equal(assignWaves(waves([100, 100, 100]), 2, 150).map((p) => p.length), [1, 2], 'a long control window takes a wave off shard 1');
  const lines = describeSplit(w, [[1], [2, 3, 4]], 100);
  assert.equal(lines, ['shard 1/2: waves 1 (estimated 200 s, with the control window)', 'shard 2/2: waves 2, 3, 4 (estimated 300 s)']);
});

test('the split of the real matrix is the same on every call (a CI matrix computes it once per machine)', () => {
  const rules = loadRules(path.join(root, 'alerts/rules'));
  const judging = judgingFor(loadTiming(path.join(root, 'alerts/prometheus.yml')), loadAlertCatalog(path.join(root, 'alerts/alerts.json'), '2'));
  const plan = () => planMatrix(loadMatrix(DEFAULT_MATRIX), rules).map((wave, i) => ({ wave: i + 1, ids: wave.map((p) => p.id), costS: waveCostS(wave, judging) }));
  const a = plan();
  assert.equal(assignWaves(a, 4, 40), assignWaves(plan(), 4, 40));
  assert.is(planHash(a, 4), planHash(plan(), 4));
  assert.is.not(planHash(a, 4), planHash(a, 3), 'the shard count is part of the plan');
  assert.ok(a.every((w) => w.costS > 0 && Number.isFinite(w.costS)));
});

test('stages tear down newest first, also when a stage fails, and record their times', async () => {
  const order: string[] = [];
  const lines: string[] = [];
  const runner = new StageRunner(Date.now(), (l) => lines.push(l));
  runner.defer('owner', () => void order.push('owner'));
  await runner.stage('a', async () => order.push('setup a'), () => void order.push('teardown a'));
  const failed = runner.stage('b', async () => {
    order.push('setup b');
    throw new Error('b broke');
  }, () => {
    order.push('teardown b');
    throw new Error('teardown b broke too');
  });
  const err = await failed.then(() => undefined, (e: Error) => e);
  assert.match(err?.message ?? 'resolved', /b broke/);
  await runner.teardown();
  await runner.teardown();
  assert.equal(order, ['setup a', 'setup b', 'teardown b', 'teardown a', 'owner']);
  assert.equal(lines, ['teardown of b failed: teardown b broke too']);
  const t = runner.timings();
  assert.equal(t.map((x) => x.name), ['a', 'b']);
  assert.is(t[1]!.error, 'b broke');
  assert.ok(t.every((x) => x.wallS >= 0 && x.startS >= 0));
});

// Two shards judged from observations, as the harness does: shard 1 runs db-down (and the control window), shard 2 runs
// cache-down; OrphanAlert is expected by no scenario; Noisy fires without its fault on shard 2.
const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number): number => T0 + s * 1000;
const iso = (s: number): string => new Date(at(s)).toISOString();
const J = { skewMs: 5000, alwaysFiring: ['Watchdog'], budgetS: new Map<string, number>() };
const all = ['DatabaseDown', 'CacheDown', 'Noisy', 'OrphanAlert'];
const covered = new Set(['DatabaseDown', 'CacheDown', 'Noisy']);

function win(id: string, alert: string, wave: number): ScenarioWindow {
  return { id, description: id, wave, injectedAt: at(0), recoveredAt: at(30), endedAt: at(90), expect: [parseExpected(alert)], mayAlsoFire: [], deadlineS: 60, resetS: 45 };
}

function fired(tl: AlertTimeline, alertname: string, p: number, n: number, e: number): void {
  const labels = { alertname };
  for (let s = p; s < e; s++) tl.observe([{ labels, state: s >= p + 5 ? 'firing' : 'pending', activeAt: iso(p) }], at(s));
  tl.notify([{ status: 'firing', labels, fingerprint: labelsFingerprint(labels), startsAt: iso(p + 5) }], at(n));
  tl.observe([], at(e));
  tl.notify([{ status: 'resolved', labels, fingerprint: labelsFingerprint(labels), startsAt: iso(p + 5) }], at(e + 1));
}

function shardReport(index: number, build: (tl: AlertTimeline) => void, windows: ScenarioWindow[], judged: string[], plan = 'p1'): RunReport {
  const tl = new AlertTimeline();
  build(tl);
  const ev = evaluate({ ...J, windows, episodes: tl.episodes(), ruleNames: all, coveredElsewhere: covered });
  ev.rules = ev.rules.filter((r) => judged.includes(r.alertname));
  const passed = ev.rules.filter((r) => r.passed).length;
  return {
    runId: `run-shard-${index}-of-2`,
    startedAt: iso(-60 + index),
    finishedAt: iso(100 + index),
    wallS: 160,
    repeat: 1,
    options: {},
    versions: { prometheus: '2.42.0', alertmanager: '0.25.0' },
    shard: { index, total: 2, plan, waves: windows.map((w) => w.wave) },
    preflight: { ok: true, checks: [{ name: 'Alertmanager ready', ok: true, detail: '' }] },
    control: { durationS: index === 1 ? 40 : 0, falsePositives: [] },
    ...ev,
    stages: [{ name: 'stack', startS: 0, wallS: 10 }],
    passed,
    failed: ev.rules.length - passed,
  };
}

const one = (): RunReport => shardReport(1, (tl) => fired(tl, 'DatabaseDown', 5, 15, 40), [win('db-down', 'DatabaseDown', 1)], ['DatabaseDown', 'OrphanAlert']);
const two = (): RunReport => shardReport(2, (tl) => { fired(tl, 'CacheDown', 5, 20, 40); fired(tl, 'Noisy', 95, 100, 110); }, [win('cache-down', 'CacheDown', 2)], ['CacheDown', 'Noisy']);

test('a rule another shard covers has no coverage gap; one no scenario expects still has', () => {
  const r = one();
  assert.equal(r.rules.map((x) => [x.alertname, x.passed]), [['DatabaseDown', true], ['OrphanAlert', false]]);
  assert.match(r.rules[1]!.reasons[0]!, /no scenario expects/);
});

test('merged shards give the verdicts and counts of one run', () => {
  const m = mergeReports([two(), one()], 'merged');
  assert.equal(m.scenarios.map((s) => s.id), ['db-down', 'cache-down'], 'in wave order');
  assert.equal(m.rules.map((r) => [r.alertname, r.passed]), [['CacheDown', true], ['DatabaseDown', true], ['Noisy', false], ['OrphanAlert', false]]);
  assert.equal([m.passed, m.failed], [2, 2]);
  assert.is(m.falsePositives.length, 1);
  assert.is(m.falsePositives[0]!.during, 'between scenarios, shard 2/2', 'a time outside the waves is a shard\'s own');
  // Three episodes fired in all, one of them without its fault.
  assert.is(m.quality.fired, 3);
  assert.is(Math.round(m.quality.precision * 1000) / 1000, 0.667);
  assert.is(m.quality.recall, 1);
  assert.is(m.quality.detectionMedianS, 17.5);
  assert.equal(m.preflight.checks.map((c) => c.name), ['shard 1/2: Alertmanager ready', 'shard 2/2: Alertmanager ready']);
  assert.equal(m.shards!.map((s) => [s.index, s.waves]), [[1, [1]], [2, [2]]]);
  assert.is(m.control.durationS, 40);
  assert.is(m.startedAt, iso(-59));
  assert.is(m.finishedAt, iso(102));
});

test('a rule judged in two shards fails with the reasons of both', () => {
  const a = one();
  const b = two();
  b.rules.push({ alertname: 'DatabaseDown', passed: false, reasons: ['fired without its fault (firing at x, wave 2)'] });
  const m = mergeReports([a, b], 'merged');
  const db = m.rules.find((r) => r.alertname === 'DatabaseDown')!;
  assert.is(db.passed, false);
  assert.equal(db.reasons, ['fired without its fault (firing at x, wave 2)']);
});

test('merging refuses a missing shard, a shard given twice, mixed plans, versions and unsharded runs', () => {
  assert.throws(() => mergeReports([one()], 'm'), (e: Error) => e instanceof MergeError && /missing shard 2\/2 of plan p1/.test(e.message));
  assert.throws(() => mergeReports([one(), one()], 'm'), /shard 1\/2 given twice/);
  const other = shardReport(2, () => undefined, [win('cache-down', 'CacheDown', 2)], [], 'p2');
  assert.throws(() => mergeReports([one(), other], 'm'), /plan p2.*merge the shards of one matrix/);
  const v = two();
  v.versions = { prometheus: '3.16.0' };
  assert.throws(() => mergeReports([one(), v], 'm'), /different versions/);
  const plain = one();
  delete plain.shard;
  assert.throws(() => mergeReports([plain, two()], 'm'), /is not a shard/);
  assert.throws(() => mergeReports([], 'm'), /nothing to merge/);
});

test('readShardReports takes a report folder or the reports folder holding one run', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-merge-'));
  try {
    fs.mkdirSync(path.join(dir, 'a/verify-x'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'a/verify-x/report.json'), JSON.stringify(one()));
    fs.mkdirSync(path.join(dir, 'b'));
    fs.writeFileSync(path.join(dir, 'b/report.json'), JSON.stringify(two()));
    const m = mergeReports(readShardReports([path.join(dir, 'a'), path.join(dir, 'b')]), 'm');
    assert.is(m.scenarios.length, 2);
    assert.throws(() => readShardReports([path.join(dir, 'nowhere')]), /nowhere: no report.json/);
    fs.mkdirSync(path.join(dir, 'c'));
    fs.writeFileSync(path.join(dir, 'c/report.json'), '{ not json');
    assert.throws(() => readShardReports([path.join(dir, 'c')]), /not a verify-alerts report/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
