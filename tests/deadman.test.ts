import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRules, loadTiming } from '../alerts/budget.ts';
import { ALWAYS_FIRING } from '../alerts/catalog/index.ts';
import { ALERTS_DIR, ROOT_DIR } from '../alerts/model.ts';
import { BUDGET_S } from '../alerts/settings.ts';
import { startAlertmanager } from '../stack/alertmanager.ts';
import { freePort } from '../stack/ports.ts';
import { ProcessOwner } from '../stack/processes.ts';
import { renderAlertmanagerConfig } from '../stack/render.ts';
import { AlertmanagerApi } from '../verify/alertmanager-api.ts';
import { createDeadmanSwitch, type DeadmanEpisode } from '../verify/deadman.ts';
import { LATE_S, deadmanDetectionWorstS, heartbeatGapS, heartbeatPolicy } from '../verify/heartbeat-policy.ts';
import { startWebhookReceiver, type Notification } from '../verify/webhook.ts';
import { RESEND_DELAY_S } from '../stack/prometheus.ts';

const AM_CONFIG = path.join(ALERTS_DIR, 'alertmanager.yml');

const switches = suite('dead man\'s switch');

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000): { now: () => number; set(t: number): void } {
  let t = start;
  return { now: () => t, set: (v) => (t = v) };
}

switches('does not alarm before alarmAfterS after creation, then alarms saying no beat ever came', () => {
  const clock = manualClock();
  const alarms: DeadmanEpisode[] = [];
  const sw = createDeadmanSwitch({ alarmAfterS: 25, now: clock.now, onAlarm: (e) => alarms.push(e) });
  assert.equal(sw.check(1_000_000 + 24_999), { state: 'awaiting-first-beat', since: 1_000_000, alarmAt: 1_025_000 });
  assert.is(alarms.length, 0);
  const s = sw.check(1_025_000);
  assert.equal(s, { state: 'alarmed', episode: { lastBeatAt: 1_000_000, alarmedAt: 1_025_000, beforeFirstBeat: true } });
  assert.is(alarms.length, 1);
  sw.check(1_030_000);
  assert.is(alarms.length, 1, 'one alarm per silence');
});

switches('alarms alarmAfterS after the last beat and resumes at the next one', () => {
  const clock = manualClock(0);
  const events: string[] = [];
  const sw = createDeadmanSwitch({
    alarmAfterS: 25,
    now: clock.now,
    onAlarm: (e) => events.push(`alarm ${e.lastBeatAt}->${e.alarmedAt}`),
    onResume: (e) => events.push(`resume ${e.resumedAt}`),
  });
  sw.beat(1000);
  sw.beat(16_000);
  assert.equal(sw.check(40_999), { state: 'beating', lastBeatAt: 16_000, alarmAt: 41_000 });
  assert.is(sw.check(41_000).state, 'alarmed');
  sw.beat(70_000);
  assert.equal(sw.check(71_000), { state: 'beating', lastBeatAt: 70_000, alarmAt: 95_000 });
  assert.equal(events, ['alarm 16000->41000', 'resume 70000']);
  assert.equal(sw.episodes(), [{ lastBeatAt: 16_000, alarmedAt: 41_000, resumedAt: 70_000 }]);
});

switches('a beat older than the last one changes nothing', () => {
  const sw = createDeadmanSwitch({ alarmAfterS: 10, now: () => 0 });
  sw.beat(5000);
  sw.beat(3000);
  assert.equal(sw.check(14_999), { state: 'beating', lastBeatAt: 5000, alarmAt: 15_000 });
});

switches('a silence nobody checked during is recorded when the next beat comes', () => {
  const sw = createDeadmanSwitch({ alarmAfterS: 10, now: () => 0 });
  sw.beat(1000);
  sw.beat(30_000);
  assert.equal(sw.episodes(), [{ lastBeatAt: 1000, alarmedAt: 30_000, resumedAt: 30_000 }]);
});

switches('the open episode is listed while the alarm lasts', () => {
  const sw = createDeadmanSwitch({ alarmAfterS: 10, now: () => 0 });
  sw.beat(1000);
  sw.check(11_000);
  assert.equal(sw.episodes(), [{ lastBeatAt: 1000, alarmedAt: 11_000 }]);
});

switches('start() alarms on its own timer and stop() clears it', async () => {
  const alarms: DeadmanEpisode[] = [];
  const sw = createDeadmanSwitch({ alarmAfterS: 0.05, onAlarm: (e) => alarms.push(e) });
  sw.start();
  await new Promise((r) => setTimeout(r, 30));
  sw.beat();
  await new Promise((r) => setTimeout(r, 30));
  assert.is(alarms.length, 0, 'the beat re-armed the timer');
  await new Promise((r) => setTimeout(r, 50));
  assert.is(alarms.length, 1);
  assert.ok(alarms[0]!.alarmedAt - alarms[0]!.lastBeatAt >= 50);
  sw.beat();
  sw.stop();
  await new Promise((r) => setTimeout(r, 80));
  assert.is(alarms.length, 1, 'no alarm after stop()');
});

switches('refuses a non-positive alarmAfterS', () => {
  assert.throws(() => createDeadmanSwitch({ alarmAfterS: 0 }), /alarmAfterS > 0/);
});

switches.run();

const policies = suite('heartbeat policy');

const WATCHDOG = { alertname: 'Watchdog', severity: 'low', service: 'alerting', run_id: 'r1' };

policies('heartbeatGapS is the first group_interval tick after repeat_interval, as measured with Alertmanager 0.25', () => {
  assert.is(heartbeatGapS(5, 10), 15);
  assert.is(heartbeatGapS(5, 15), 20);
  assert.is(heartbeatGapS(5, 5), 10);
  assert.is(heartbeatGapS(10, 10), 20);
  assert.is(heartbeatGapS(5, 12), 15);
  assert.is(heartbeatGapS(5, 3), 5);
});

policies('reads the watchdog route of alerts/alertmanager.yml', () => {
  const p = heartbeatPolicy(fs.readFileSync(AM_CONFIG, 'utf8'), WATCHDOG, AM_CONFIG);
  assert.is(p.receiver, 'watchdog');
  assert.equal([p.groupWaitS, p.groupIntervalS, p.repeatIntervalS], [0, 5, 10]);
  assert.is(p.expectedGapS, 15);
  assert.is(p.alarmAfterS, 15 + 5 + LATE_S);
  assert.equal(p.webhookUrls, ['http://127.0.0.1:9099/alertmanager/heartbeat']);
});

const TREE = `
route:
  receiver: low
  group_interval: 1m
  repeat_interval: 2m
  routes:
    - matchers: ['team="infra"']
      receiver: infra
      group_interval: 7s
      routes:
        - matchers: ['alertname=~"Watchdog|Heartbeat"']
          receiver: hooks
    - matchers: ['alertname="Watchdog"']
      receiver: second
receivers:
  - name: low
  - name: infra
  - name: second
    webhook_configs: [{ url: 'http://second/' }]
  - name: hooks
    webhook_configs: [{ url: 'http://hooks/' }]
`;

policies('children inherit group_interval and repeat_interval from their parents; the first matching route wins', () => {
  const p = heartbeatPolicy(TREE, { alertname: 'Watchdog', team: 'infra' });
  assert.equal({ receiver: p.receiver, route: p.route, gi: p.groupIntervalS, ri: p.repeatIntervalS, wait: p.groupWaitS }, { receiver: 'hooks', route: 'route.routes[0].routes[0]', gi: 7, ri: 120, wait: 30 });
  assert.is(p.expectedGapS, 126);
  const other = heartbeatPolicy(TREE, { alertname: 'Watchdog' });
  assert.equal([other.receiver, other.groupIntervalS, other.repeatIntervalS], ['second', 60, 120]);
});

policies('a continue route that matched does not hide the route after it', () => {
  const tree = TREE.replace("      receiver: infra\n", "      receiver: infra\n      continue: true\n").replace("receiver: hooks", "receiver: infra");
  const p = heartbeatPolicy(tree, { alertname: 'Watchdog', team: 'infra' });
  assert.is(p.receiver, 'second', 'infra has no webhook; the continued-to route has');
});

policies('legacy match and match_re route the heartbeat too', () => {
  const tree = `route:
  receiver: low
  routes:
    - match: { severity: low }
      match_re: { alertname: 'Watch.*' }
      receiver: hooks
      repeat_interval: 30s
receivers: [{ name: low }, { name: hooks, webhook_configs: [{ url: 'http://h/' }] }]
`;
  assert.is(heartbeatPolicy(tree, WATCHDOG).repeatIntervalS, 30);
});

policies('fails naming the file when no route below the root matches the heartbeat', () => {
  const tree = TREE.replace(/alertname="Watchdog"/, 'alertname="Other"');
  assert.throws(() => heartbeatPolicy(tree, { alertname: 'Watchdog' }, 'am.yml'), (err: Error) => /no route in am\.yml matches the heartbeat \{alertname="Watchdog"\}.*root receiver "low"/.test(err.message));
});

policies('fails naming the receiver when the heartbeat route has no webhook', () => {
  const tree = TREE.replace("webhook_configs: [{ url: 'http://second/' }]", 'email_configs: [{ to: a@b }]');
  assert.throws(() => heartbeatPolicy(tree, { alertname: 'Watchdog' }, 'am.yml'), (err: Error) => /route\.routes\[1\] -> receiver "second".*no such receiver has webhook_configs/.test(err.message));
});

policies('fails naming the file on a matcher it cannot read', () => {
  assert.throws(() => heartbeatPolicy(TREE.replace('team="infra"', '@oops@'), WATCHDOG, 'am.yml'), /^am\.yml: cannot parse Alertmanager matcher '@oops@'/);
});

policies('the repository\'s heartbeat notices a dead Prometheus or Alertmanager within the budget', () => {
  const p = heartbeatPolicy(fs.readFileSync(AM_CONFIG, 'utf8'), WATCHDOG, AM_CONFIG);
  const d = deadmanDetectionWorstS(p, { resendDelayS: RESEND_DELAY_S, evaluationIntervalS: loadTiming().evalS });
  assert.equal(d, { prometheusDownS: 20 + p.alarmAfterS, alertmanagerDownS: p.alarmAfterS, budgetS: BUDGET_S, problems: [] });
});

policies('a heartbeat too slow for the budget is a problem', () => {
  const d = deadmanDetectionWorstS({ alarmAfterS: 70 }, { resendDelayS: 60, evaluationIntervalS: 15 });
  assert.is(d.prometheusDownS, 310);
  assert.is(d.problems.length, 2);
  assert.match(d.problems[0]!, /dead Prometheus is noticed only after 310 s/);
});

policies.run();

interface LiveCtx {
  owner?: ProcessOwner;
  cli?: ChildProcess;
  timers: Array<ReturnType<typeof setInterval>>;
  closers: Array<() => Promise<void>>;
}

const live = suite<LiveCtx>('dead man\'s switch against Alertmanager 0.25', { timers: [], closers: [] });

live.after(async (ctx) => {
  for (const t of ctx.timers) clearInterval(t);
  if (ctx.cli && ctx.cli.exitCode === null && ctx.cli.signalCode === null) {
    const gone = new Promise((r) => ctx.cli!.once('exit', r));
    ctx.cli.kill('SIGTERM');
    await gone;
  }
  for (const close of ctx.closers.reverse()) await close();
  await ctx.owner?.stopAll();
});

/** p's value, or undefined when it takes longer than ms. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** The CLI as a user runs it (node + tsx, no npm in between so signals reach it); resolves once it listens. */
async function startCli(ctx: LiveCtx, port: number): Promise<{ exited: Promise<{ code: number | null; stdout: string; stderr: string; alarmSeenAt?: number }> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'verify/deadman-cli.ts', '--listen', `127.0.0.1:${port}`], { cwd: ROOT_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  ctx.cli = child;
  let stdout = '';
  let stderr = '';
  let alarmSeenAt: number | undefined;
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
    if (alarmSeenAt === undefined && /ALARM/.test(stderr)) alarmSeenAt = Date.now();
  });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string; alarmSeenAt?: number }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr, ...(alarmSeenAt === undefined ? {} : { alarmSeenAt }) })),
  );
  const deadline = Date.now() + 20_000;
  while (!stdout.includes('listening on')) {
    if (child.exitCode !== null) throw new Error(`deadman CLI exited ${child.exitCode} before listening:\n${stdout}${stderr}`);
    if (Date.now() > deadline) throw new Error(`deadman CLI not listening after 20 s:\n${stdout}${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { exited };
}

live('alarms within the worst case after Prometheus stops posting, not before alarmAfterS after the last heartbeat; so does the CLI', async (ctx) => {
  ctx.owner = new ProcessOwner();
  const cliPort = await freePort();
  const cli = await startCli(ctx, cliPort);
  const hook = await startWebhookReceiver();
  ctx.closers.push(() => hook.close());
  const configFile = path.join(ctx.owner.tempDir('deadman-am'), 'alertmanager.yml');
  // Heartbeats reach our receiver's heartbeat channel and, as a second webhook, the CLI's /heartbeat.
  const config = renderAlertmanagerConfig(fs.readFileSync(AM_CONFIG, 'utf8'), { webhookUrl: hook.url, alsoTo: [`http://127.0.0.1:${cliPort}`] });
  fs.writeFileSync(configFile, config);
  const am = await startAlertmanager(ctx.owner, { configFile });

  const rule = loadRules().find((r) => ALWAYS_FIRING.includes(r.alert))!;
  const labels = { ...rule.labels, alertname: rule.alert, run_id: 'deadman-test' };
  const policy = heartbeatPolicy(config, labels, configFile);
  const worst = deadmanDetectionWorstS(policy, { resendDelayS: RESEND_DELAY_S, evaluationIntervalS: loadTiming().evalS });
  const validityMs = 4 * Math.max(RESEND_DELAY_S, loadTiming().evalS) * 1000;

  const alarms: DeadmanEpisode[] = [];
  const sw = createDeadmanSwitch({ alarmAfterS: policy.alarmAfterS, onAlarm: (e) => alarms.push(e) });
  const beats: number[] = [];
  hook.on('notification', (n: Notification) => {
    if (n.channel !== 'heartbeat' || !n.alerts.some((a) => a.status === 'firing' && ALWAYS_FIRING.includes(a.labels.alertname ?? ''))) return;
    beats.push(n.receivedAt);
    sw.beat(n.receivedAt);
  });
  sw.start();
  ctx.closers.push(async () => sw.stop());

  // What Prometheus does: the firing alert every resend delay, valid for 4 x max(resend delay, evaluation interval).
  const api = new AlertmanagerApi(am.url);
  const startsAt = new Date().toISOString();
  let lastPost = 0;
  const post = async (): Promise<void> => {
    lastPost = Date.now();
    await api.postAlerts([{ labels, annotations: rule.annotations, startsAt, endsAt: new Date(lastPost + validityMs).toISOString(), generatorURL: 'http://prometheus.test/graph' }]);
  };
  await post();
  const poster = setInterval(() => void post().catch(() => undefined), RESEND_DELAY_S * 1000);
  ctx.timers.push(poster);
  await hook.waitFor((n) => n.channel === 'heartbeat', 5000);
  // The second heartbeat proves the repeat; then Prometheus "dies".
  const repeatBy = Date.now() + (policy.expectedGapS + policy.groupIntervalS) * 1000;
  while (beats.length < 2 && Date.now() < repeatBy) await new Promise((r) => setTimeout(r, 100));
  assert.is(beats.length, 2, `no second heartbeat within ${policy.expectedGapS + policy.groupIntervalS} s of the first`);
  clearInterval(poster);
  const diedAt = lastPost;

  const deadline = diedAt + worst.prometheusDownS * 1000 + 5000;
  while (alarms.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.is(alarms.length, 1, `no alarm within ${worst.prometheusDownS} s of the last post (heartbeats at ${beats.map((b) => ((b - diedAt) / 1000).toFixed(1)).join(', ')} s)`);
  const alarm = alarms[0]!;
  const lastBeat = beats[beats.length - 1]!;
  assert.is(alarm.lastBeatAt, lastBeat);
  assert.ok(lastBeat - diedAt < validityMs, `the last heartbeat came ${lastBeat - diedAt} ms after the last post, past the alert's ${validityMs} ms validity`);
  // A timer fires a few ms after its due time; 1 s covers that on a busy machine.
  assert.ok(alarm.alarmedAt - diedAt <= worst.prometheusDownS * 1000 + 1000, `alarm ${alarm.alarmedAt - diedAt} ms after the last post, worst case ${worst.prometheusDownS} s`);
  assert.ok(alarm.alarmedAt - lastBeat >= policy.alarmAfterS * 1000, `alarm ${alarm.alarmedAt - lastBeat} ms after the last heartbeat, before ${policy.alarmAfterS} s`);

  const r = await within(cli.exited, 10_000);
  assert.ok(r, 'the CLI did not exit within 10 s of the alarm');
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /first heartbeat at \S+ \(Watchdog from receiver watchdog\)/);
  const line = new RegExp(`^ALARM: no heartbeat for ${policy.alarmAfterS} s \\(last at (\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z)\\)$`, 'm').exec(r.stderr);
  assert.ok(line, r.stderr);
  // The CLI is a webhook of its own: Alertmanager dedups per webhook, so its heartbeats may differ from ours by a tick.
  const cliLastBeat = Date.parse(line[1]!);
  assert.ok(cliLastBeat - diedAt < validityMs, `the CLI's last heartbeat came ${cliLastBeat - diedAt} ms after the last post`);
  assert.ok(r.alarmSeenAt! - cliLastBeat >= (policy.alarmAfterS - 0.5) * 1000, `the CLI alarmed ${r.alarmSeenAt! - cliLastBeat} ms after its last heartbeat`);
  assert.ok(r.alarmSeenAt! - diedAt <= worst.prometheusDownS * 1000 + 1000, `the CLI alarmed ${r.alarmSeenAt! - diedAt} ms after the last post, worst case ${worst.prometheusDownS} s`);
});

live.run();
