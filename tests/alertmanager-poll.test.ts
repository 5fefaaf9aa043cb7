import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessOwner } from '../stack/processes.ts';
import { startAlertmanager, type AlertmanagerHandle } from '../stack/alertmanager.ts';
import { AlertmanagerApi } from '../verify/alertmanager-api.ts';
import { pollAlertmanager } from '../verify/alertmanager-poll.ts';
import { labelPredicate } from '../verify/scope.ts';
import type { NotifiedAlert } from '../verify/timeline.ts';
import { labelsFingerprint } from '../verify/fingerprint.ts';

interface Ctx {
  owner?: ProcessOwner;
  am?: AlertmanagerHandle;
}

const test = suite<Ctx>("notifications read from Alertmanager's /api/v2/alerts (attach mode without a route)");

test.before(async (ctx) => {
  ctx.owner = new ProcessOwner();
  const configFile = path.join(ctx.owner.tempDir('am-poll'), 'am.yml');
  // No receiver reaches anyone: the poll is the only way anything is seen.
  fs.writeFileSync(configFile, 'route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n');
  ctx.am = await startAlertmanager(ctx.owner, { configFile });
});

test.after(async (ctx) => {
  await ctx.owner?.stopAll();
});

test('an alert in scope is seen firing once, then resolved; one out of scope is never seen', async (ctx) => {
  const api = new AlertmanagerApi(ctx.am!.url);
  const seen: { at: number; alerts: NotifiedAlert[] }[] = [];
  const poller = pollAlertmanager(ctx.am!.url, { inScope: labelPredicate('{env="staging"}', 'scope.alerts'), pollMs: 200, onAlerts: (alerts, at) => seen.push({ at, alerts }), log: () => undefined });
  try {
    const startsAt = new Date().toISOString();
    const mine = { alertname: 'PollProbe', env: 'staging' };
    await api.postAlerts([
      { labels: mine, startsAt, endsAt: new Date(Date.now() + 3_600_000).toISOString() },
      { labels: { alertname: 'PollProbe', env: 'prod' }, startsAt, endsAt: new Date(Date.now() + 3_600_000).toISOString() },
    ]);
    const posted = Date.now();
    while (seen.length === 0 && Date.now() - posted < 5000) await new Promise((r) => setTimeout(r, 50));
    assert.is(seen.length, 1, 'seen within a few polls');
    assert.equal(seen[0]!.alerts.map((a) => [a.status, a.labels.env, a.fingerprint]), [['firing', 'staging', labelsFingerprint(mine)]]);
    await new Promise((r) => setTimeout(r, 1000));
    assert.is(seen.length, 1, 'a firing alert is reported once, not on every poll');
    await api.postAlerts([{ labels: mine, startsAt, endsAt: new Date().toISOString() }]);
    const resolvedAt = Date.now();
    while (seen.length === 1 && Date.now() - resolvedAt < 5000) await new Promise((r) => setTimeout(r, 50));
    assert.equal(seen.slice(1).flatMap((s) => s.alerts.map((a) => [a.status, a.labels.env, a.startsAt])), [['resolved', 'staging', startsAt]]);
  } finally {
    poller.stop();
  }
});

test.run();
