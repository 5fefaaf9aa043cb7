import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessOwner } from '../stack/processes.ts';
import { startAlertmanager, type AlertmanagerHandle } from '../stack/alertmanager.ts';
import { startWebhookReceiver, WEBHOOK_CHANNEL_PATHS, WEBHOOK_CHANNELS, type Notification, type WebhookReceiver } from '../verify/webhook.ts';
import { AlertmanagerApi } from '../verify/alertmanager-api.ts';
import { labelsFingerprint } from '../verify/fingerprint.ts';
import { injectStep } from '../verify/drivers/index.ts';

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

/** A minimal v4 payload, as Alertmanager posts it, for one alert. */
function payload(alertname: string): Record<string, unknown> {
  const labels = { alertname };
  return {
    version: '4',
    groupKey: `{}:{alertname="${alertname}"}`,
    status: 'firing',
    receiver: 'direct',
    groupLabels: labels,
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:1',
    alerts: [{ status: 'firing', labels, annotations: {}, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', fingerprint: '0000000000000001' }],
  };
}

const post = (url: string, body: unknown): Promise<Response> => fetch(url, { method: 'POST', body: JSON.stringify(body) });

test('records each channel under its own path and tells them apart', async () => {
  const hook = await startWebhookReceiver({ path: '/am' });
  try {
    for (const channel of WEBHOOK_CHANNELS) {
      const res = await post(hook.url + WEBHOOK_CHANNEL_PATHS[channel], payload(`On-${channel}`));
      assert.is(res.status, 200, channel);
    }
    assert.equal(hook.notifications().map((n) => [n.channel, n.commonLabels.alertname]), [
      ['alerts', 'On-alerts'],
      ['alerting', 'On-alerting'],
      ['heartbeat', 'On-heartbeat'],
    ]);
    const other = await post(`${hook.url}/other`, payload('Nowhere'));
    assert.is(other.status, 404);
    assert.match(await other.text(), /takes POST \/am, \/am\/alerting, \/am\/heartbeat only, got POST \/am\/other/);
    assert.is(hook.notifications().length, 3);
  } finally {
    await hook.close();
  }
});

test('keep: false emits every notification and keeps none (a watch that runs for months)', async () => {
  const hook = await startWebhookReceiver({ keep: false });
  try {
    const seen: string[] = [];
    hook.on('notification', (n) => seen.push(n.commonLabels.alertname ?? '?'));
    for (const name of ['One', 'Two']) assert.is((await post(hook.url + WEBHOOK_CHANNEL_PATHS.heartbeat, payload(name))).status, 200);
    assert.equal(seen, ['One', 'Two']);
    assert.equal(hook.notifications(), []);
  } finally {
    await hook.close();
  }
});

test('failWith refuses only that channel, records nothing from it, counts the refusals, and undefined serves it again', async () => {
  const hook = await startWebhookReceiver();
  const emitted: Notification[] = [];
  hook.on('notification', (n) => void emitted.push(n));
  try {
    hook.failWith('heartbeat', 503);
    const refused = await post(`${hook.url}/heartbeat`, payload('Watchdog'));
    assert.is(refused.status, 503);
    assert.match(await refused.text(), /^injected fault: .*heartbeat channel with 503/);
    assert.is((await post(`${hook.url}/heartbeat`, { not: 'even a payload' })).status, 503, 'refused before the body is judged');
    assert.is((await post(hook.url, payload('Ordinary'))).status, 200, 'the alerts channel still serves');
    hook.failWith('alerting', 400);
    assert.is((await post(`${hook.url}/alerting`, payload('Meta'))).status, 400);
    assert.equal(hook.refused(), { alerts: 0, alerting: 1, heartbeat: 2 });
    assert.equal(emitted.map((n) => n.commonLabels.alertname), ['Ordinary']);

    hook.failWith('heartbeat', undefined);
    assert.is((await post(`${hook.url}/heartbeat`, payload('Watchdog'))).status, 200);
    assert.equal(hook.notifications().map((n) => `${n.channel}:${n.commonLabels.alertname}`), ['alerts:Ordinary', 'heartbeat:Watchdog']);
    assert.equal(hook.refused(), { alerts: 0, alerting: 1, heartbeat: 2 }, 'counts are kept after recovery');
    assert.throws(() => hook.failWith('heartbeat', 200), /4xx or 5xx status, not 200/);
    assert.throws(() => hook.failWith('pager' as never, 500), /no channel "pager" \(channels: alerts, alerting, heartbeat\)/);
  } finally {
    await hook.close();
  }
});

test('Alertmanager retries a refused notification and delivers it once the channel serves again', async (ctx) => {
  const name = 'WebhookRefusedProbe';
  ctx.hook!.failWith('alerts', 500);
  try {
    await ctx.api!.postAlerts([{ labels: { alertname: name, service: 'svc-r', severity: 'high' }, annotations: {}, startsAt: new Date().toISOString(), endsAt: isoIn(3_600_000) }]);
    const deadline = Date.now() + 10_000;
    while (ctx.hook!.refused().alerts === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(ctx.hook!.refused().alerts > 0, 'Alertmanager posted, and was refused');
    assert.not.ok(ctx.hook!.notifications().some((n) => n.commonLabels.alertname === name), 'a refused post is not recorded');
    const metrics = await (await fetch(`${ctx.am!.url}/metrics`)).text();
    // Each refused request counts at once; alertmanager_notifications_failed_total only once the retries give up.
    assert.match(metrics, /alertmanager_notification_requests_failed_total\{integration="webhook"\} [1-9]/);
  } finally {
    ctx.hook!.failWith('alerts', undefined);
  }
  const clearedAt = Date.now();
  const n = await ctx.hook!.waitFor((x) => x.commonLabels.alertname === name, 15_000);
  assert.is(n.channel, 'alerts');
  console.log(`  refused ${ctx.hook!.refused().alerts} posts with 500; delivered ${n.receivedAt - clearedAt} ms after the channel served again`);
});

test('the webhook fault driver refuses a channel of the receiver until its undo, and needs the receiver', async () => {
  const hook = await startWebhookReceiver();
  const logged: string[] = [];
  try {
    const undo = await injectStep({ webhook: { channel: 'heartbeat', status: 502 } }, { targets: {}, webhook: hook, log: (l) => void logged.push(l) });
    assert.is((await post(`${hook.url}/heartbeat`, payload('Watchdog'))).status, 502);
    assert.is((await post(hook.url, payload('Ordinary'))).status, 200);
    await undo();
    assert.is((await post(`${hook.url}/heartbeat`, payload('Watchdog'))).status, 200);
    assert.equal(hook.notifications().map((n) => n.channel), ['alerts', 'heartbeat']);
    assert.equal(logged, ['  harness webhook: the heartbeat channel answers 502', '  harness webhook: the heartbeat channel serves again; it refused 1 posts']);
  } finally {
    await hook.close();
  }
  const outcome = await injectStep({ webhook: { channel: 'alerting', status: 500 } }, { targets: {}, log: () => undefined }).then(
    () => 'injected',
    (err: Error) => err.message,
  );
  assert.is(outcome, "answering 500 on the alerting channel: this fault needs the harness's webhook receiver; in attach mode configure notifications.webhook");
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
