import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { alertmanagerConfig } from '../alerts/alertmanager-config.ts';
import { routesFor } from '../alerts/budget.ts';
import { CATALOG } from '../alerts/catalog/index.ts';
import { ALERTS_DIR } from '../alerts/model.ts';
import { ProcessOwner } from '../stack/processes.ts';
import { startAlertmanager, type AlertmanagerHandle } from '../stack/alertmanager.ts';
import { renderAlertmanagerConfig } from '../stack/render.ts';

const CONFIG = path.join(ALERTS_DIR, 'alertmanager.yml');

interface Notification {
  receiver: string;
  status: string;
  alerts: Array<{ labels: Record<string, string> }>;
  at: number;
  /** The URL path it was posted to (the receiver's channel). */
  path: string;
}

interface Ctx {
  owner?: ProcessOwner;
  am?: AlertmanagerHandle;
  hook?: http.Server;
  hookUrl?: string;
  notifications: Notification[];
}

function amtool(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('amtool', args, { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

const labelArgs = (labels: Record<string, string>): string[] => Object.entries(labels).map(([k, v]) => `${k}=${v}`);

const test = suite<Ctx>('alerts alertmanager', { notifications: [] });

test.before(async (ctx) => {
  ctx.hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      ctx.notifications.push({ ...(JSON.parse(body) as Omit<Notification, 'at' | 'path'>), at: Date.now(), path: req.url ?? '' });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => ctx.hook!.listen(0, '127.0.0.1', resolve));
  ctx.hookUrl = `http://127.0.0.1:${(ctx.hook.address() as AddressInfo).port}/alertmanager`;
  ctx.owner = new ProcessOwner();
  const configFile = path.join(ctx.owner.tempDir('am-config'), 'alertmanager.yml');
  fs.writeFileSync(configFile, renderAlertmanagerConfig(fs.readFileSync(CONFIG, 'utf8'), { webhookUrl: ctx.hookUrl }));
  ctx.am = await startAlertmanager(ctx.owner, { configFile });
});

test.after(async (ctx) => {
  await ctx.owner?.stopAll();
  ctx.hook?.closeAllConnections();
  await new Promise<void>((resolve) => (ctx.hook ? ctx.hook.close(() => resolve()) : resolve()));
});

test('amtool check-config accepts alertmanager.yml', async () => {
  const r = await amtool(['check-config', CONFIG]);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /4 inhibit rules/);
  assert.match(r.out, /8 receivers/);
});

test('amtool accepts the config rendered for two always-firing alerts (the regex form of the heartbeat matchers)', async (ctx) => {
  const heartbeat = { ...CATALOG.find((d) => d.alwaysFiring)!, name: 'RulesHeartbeat' };
  const file = path.join(ctx.owner!.tempDir('am-two-heartbeats'), 'alertmanager.yml');
  fs.writeFileSync(file, alertmanagerConfig(fs.readFileSync(path.join(ALERTS_DIR, 'alertmanager.template.yml'), 'utf8'), [...CATALOG, heartbeat]));
  assert.is((await amtool(['check-config', file])).code, 0);
  const r = await amtool(['config', 'routes', 'test', `--config.file=${file}`, '--verify.receivers=watchdog', 'alertname=RulesHeartbeat', 'severity=low', 'run_id=r1']);
  assert.is(r.code, 0, r.out);
});

const ROUTES: Array<{ labels: Record<string, string>; receivers: string[] }> = [
  { labels: { alertname: 'ExecutionGatewayDown', severity: 'critical', service: 'execution-gateway' }, receivers: ['pagerduty', 'slack', 'critical'] },
  { labels: { alertname: 'ExecutionGatewayDown', severity: 'critical', service: 'execution-gateway', run_id: 'r1' }, receivers: ['critical'] },
  { labels: { alertname: 'SignalServiceDown', severity: 'high', service: 'signal-service' }, receivers: ['slack', 'high'] },
  { labels: { alertname: 'SignalServiceDown', severity: 'high', service: 'signal-service', run_id: 'r1' }, receivers: ['high'] },
  { labels: { alertname: 'SlowSignalGeneration', severity: 'medium', service: 'signal-service' }, receivers: ['medium'] },
  { labels: { alertname: 'SomeLowAlert', severity: 'low', service: 'orchestrator' }, receivers: ['low'] },
  { labels: { alertname: 'Watchdog', severity: 'low', service: 'alerting', run_id: 'r1' }, receivers: ['watchdog'] },
  // The alerting pipeline's own alerts take their own receiver (after production paging), never the severity ones.
  { labels: { alertname: 'AlertmanagerDown', severity: 'critical', category: 'alerting', service: 'alertmanager' }, receivers: ['pagerduty', 'slack', 'alerting'] },
  { labels: { alertname: 'AlertmanagerDown', severity: 'critical', category: 'alerting', service: 'alertmanager', run_id: 'r1' }, receivers: ['alerting'] },
  { labels: { alertname: 'AlertmanagerNotificationsFailing', severity: 'high', category: 'alerting', service: 'alertmanager', run_id: 'r1' }, receivers: ['alerting'] },
  { labels: { alertname: 'PrometheusRuleEvaluationFailures', severity: 'high', category: 'alerting', service: 'prometheus', run_id: 'r1' }, receivers: ['alerting'] },
];

for (const c of ROUTES) {
  test(`routes severity=${c.labels.severity}${c.labels.run_id ? ' with run_id' : ''} (${c.labels.alertname}) to ${c.receivers.join(',')}`, async () => {
    const r = await amtool(['config', 'routes', 'test', `--config.file=${CONFIG}`, `--verify.receivers=${c.receivers.join(',')}`, ...labelArgs(c.labels)]);
    assert.is(r.code, 0, r.out);
    // The budget check walks the same tree; it must agree with Alertmanager's own walk.
    assert.equal(routesFor(c.labels).map((x) => x.receiver), c.receivers);
  });
}

test('amtool fails a route test that expects the wrong receiver', async () => {
  const r = await amtool(['config', 'routes', 'test', `--config.file=${CONFIG}`, '--verify.receivers=low', 'severity=critical', 'run_id=r1']);
  assert.is.not(r.code, 0);
});

interface ApiAlert {
  labels: Record<string, string>;
  status: { state: string; inhibitedBy: string[] };
}

test('a service that is down inhibits its own and its dependants\' alerts, within the same run only', async (ctx) => {
  const alert = (labels: Record<string, string>): object => ({ labels: { run_id: 'r1', ...labels }, annotations: { summary: 'test' } });
  const post = await fetch(`${ctx.am!.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([
      alert({ alertname: 'ExecutionGatewayDown', severity: 'critical', category: 'service-health', service: 'execution-gateway' }),
      alert({ alertname: 'ExecutionGatewayDatabaseDisconnected', severity: 'critical', category: 'service-health', service: 'execution-gateway' }),
      alert({ alertname: 'OrchestratorExecutionGatewayUnavailable', severity: 'high', category: 'service-health', service: 'orchestrator', dependency: 'execution-gateway' }),
      alert({ alertname: 'SignalServiceDatabaseDisconnected', severity: 'high', category: 'service-health', service: 'signal-service' }),
      alert({ alertname: 'MarketDataWebSocketDisconnected', severity: 'high', category: 'service-health', service: 'market-data', dependency: 'fake-alpaca' }),
      alert({ alertname: 'ExecutionGatewayRedisDisconnected', severity: 'high', category: 'service-health', service: 'execution-gateway', run_id: 'r2' }),
    ]),
  });
  assert.is(post.status, 200, await post.text());
  const sent = Date.now();
  const alerts = (await (await fetch(`${ctx.am!.url}/api/v2/alerts`)).json()) as ApiAlert[];
  const state = (name: string): string => alerts.find((a) => a.labels.alertname === name)?.status.state ?? 'missing';
  assert.is(state('ExecutionGatewayDown'), 'active');
  assert.is(state('ExecutionGatewayDatabaseDisconnected'), 'suppressed');
  assert.is(state('OrchestratorExecutionGatewayUnavailable'), 'suppressed');
  assert.is(state('SignalServiceDatabaseDisconnected'), 'active');
  assert.is(state('MarketDataWebSocketDisconnected'), 'active');
  assert.is(state('ExecutionGatewayRedisDisconnected'), 'active', 'an alert of another run must not be inhibited');

  // Delivery through the rendered webhook: the first notification of a new group waits group_wait (5 s).
  const deadline = Date.now() + 15_000;
  const expected = ['ExecutionGatewayDown', 'SignalServiceDatabaseDisconnected', 'MarketDataWebSocketDisconnected', 'ExecutionGatewayRedisDisconnected'];
  const notified = (): Set<string> => new Set(ctx.notifications.flatMap((n) => n.alerts.map((a) => a.labels.alertname!)));
  while (!expected.every((n) => notified().has(n)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(expected.filter((n) => !notified().has(n)), [], 'notifications missing');
  const down = ctx.notifications.find((n) => n.alerts.some((a) => a.labels.alertname === 'ExecutionGatewayDown'))!;
  assert.is(down.receiver, 'critical');
  const delayS = (down.at - sent) / 1000;
  process.stdout.write(`\n  first notification ${delayS.toFixed(2)} s after the alerts were posted (group_wait 5 s)\n`);
  assert.ok(delayS >= 4 && delayS <= 8, `first notification after ${delayS} s; group_wait is 5 s`);
  assert.not.ok(notified().has('ExecutionGatewayDatabaseDisconnected'), 'an inhibited alert was notified');
  assert.not.ok(notified().has('OrchestratorExecutionGatewayUnavailable'), 'an inhibited alert was notified');
});

test('AlertmanagerDown inhibits Alertmanager\'s own alerts, not Prometheus\'; meta-alerts arrive on the alerting channel', async (ctx) => {
  const alert = (labels: Record<string, string>): object => ({ labels: { run_id: 'r3', category: 'alerting', ...labels }, annotations: { summary: 'test' } });
  const post = await fetch(`${ctx.am!.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([
      alert({ alertname: 'AlertmanagerDown', severity: 'critical', service: 'alertmanager' }),
      alert({ alertname: 'AlertmanagerConfigReloadFailed', severity: 'high', service: 'alertmanager' }),
      alert({ alertname: 'PrometheusErrorSendingAlertsToAlertmanager', severity: 'high', service: 'prometheus' }),
    ]),
  });
  assert.is(post.status, 200, await post.text());
  const alerts = (await (await fetch(`${ctx.am!.url}/api/v2/alerts?filter=run_id%3D%22r3%22`)).json()) as ApiAlert[];
  const state = (name: string): string => alerts.find((a) => a.labels.alertname === name)?.status.state ?? 'missing';
  assert.is(state('AlertmanagerDown'), 'active');
  assert.is(state('AlertmanagerConfigReloadFailed'), 'suppressed');
  assert.is(state('PrometheusErrorSendingAlertsToAlertmanager'), 'active', 'Prometheus\' own alert is not Alertmanager\'s to inhibit');
  const deadline = Date.now() + 15_000;
  const mine = (): Notification[] => ctx.notifications.filter((n) => n.alerts.some((a) => a.labels.run_id === 'r3'));
  while (mine().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal([...new Set(mine().map((n) => `${n.receiver} ${n.path}`))], ['alerting /alertmanager/alerting']);
  assert.equal(mine().flatMap((n) => n.alerts.map((a) => a.labels.alertname)).sort(), ['AlertmanagerDown', 'PrometheusErrorSendingAlertsToAlertmanager']);
});

test.run();
