import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Gauge, Registry } from 'prom-client';
import { ProcessOwner } from '../stack/processes.ts';
import { freePort } from '../stack/ports.ts';
import { startPrometheus, type PrometheusHandle } from '../stack/prometheus.ts';
import { PrometheusApi, type AlertingRule } from '../verify/prometheus-api.ts';

interface Ctx {
  owner?: ProcessOwner;
  prom?: PrometheusHandle;
  api?: PrometheusApi;
  exporter?: http.Server;
  flag?: Gauge;
  dir?: string;
}

const test = suite<Ctx>('prometheus api');

const RULES = `
groups:
  - name: api-test
    interval: 1s
    rules:
      - record: job:tiny_flag:max
        expr: max by (job) (tiny_flag)
      - alert: AlwaysFiring
        expr: vector(1)
        labels: { severity: low }
        annotations: { summary: always }
      - alert: FlagRaised
        expr: tiny_flag > 0
        for: 2s
        labels: { severity: high }
        annotations: { summary: "flag is {{ $value }}" }
`;

test.before(async (ctx) => {
  const registry = new Registry();
  ctx.flag = new Gauge({ name: 'tiny_flag', help: 'Set by the test to drive FlagRaised.', registers: [registry] });
  ctx.flag.set(0);
  ctx.exporter = http.createServer((_req, res) => {
    void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
  });
  await new Promise<void>((resolve) => ctx.exporter!.listen(0, '127.0.0.1', resolve));
  const exporterPort = (ctx.exporter.address() as AddressInfo).port;
  ctx.owner = new ProcessOwner();
  ctx.dir = ctx.owner.tempDir('prom-api');
  fs.writeFileSync(path.join(ctx.dir, 'rules.yml'), RULES);
  const configFile = path.join(ctx.dir, 'p.yml');
  fs.writeFileSync(
    configFile,
    `global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: [${JSON.stringify(path.join(ctx.dir, 'rules.yml'))}]
scrape_configs:
  - job_name: tiny
    static_configs: [{ targets: ['127.0.0.1:${exporterPort}'] }]
`,
  );
  ctx.prom = await startPrometheus(ctx.owner, { configFile });
  ctx.api = new PrometheusApi(`${ctx.prom.url}/`, { pollMs: 100 });
});

test.after(async (ctx) => {
  await ctx.owner?.stopAll();
  await new Promise((resolve) => (ctx.exporter ? ctx.exporter.close(resolve) : resolve(undefined)));
});

test('reports the scrape target up with its job and URL', async (ctx) => {
  const targets = await ctx.api!.waitUntil(async () => {
    const t = await ctx.api!.targets();
    return t.length === 1 && t[0]!.health === 'up' ? t : undefined;
  }, 10_000, 'tiny target up');
  assert.is(targets[0]!.labels.job, 'tiny');
  assert.match(targets[0]!.scrapeUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  assert.is(targets[0]!.lastError, '');
});

test('lists rule groups with health ok once evaluated', async (ctx) => {
  const groups = await ctx.api!.waitUntil(async () => {
    const g = await ctx.api!.rules();
    return g.length === 1 && !g[0]!.lastEvaluation.startsWith('0001') ? g : undefined;
  }, 10_000, 'api-test group evaluated');
  const g = groups[0]!;
  assert.is(g.name, 'api-test');
  assert.is(g.interval, 1);
  assert.equal(g.rules.map((r) => [r.type, r.name, r.health]), [
    ['recording', 'job:tiny_flag:max', 'ok'],
    ['alerting', 'AlwaysFiring', 'ok'],
    ['alerting', 'FlagRaised', 'ok'],
  ]);
  const flagRule = g.rules[2] as AlertingRule;
  assert.is(flagRule.duration, 2);
  assert.is(flagRule.query, 'tiny_flag > 0');
});

test('shows the always-firing alert as firing', async (ctx) => {
  const a = await ctx.api!.waitUntil(async () => (await ctx.api!.alerts()).find((x) => x.labels.alertname === 'AlwaysFiring' && x.state === 'firing'), 10_000, 'AlwaysFiring firing');
  assert.is(a.labels.severity, 'low');
  assert.is(a.annotations.summary, 'always');
  assert.is(Number(a.value), 1);
});

test('the config was loaded no later than the always-firing alert became active, however many evaluations later it is asked', async (ctx) => {
  const a = await ctx.api!.waitUntil(async () => (await ctx.api!.alerts()).find((x) => x.labels.alertname === 'AlwaysFiring'), 10_000, 'AlwaysFiring active');
  const activeAt = Date.parse(a.activeAt);
  // Four evaluations (1 s each) later: the rule groups' lastEvaluation now tells only the latest of them.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, activeAt + 4000 - Date.now())));
  const loadedAt = await ctx.api!.configLoadedAt();
  assert.ok(loadedAt <= activeAt, `config loaded ${loadedAt - activeAt} ms after AlwaysFiring became active`);
  // The first evaluation waits for the group's next slot, at most one interval after the rule manager starts.
  assert.ok(activeAt - loadedAt < 3000, `AlwaysFiring active ${activeAt - loadedAt} ms after the config was loaded`);
});

test('configLoadedAt says so when the /metrics it reads has no config-load gauge', async (ctx) => {
  const notProm = new PrometheusApi(`http://127.0.0.1:${(ctx.exporter!.address() as AddressInfo).port}`);
  try {
    await notProm.configLoadedAt();
    assert.unreachable('an exporter without the gauge must be refused');
  } catch (err) {
    assert.match((err as Error).message, /\/metrics has no prometheus_config_last_reload_success_timestamp_seconds: it has not loaded a config yet/);
  }
});

test('shows a for: 2s alert pending, then firing, with activeAt at the first true evaluation', async (ctx) => {
  const raisedAt = Date.now();
  ctx.flag!.set(3);
  const seen: { state: string; at: number; activeAt: string }[] = [];
  await ctx.api!.waitUntil(async () => {
    const a = (await ctx.api!.alerts()).find((x) => x.labels.alertname === 'FlagRaised');
    if (a && seen.at(-1)?.state !== a.state) seen.push({ state: a.state, at: Date.now(), activeAt: a.activeAt });
    return a?.state === 'firing' ? a : undefined;
  }, 15_000, 'FlagRaised firing');
  assert.equal(seen.map((s) => s.state), ['pending', 'firing']);
  const activeAt = Date.parse(seen[0]!.activeAt);
  assert.is(seen[1]!.activeAt, seen[0]!.activeAt);
  // The flag is seen at the next scrape (<= 1 s) and evaluated at the next tick (<= 1 s); a scrape slowed by a loaded
  // machine can miss that tick and wait one more. A sample is stamped when its scrape starts, so it may predate the flag.
  assert.ok(activeAt >= raisedAt - 1000 && activeAt <= raisedAt + 3000, `activeAt ${activeAt - raisedAt} ms after the flag was raised`);
  const pendingMs = seen[1]!.at - activeAt;
  console.log(`  FlagRaised: activeAt +${activeAt - raisedAt} ms after the flag, firing seen ${pendingMs} ms after activeAt (for: 2s, eval 1s)`);
  assert.ok(pendingMs >= 2000 && pendingMs < 4500, `pending for ${pendingMs} ms`);
  const rule = (await ctx.api!.rules())[0]!.rules.find((r) => r.name === 'FlagRaised') as AlertingRule;
  assert.is(rule.state, 'firing');
  assert.is(rule.alerts[0]!.annotations.summary, 'flag is 3');
  ctx.flag!.set(0);
  await ctx.api!.waitUntil(async () => !(await ctx.api!.alerts()).some((x) => x.labels.alertname === 'FlagRaised'), 10_000, 'FlagRaised resolved');
});

test('answers instant and range queries with typed samples', async (ctx) => {
  ctx.flag!.set(7);
  const v = await ctx.api!.waitUntil(async () => {
    const r = await ctx.api!.query('job:tiny_flag:max');
    return r[0]?.value[1] === '7' ? r : undefined;
  }, 10_000, 'recording rule sees 7');
  assert.equal(v[0]!.metric, { __name__: 'job:tiny_flag:max', job: 'tiny' });
  const scalar = await ctx.api!.query('scalar(tiny_flag) * 2', new Date());
  assert.equal(scalar[0]!.metric, {});
  assert.is(scalar[0]!.value[1], '14');
  const end = Date.now() / 1000;
  const range = await ctx.api!.queryRange('tiny_flag', end - 5, end, 1);
  assert.is(range.length, 1);
  assert.ok(range[0]!.values.length >= 4, `${range[0]!.values.length} points`);
  const times = range[0]!.values.map(([t]) => t);
  assert.equal(times, [...times].sort((a, b) => a - b));
  assert.ok((await ctx.api!.seriesNames()).includes('tiny_flag'));
});

test('reloads changed rule files and rejects a broken one with the reason', async (ctx) => {
  const file = path.join(ctx.dir!, 'rules.yml');
  fs.writeFileSync(file, `${RULES}      - alert: AddedByReload\n        expr: vector(2)\n`);
  await ctx.api!.reload();
  const names = (await ctx.api!.rules())[0]!.rules.map((r) => r.name);
  assert.ok(names.includes('AddedByReload'), names.join(','));
  fs.writeFileSync(file, 'groups: [ { name: broken, rules: [ { alert: X, expr: "sum(" } ] } ]\n');
  try {
    await ctx.api!.reload();
    assert.unreachable('a broken rule file must fail the reload');
  } catch (err) {
    assert.match((err as Error).message, /Prometheus POST http:\/\/127\.0\.0\.1:\d+\/-\/reload answered HTTP 500/);
    assert.match((err as Error).message, /failed to reload config.*promtool check/);
  }
  fs.writeFileSync(file, RULES);
  await ctx.api!.reload();
});

test('names the URL and Prometheus\' reason when a query is invalid', async (ctx) => {
  try {
    await ctx.api!.query('sum(');
    assert.unreachable('invalid PromQL must fail');
  } catch (err) {
    assert.match((err as Error).message, /Prometheus GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/query\?query=sum%28 answered HTTP 400: bad_data: .*parse error/);
  }
});

test('says where and why when Prometheus is not reachable, and waitUntil quotes the last error', async (ctx) => {
  const deadPort = await freePort();
  const gone = new PrometheusApi(`http://127.0.0.1:${deadPort}`, { pollMs: 50 });
  try {
    await gone.waitUntil(() => gone.targets(), 300, 'targets of a dead Prometheus');
    assert.unreachable('must time out');
  } catch (err) {
    const msg = (err as Error).message;
    assert.match(msg, /^timed out after 300 ms waiting for targets of a dead Prometheus; last error: Prometheus GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/targets\?state=active failed: ECONNREFUSED/);
  }
  assert.ok(ctx.api);
});

test.run();
