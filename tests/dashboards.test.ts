// Dashboards as code: checked-in JSON equals the generator's output, every alert's dashboard_url lands on a panel, units everywhere.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { DASHBOARDS } from '../alerts/model.ts';
import { PANELS } from '../alerts/panels.ts';
import { DATASOURCE, withRateInterval } from '../dashboards/src/common.ts';
import { buildAll, renderAll, staleFiles, DASHBOARDS_DIR } from '../dashboards/src/generate.ts';
import { dashboardQueries, loadDashboards, panelForUrl, resolveGrafanaVariables, variableToPromQL, type DashboardJson } from '../verify/dashboards.ts';

const test = suite('dashboards');
const ROOT = path.resolve(import.meta.dirname, '..');

interface FullPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: Array<{ refId: string; expr: string }>;
}
const panelsOf = (d: DashboardJson): FullPanel[] => (d.panels as unknown as FullPanel[]).filter((p) => p.type !== 'row');

test('checked-in dashboards/*.json equal the generator output', () => {
  assert.equal(staleFiles(), [], 'run npm run dashboards and commit dashboards/*.json');
});

test('a hand edit to a generated dashboard is reported as stale', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboards-'));
  try {
    for (const [file, text] of renderAll()) fs.writeFileSync(path.join(dir, file), text);
    assert.equal(staleFiles(dir), []);
    const file = path.join(dir, 'health.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"Execution gateway up"', '"Gateway up"'));
    fs.rmSync(path.join(dir, 'trading.json'));
    assert.equal(staleFiles(dir).sort(), ['health.json', 'trading.json']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the three dashboards carry the uids and titles the alerts link to', () => {
  const got = loadDashboards().map((d) => [d.uid, d.title]).sort();
  assert.equal(got, Object.values(DASHBOARDS).map((d) => [d.uid, d.title]).sort());
});

test("every alert's dashboard_url in alerts/rules points at an existing panel", () => {
  const dashboards = loadDashboards();
  const dir = path.join(ROOT, 'alerts/rules');
  let alerts = 0;
  const broken: string[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.yml'))) {
    const doc = parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; annotations?: { dashboard_url?: string } }> }> };
    for (const rule of doc.groups.flatMap((g) => g.rules)) {
      if (!rule.alert) continue;
      alerts++;
      const url = rule.annotations?.dashboard_url;
      if (!url || !panelForUrl(dashboards, url)) broken.push(`${rule.alert}: ${url ?? 'no dashboard_url'}`);
    }
  }
  assert.ok(alerts >= 30, `read ${alerts} alerts`);
  assert.equal(broken, []);
});

test('panelForUrl finds no panel for an unknown id, a row, or another dashboard', () => {
  const dashboards = loadDashboards();
  assert.ok(panelForUrl(dashboards, 'http://localhost:3000/d/alertproof-health?viewPanel=1'));
  assert.is(panelForUrl(dashboards, 'http://localhost:3000/d/alertproof-health?viewPanel=77'), undefined);
  assert.is(panelForUrl(dashboards, 'http://localhost:3000/d/alertproof-health?viewPanel=900'), undefined, 'row ids are not panels');
  assert.is(panelForUrl(dashboards, 'http://localhost:3000/d/nope?viewPanel=1'), undefined);
});

test('each alert-linked panel shows the query alerts/panels.ts names, with $__rate_interval', () => {
  const byKey = buildAll();
  const files: Record<keyof typeof PANELS, string> = { trading: 'trading.json', health: 'health.json', performance: 'performance.json', alerting: 'alerting.json' };
  for (const [key, panels] of Object.entries(PANELS) as Array<[keyof typeof PANELS, (typeof PANELS)['health']]>) {
    const d = byKey.get(files[key]) as unknown as DashboardJson;
    for (const p of panels) {
      const panel = panelsOf(d).find((x) => x.id === p.id);
      assert.ok(panel, `${key} panel ${p.id}`);
      assert.is(panel!.title, p.title);
      assert.is(panel!.targets?.[0]?.expr, withRateInterval(p.query));
    }
  }
});

test('every panel has a unit, the provisioned datasource, unique ids, lettered refIds and a place on the grid', () => {
  for (const d of loadDashboards()) {
    const panels = panelsOf(d);
    const ids = d.panels.map((p) => p.id);
    assert.is(new Set(ids).size, ids.length, `${d.uid}: duplicate panel ids`);
    const cells = new Set<string>();
    for (const p of panels) {
      assert.ok(p.fieldConfig?.defaults?.unit, `${d.uid} panel ${p.id} "${p.title}" has no unit`);
      assert.ok(p.targets && p.targets.length > 0, `${d.uid} panel ${p.id} has no query`);
      assert.equal(p.targets!.map((t) => t.refId), p.targets!.map((_, i) => String.fromCharCode(65 + i)));
      assert.equal((p as unknown as { datasource: unknown }).datasource, DATASOURCE);
      assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, `${d.uid} panel ${p.id} leaves the 24-column grid`);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          assert.not.ok(cells.has(`${x},${y}`), `${d.uid} panel ${p.id} overlaps another panel at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
      }
    }
  }
});

test('rate windows are $__rate_interval, never a fixed duration', () => {
  const fixed = loadDashboards()
    .flatMap(dashboardQueries)
    .filter((q) => /\[\d+[smh]\]/.test(q.expr) || (/\b(rate|increase)\(/.test(q.expr) && !q.expr.includes('[$__rate_interval]')));
  assert.equal(fixed.map((q) => `${q.dashboardUid} ${q.where}: ${q.expr}`), []);
});

test('every dashboard shows firing alerts as annotations', () => {
  for (const d of loadDashboards()) {
    const ann = dashboardQueries(d).filter((q) => q.kind === 'annotation');
    assert.is(ann.length, 1, d.uid);
    assert.match(ann[0]!.expr, /^ALERTS\{alertstate="firing"/);
  }
});

test('Grafana variables resolve to PromQL; an unknown variable is an error, not a silent pass', () => {
  assert.is(resolveGrafanaVariables('rate(x{symbol=~"$symbol"}[$__rate_interval])'), 'rate(x{symbol=~".*"}[20s])');
  assert.is(resolveGrafanaVariables('increase(x[${__range}])', { rateInterval: '20s', interval: '5s', range: '1h', variables: {} }), 'increase(x[1h])');
  assert.throws(() => resolveGrafanaVariables('x{a="$nope"}'), /unknown Grafana variable \$nope/);
  assert.equal(variableToPromQL('label_values(execution_gateway_positions_current, symbol)'), { expr: 'group by (symbol) (execution_gateway_positions_current)', label: 'symbol' });
});

test('the Grafana provisioning in compose/ uses the dashboards\' datasource uid and the mounted dashboards path', () => {
  const ds = parse(fs.readFileSync(path.join(ROOT, 'compose/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: Array<{ uid: string; type: string; url: string; jsonData: { timeInterval: string } }> };
  assert.is(ds.datasources[0]!.uid, DATASOURCE.uid);
  assert.is(ds.datasources[0]!.type, DATASOURCE.type);
  const prom = parse(fs.readFileSync(path.join(ROOT, 'alerts/prometheus.yml'), 'utf8')) as { global: { scrape_interval: string } };
  assert.is(ds.datasources[0]!.jsonData.timeInterval, prom.global.scrape_interval, '$__rate_interval is derived from the scrape interval');
  const prov = parse(fs.readFileSync(path.join(ROOT, 'compose/grafana/provisioning/dashboards/alertproof.yml'), 'utf8')) as { providers: Array<{ options: { path: string } }> };
  const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { volumes?: string[] }> };
  const mount = compose.services.grafana!.volumes!.find((v) => v.startsWith('./dashboards:'));
  assert.ok(mount, 'grafana mounts ./dashboards');
  assert.is(mount!.split(':')[1], prov.providers[0]!.options.path);
  assert.ok(fs.existsSync(path.join(DASHBOARDS_DIR, 'health.json')));
});

test.run();
