import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ALERTS_DIR, ROOT_DIR } from '../alerts/model.ts';
import { PROMETHEUS_3_VERSION } from '../stack/prometheus-version.ts';
import { REQUIRE_PROMETHEUS3, requiredMessage } from './helpers/prometheus3.ts';
import { loadRules } from '../verify/rules.ts';
import { loadCases, layOut, missingTools, runEngineDiff, staleShadows, thresholdOf, type EngineDiffReport } from '../verify/engine-diff.ts';

const DOC = path.join(ROOT_DIR, 'docs/verify-alerts.md');
const HEADING = '### Version-dependent alerts';

/** The alerts docs/verify-alerts.md lists under its version-dependent heading (none when a line starts "None:"). */
function documentedVersionDependent(markdown: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(HEADING);
  if (start < 0) throw new Error(`${DOC} has no "${HEADING}" heading`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => /^#{1,3} /.test(l));
  const section = end < 0 ? rest : rest.slice(0, end);
  if (section.some((l) => l.startsWith('None:'))) return [];
  return section.flatMap((l) => /^- `(\w+)`/.exec(l)?.[1] ?? []);
}

const plan = suite('engine-diff plan');

plan('reads the threshold comparison from the syntax tree, through and/unless gates and parentheses', () => {
  assert.equal(thresholdOf('sum(rate(a{s="x"}[20s])) / sum(rate(a[20s])) > 0.2\nand on() sum(rate(a[20s])) > 0.1'), {
    lhs: 'sum(rate(a{s="x"}[20s])) / sum(rate(a[20s]))',
    op: '>',
    threshold: 0.2,
  });
  assert.equal(thresholdOf('(sum(increase(a[30s])) or on() vector(0)) == 0\nand on() max(b) == 1\nunless on() min(min_over_time(up[30s])) == 0'), {
    lhs: '(sum(increase(a[30s])) or on() vector(0))',
    op: '==',
    threshold: 0,
  });
  assert.equal(thresholdOf('(up{job="x"} >= (2))'), { lhs: 'up{job="x"}', op: '>=', threshold: 2 });
});

plan('finds no threshold where the expression does not filter on a number', () => {
  for (const expr of ['vector(1)', 'x > bool 1', 'x or y > 1', 'x > y', 'absent(x)', 'a + 1 > b']) assert.is(thresholdOf(expr), undefined, expr);
});

plan('loads every promtool case with the alerts it checks and when it expects them', () => {
  const cases = loadCases(path.join(ALERTS_DIR, 'tests'));
  assert.ok(cases.length >= 100, `${cases.length} cases`);
  for (const c of cases) {
    assert.ok(c.alertnames.length > 0, c.name);
    assert.is(c.stepS, 5, c.name);
    assert.ok(c.series.every((s) => s.slots.length > 0 && s.labels.__name__), c.name);
  }
  const firing = cases.filter((c) => / fires /.test(c.name));
  assert.ok(firing.length >= 30, `${firing.length} firing cases`);
  for (const c of firing) assert.ok(Object.keys(c.firingCheckS).length > 0, `${c.name} expects no alert`);
  const restart = cases.find((c) => c.name.includes('gateway just restarted'))!;
  // "5+5x11 stale _ 0x21": the marker at 60 s hides the series until its next sample at 70 s.
  assert.ok(staleShadows(restart).some((w) => w.fromS === 60 && w.toS === 70), JSON.stringify(staleShadows(restart)));
});

plan('places each case on the 5 s grid, further from the next than the lookback plus the longest window', () => {
  const cases = loadCases(path.join(ALERTS_DIR, 'tests'));
  const nowS = 1_800_000_123;
  const layout = layOut(cases, { nowS, longestRangeS: 30 });
  assert.ok(layout.separationS > 300 + 30);
  assert.ok(layout.toS <= nowS - 3 * 3600, 'the newest sample is hours old');
  layout.cases.forEach((p, i) => {
    assert.is(p.startS % 5, 0);
    const next = layout.cases[i + 1];
    if (next) assert.ok(next.startS - (p.startS + p.case.endS) >= layout.separationS, p.case.name);
  });
  assert.ok(layout.cases[0]!.startS - layout.probeStartS >= layout.separationS);
});

plan.run();

const engines = suite<{ report?: EngineDiffReport }>('engine-diff on Prometheus 2.42 and 3.x', {});

engines.before(async (ctx) => {
  ctx.report = await runEngineDiff();
  console.log(`  engine-diff: ${ctx.report.wallS.toFixed(1)} s, condition differs for ${ctx.report.versionDependent.join(', ') || 'no alert'}`);
});

engines('each version answered with every backfilled series', (ctx) => {
  const r = ctx.report!;
  assert.equal(r.engines.map((e) => e.major), ['2', '3']);
  assert.match(r.engines[0]!.version, /^2\.42\./);
  assert.is(r.engines[1]!.version, PROMETHEUS_3_VERSION);
  assert.ok(r.input.series > 50 && r.input.samples > 5000, JSON.stringify(r.input));
  for (const e of r.engines) assert.is(e.seriesLoaded, r.input.series, e.version);
});

engines('sees the known difference: count_over_time over 20 s at an aligned step is 5 under 2.x, 4 under 3.x', (ctx) => {
  assert.equal(ctx.report!.probe.values, { '2': 5, '3': 4 });
});

engines('compares every alert a case checks, at every step, and each version holds every firing case at its check', (ctx) => {
  const r = ctx.report!;
  assert.equal(r.unchecked, []);
  assert.is(r.alerts.length, loadRules(path.join(ALERTS_DIR, 'rules')).length);
  // A firing case that needs a stale marker (absent() of a target gone) cannot fire from backfilled input, which
  // cannot carry one: under both versions the last sample stays visible for the lookback instead.
  const needsStale = new Set(r.input.casesWithStale);
  for (const a of r.alerts) {
    for (const c of a.cases) {
      assert.ok(c.steps >= 5, `${a.alertname} in ${c.case}: ${c.steps} steps`);
      if (c.becameTrueS && !needsStale.has(`${c.file}: ${c.case}`)) assert.ok(c.becameTrueS['2'] !== null && c.becameTrueS['3'] !== null, `${a.alertname} not true at ${c.firingCheckS} s in ${c.case}`);
    }
  }
});

engines('the alerts whose condition differs between versions are the ones docs/verify-alerts.md lists', (ctx) => {
  const documented = documentedVersionDependent(fs.readFileSync(DOC, 'utf8'));
  assert.equal(ctx.report!.versionDependent, [...documented].sort(), `measured ${ctx.report!.versionDependent.join(', ')}; documented ${documented.join(', ')}`);
});

const missing = missingTools();
if (missing.length === 0) engines.run();
else {
  if (REQUIRE_PROMETHEUS3) {
    const required = suite('engine-diff on Prometheus 2.42 and 3.x');
    required('Prometheus 3 is built', () => {
      throw new Error(requiredMessage(missing));
    });
    required.run();
  } else console.log(`${missing.join(' and ')} not built (scripts/ensure-tools --prometheus 3 builds Prometheus ${PROMETHEUS_3_VERSION}): the comparison of the rule engines skipped`);
}
