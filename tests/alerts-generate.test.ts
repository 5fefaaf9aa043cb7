import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { CATALOG } from '../alerts/catalog/index.ts';
import { DATA_QUALITY } from '../alerts/catalog/data-quality.ts';
import { PERFORMANCE } from '../alerts/catalog/performance.ts';
import { SERVICE_HEALTH } from '../alerts/catalog/service-health.ts';
import { TRADING } from '../alerts/catalog/trading.ts';
import { ALERTING } from '../alerts/catalog/alerting.ts';
import { differences, renderAll, renderTemplate } from '../alerts/generate.ts';
import { coverageGaps, testCoverage } from '../alerts/coverage.ts';
import { loadRules } from '../alerts/budget.ts';
import { ALERTS_DIR, CATEGORIES, DASHBOARDS, loadThresholds } from '../alerts/model.ts';
import { BUDGET_S, DEFAULT_SETTINGS, settingsFromEnv } from '../alerts/settings.ts';

const test = suite('alerts generator');

test('checked-in rules, tests, runbooks, alerts.json and panels.yaml equal the generator output', () => {
  const diff = differences(renderAll().files);
  assert.equal(diff, [], `run npx tsx alerts/generate.ts; out of date: ${diff.join(', ')}`);
});

test('reports a hand edit to a generated file as a difference', () => {
  const { files } = renderAll();
  const edited = new Map(files);
  edited.set('rules/trading.yml', `${files.get('rules/trading.yml')}# hand edit\n`);
  assert.equal(differences(edited), ['rules/trading.yml (differs)']);
});

test('has at least 30 alerts covering every required failure mode', () => {
  const names = new Set(CATALOG.map((d) => d.name));
  assert.ok(names.size >= 30, `only ${names.size} alerts`);
  const required = [
    'ExecutionGatewayDown', 'SignalServiceDown', 'OrchestratorDown', 'MarketDataDown', 'FakeAlpacaDown',
    'ExecutionGatewayDatabaseDisconnected', 'ExecutionGatewayRedisDisconnected', 'MarketDataWebSocketDisconnected', 'ExecutionGatewayAlpacaDisconnected',
    'SignalServiceModelNotLoaded', 'OrderRejectionRateHigh', 'NoOrdersWhileMarketOpen', 'CircuitBreakerTripped', 'OrchestrationRunsFailing',
    'NoSignalsGenerated', 'NoMarketData', 'MarketDataReconnectStorm', 'AlpacaApiErrorRateHigh', 'SlowOrderPlacement', 'SlowSignalGeneration',
    'SlowOrchestration', 'SignalServiceModelReloadFailing', 'Watchdog',
  ];
  assert.equal(required.filter((r) => !names.has(r)), []);
});

test('each category file of alerts/catalog/ defines only alerts of its category (the runbooks name that file)', () => {
  const files = { 'service-health': SERVICE_HEALTH, trading: TRADING, 'data-quality': DATA_QUALITY, performance: PERFORMANCE, alerting: ALERTING };
  assert.equal(Object.keys(files), [...CATEGORIES]);
  for (const [category, defs] of Object.entries(files)) assert.equal(defs.filter((d) => d.category !== category).map((d) => d.name), [], `alerts/catalog/${category}.ts`);
  assert.is(Object.values(files).flat().length, CATALOG.length);
});

test('every rule carries severity, category, service and the four annotations, in its category file', () => {
  for (const category of CATEGORIES) {
    const doc = parse(fs.readFileSync(path.join(ALERTS_DIR, 'rules', `${category}.yml`), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; labels: Record<string, string>; annotations: Record<string, string> }> }> };
    for (const rule of doc.groups.flatMap((g) => g.rules)) {
      assert.ok(/^[A-Z][A-Za-z0-9]+$/.test(rule.alert), `${rule.alert} is not CamelCase`);
      assert.ok(['critical', 'high', 'medium', 'low'].includes(rule.labels.severity!), `${rule.alert} severity`);
      assert.is(rule.labels.category, category, `${rule.alert} category`);
      assert.ok(rule.labels.service, `${rule.alert} service`);
      assert.ok(rule.annotations.summary, `${rule.alert} summary`);
      assert.match(rule.annotations.description!, /\$value/, `${rule.alert} description shows the live value`);
      // Absolute, so a notification's link opens the runbook; the file it names is the generated one.
      assert.is(rule.annotations.runbook_url, `${DEFAULT_SETTINGS.runbookBaseUrl}/${rule.alert}.md`);
      assert.ok(fs.existsSync(path.join(ALERTS_DIR, 'runbooks', `${rule.alert}.md`)), `${rule.alert} runbook file`);
      const uids = Object.values(DASHBOARDS).map((d) => d.uid).join('|');
      assert.match(rule.annotations.dashboard_url!, new RegExp(`^${DEFAULT_SETTINGS.grafanaUrl}/d/(${uids})\\?viewPanel=\\d+$`));
    }
  }
});

test('links runbooks and dashboards under the Grafana and runbook base the environment sets, defaults otherwise', () => {
  assert.equal(settingsFromEnv({}), DEFAULT_SETTINGS);
  const settings = settingsFromEnv({ ALERTPROOF_GRAFANA_URL: 'https://grafana.example.com/', ALERTPROOF_RUNBOOK_BASE_URL: 'https://git.example.com/ops/alertproof/-/blob/main/alerts/runbooks' });
  const { rules, files } = renderAll(loadThresholds(), undefined, settings);
  const down = rules.find((r) => r.alert === 'ExecutionGatewayDown')!;
  assert.is(down.annotations.runbook_url, 'https://git.example.com/ops/alertproof/-/blob/main/alerts/runbooks/ExecutionGatewayDown.md');
  assert.match(down.annotations.dashboard_url!, /^https:\/\/grafana\.example\.com\/d\/alertproof-health\?viewPanel=1$/);
  assert.match(files.get('runbooks/ExecutionGatewayDown.md')!, /\[dashboard\]\(https:\/\/grafana\.example\.com\/d\//);
  assert.throws(() => settingsFromEnv({ ALERTPROOF_RUNBOOK_BASE_URL: 'alerts/runbooks' }), /ALERTPROOF_RUNBOOK_BASE_URL="alerts\/runbooks" is not an absolute http\(s\) URL/);
  assert.throws(() => settingsFromEnv({ ALERTPROOF_GRAFANA_URL: 'http://g/?orgId=1' }), /ALERTPROOF_GRAFANA_URL/);
});

test('every alert has a runbook with Meaning, Impact, Diagnosis and Mitigation', () => {
  for (const rule of loadRules()) {
    const text = fs.readFileSync(path.join(ALERTS_DIR, 'runbooks', `${rule.alert}.md`), 'utf8');
    for (const section of ['## Meaning', '## Impact', '## Diagnosis', '## Mitigation']) assert.ok(text.includes(section), `${rule.alert} runbook lacks ${section}`);
  }
});

test('every dashboard_url panel is listed in panels.yaml under the same dashboard', () => {
  const doc = parse(fs.readFileSync(path.join(ALERTS_DIR, 'panels.yaml'), 'utf8')) as { dashboards: Array<{ uid: string; panels: Array<{ id: number; alerts: string[] }> }> };
  for (const rule of loadRules()) {
    const m = /\/d\/([^?]+)\?viewPanel=(\d+)/.exec(rule.annotations.dashboard_url!)!;
    const panel = doc.dashboards.find((d) => d.uid === m[1])?.panels.find((p) => p.id === Number(m[2]));
    assert.ok(panel?.alerts.includes(rule.alert), `${rule.alert} -> ${m[1]} panel ${m[2]} missing from panels.yaml`);
  }
});

test('alerts.json lists every alert with severity, category, service and worst case', () => {
  const doc = JSON.parse(fs.readFileSync(path.join(ALERTS_DIR, 'alerts.json'), 'utf8')) as { alerts: Array<{ name: string; severity: string; worstCaseS: Record<string, number> }> };
  assert.equal(doc.alerts.map((a) => a.name).sort(), loadRules().map((r) => r.alert).sort());
  for (const a of doc.alerts) {
    for (const [major, s] of Object.entries(a.worstCaseS)) assert.ok(s > 0 && s <= BUDGET_S, `${a.name} worst case under Prometheus ${major}: ${s}`);
    // Left-open ranges (3.x) hold one sample fewer: never a longer fill than 2.x's.
    assert.ok(a.worstCaseS['3']! <= a.worstCaseS['2']!, `${a.name}: 3.x worst case above 2.x's`);
  }
});

test('every alert has a firing and a quiet promtool case (the Watchdog only a firing one)', () => {
  assert.equal(coverageGaps(), []);
});

test('the coverage check names an alert whose tests were removed', () => {
  const coverage = testCoverage();
  coverage.firing.delete('CircuitBreakerTripped');
  coverage.quiet.delete('NoMarketData');
  assert.equal(coverageGaps(loadRules(), coverage), ['NoMarketData has no promtool test where it stays quiet', 'CircuitBreakerTripped has no promtool test where it fires']);
});

test('a rewritten threshold flows into the rule expression', () => {
  const thresholds = loadThresholds();
  thresholds.OrderRejectionRateHigh = { ...thresholds.OrderRejectionRateHigh!, threshold: 0.35 };
  const rule = renderAll(thresholds).rules.find((r) => r.alert === 'OrderRejectionRateHigh')!;
  assert.match(rule.expr, /> 0\.35\n/);
});

test('refuses a threshold its firing case can no longer cross', () => {
  const thresholds = loadThresholds();
  thresholds.OrderRejectionRateHigh = { ...thresholds.OrderRejectionRateHigh!, threshold: 0.9 };
  assert.throws(() => renderAll(thresholds), /no longer crosses the threshold/);
});

test('refuses thresholds for an alert that does not exist', () => {
  assert.throws(() => renderAll({ ...loadThresholds(), NoSuchAlert: { for: '5s' } }), /unknown alerts: NoSuchAlert/);
});

test('renders descriptions the way Prometheus prints $value and labels', () => {
  assert.is(renderTemplate('up = {{ $value }} at {{ $labels.instance }}', { instance: 'gw:1' }, 0), 'up = 0 at gw:1');
  assert.is(renderTemplate('{{ printf "%.2f" $value }} s', {}, 1.95), '1.95 s');
  assert.throws(() => renderTemplate('{{ $value }}', {}, 0.5), /non-integer/);
  assert.throws(() => renderTemplate('{{ printf "%.2f" $value }}', {}, 0.125), /rounding tie/);
  assert.throws(() => renderTemplate('{{ $value | humanize }}', {}, 1), /not supported/);
});

test.run();
