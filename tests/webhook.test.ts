import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessOwner } from '../stack/processes.ts';
import { startAlertmanager, type AlertmanagerHandle } from '../stack/alertmanager.ts';
import { startWebhookReceiver, type Notification, type WebhookReceiver } from '../verify/webhook.ts';
import { AlertmanagerApi } from '../verify/alertmanager-api.ts';
import { labelsFingerprint } from '../verify/fingerprint.ts';

interface Ctx {
  owner?: ProcessOwner;
  am?: AlertmanagerHandle;
  api?: AlertmanagerApi;
  hook?: WebhookReceiver;
}

const test = suite<Ctx>('webhook receiver and alertmanager api');

const GROUP_WAIT_MS = 1000;
const GROUP_INTERVAL_MS = 2000;

test.before(async (ctx) => {
  ctx.hook = await startWebhookReceiver();
  ctx.owner = new ProcessOwner();
  const dir = ctx.owner.tempDir('am-webhook');
  const configFile = path.join(dir, 'am.yml');
  fs.writeFileSync(
    configFile,
    `route:
  receiver: harness
  group_by: [alertname, service]
  group_wait: ${GROUP_WAIT_MS / 1000}s
  group_interval: ${GROUP_INTERVAL_MS / 1000}s
  repeat_interval: 1h
receivers:
  - name: harness
    webhook_configs:
      - url: ${ctx.hook.url}
        send_resolved: true
`,
  );
  ctx.am = await startAlertmanager(ctx.owner, { configFile });
  ctx.api = new AlertmanagerApi(ctx.am.url);
});

test.after(async (ctx) => {
  await ctx.owner?.stopAll();
  await ctx.hook?.close();
});

const isoIn = (ms: number): string => new Date(Date.now() + ms).toISOString();

test('reports Alertmanager status with clustering disabled and the loaded config', async (ctx) => {
  const s = await ctx.api!.status();
  assert.is(s.cluster.status, 'disabled');
  assert.match(s.versionInfo.version, /^0\.\d+/);
  assert.ok(s.config.original.includes(ctx.hook!.url), 'loaded config routes to the receiver');
});

test('receives a firing notification after group_wait and the resolution after group_interval', async (ctx) => {
  const seen: Notification[] = [];
  const listener = (n: Notification): void => void seen.push(n);
  ctx.hook!.on('notification', listener);
  const alert = { labels: { alertname: 'WebhookProbe', service: 'svc-a', severity: 'high' }, annotations: { summary: 'probe' } };
  const postedAt = Date.now();
  await ctx.api!.postAlerts([{ ...alert, startsAt: new Date(postedAt).toISOString(), endsAt: isoIn(3_600_000) }]);

  const held = await ctx.api!.alerts({ filter: ['alertname="WebhookProbe"'] });
  assert.is(held.length, 1);
  assert.is(held[0]!.status.state, 'active');
  assert.equal(held[0]!.receivers.map((r) => r.name), ['harness']);

  const firing = await ctx.hook!.waitFor((n) => n.status === 'firing' && n.commonLabels.alertname === 'WebhookProbe', 10_000);
  const firingDelay = firing.receivedAt - postedAt;
  assert.ok(firingDelay >= GROUP_WAIT_MS - 50 && firingDelay < GROUP_WAIT_MS + 1500, `firing notified ${firingDelay} ms after the post`);
  assert.is(firing.version, '4');
  assert.is(firing.receiver, 'harness');
  assert.equal(firing.groupLabels, { alertname: 'WebhookProbe', service: 'svc-a' });
  assert.is(firing.alerts.length, 1);
  assert.is(firing.alerts[0]!.status, 'firing');
  assert.is(firing.alerts[0]!.fingerprint, labelsFingerprint(alert.labels), 'Alertmanager fingerprints the labels as verify/fingerprint.ts does');
  assert.is(firing.alerts[0]!.annotations.summary, 'probe');
  assert.is(firing.alerts[0]!.fingerprint, held[0]!.fingerprint);

  const resolvedPostAt = Date.now();
  await ctx.api!.postAlerts([{ ...alert, startsAt: firing.alerts[0]!.startsAt, endsAt: new Date(resolvedPostAt).toISOString() }]);
  const resolved = await ctx.hook!.waitFor((n) => n.status === 'resolved' && n.commonLabels.alertname === 'WebhookProbe', 10_000);
  const resolvedDelay = resolved.receivedAt - resolvedPostAt;
  // The group flushes on its group_interval tick, counted from the firing notification.
  assert.ok(resolved.receivedAt - firing.receivedAt >= GROUP_INTERVAL_MS - 50, `resolution ${resolved.receivedAt - firing.receivedAt} ms after firing`);
  assert.ok(resolvedDelay < GROUP_INTERVAL_MS + 1500, `resolution notified ${resolvedDelay} ms after the resolve`);
  assert.is(resolved.alerts[0]!.status, 'resolved');
  assert.is(resolved.alerts[0]!.fingerprint, firing.alerts[0]!.fingerprint);
  console.log(`  alertmanager -> webhook: firing ${firingDelay} ms after post (group_wait ${GROUP_WAIT_MS} ms), resolved ${resolvedDelay} ms after resolve (group_interval ${GROUP_INTERVAL_MS} ms)`);

  ctx.hook!.off('notification', listener);
  assert.equal(seen.filter((n) => n.commonLabels.alertname === 'WebhookProbe').map((n) => n.status), ['firing', 'resolved']);
  assert.equal(ctx.hook!.notifications().filter((n) => n.commonLabels.alertname === 'WebhookProbe').map((n) => n.status), ['firing', 'resolved']);
});

test('waitFor returns an already received notification at once', async (ctx) => {
  const t0 = Date.now();
  const n = await ctx.hook!.waitFor((x) => x.status === 'resolved', 1);
  assert.is(n.commonLabels.alertname, 'WebhookProbe');
  assert.ok(Date.now() - t0 < 50);
});

test('waitFor rejects after its timeout listing what arrived', async (ctx) => {
  try {
    await ctx.hook!.waitFor((n) => n.commonLabels.alertname === 'NeverSent', 200);
    assert.unreachable('must time out');
  } catch (err) {
    assert.match((err as Error).message, /no matching webhook notification within 200 ms at http:\/\/127\.0\.0\.1:\d+\/alertmanager; received 2: firing \[WebhookProbe:firing\]; resolved \[WebhookProbe:resolved\]/);
  }
});

test('rejects a body that is not a v4 payload with 400 and the reason, recording nothing', async (ctx) => {
  const before = ctx.hook!.notifications().length;
  const bad = await fetch(ctx.hook!.url, { method: 'POST', body: JSON.stringify({ version: '3', alerts: [] }) });
  assert.is(bad.status, 400);
  assert.match(await bad.text(), /not an Alertmanager v4 webhook payload: version/);
  const notJson = await fetch(ctx.hook!.url, { method: 'POST', body: '{' });
  assert.is(notJson.status, 400);
  const wrongPath = await fetch(ctx.hook!.url.replace('/alertmanager', '/other'), { method: 'POST', body: '{}' });
  assert.is(wrongPath.status, 404);
  assert.is(ctx.hook!.notifications().length, before);
});

test('close rejects pending waiters and stops listening', async () => {
  const hook = await startWebhookReceiver();
  const pending = hook.waitFor(() => true, 10_000).then(
    () => 'resolved',
    (err: Error) => err.message,
  );
  await hook.close();
  assert.match(await pending, /closed while waiting/);
  try {
    await fetch(hook.url, { method: 'POST', body: '{}' });
    assert.unreachable('closed receiver must refuse');
  } catch (err) {
    assert.is(((err as Error).cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  }
});

test.run();
