import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRules, missingMetrics, referencedMetrics, scrapeMetricNames } from '../alerts/budget.ts';
import { ALERTS_DIR, loadThresholds, scrapeJobs } from '../alerts/model.ts';
import { PANELS } from '../alerts/panels.ts';
import { startStack, type LocalStack } from '../stack/index.ts';
import { prometheusMajor, type PrometheusMajor } from '../stack/prometheus-version.ts';
import { AlertTimeline, type ObservedAlert } from '../verify/timeline.ts';
import { labelsFingerprint } from '../verify/fingerprint.ts';

interface Notification {
  receiver: string;
  status: string;
  alerts: Array<{ status: string; labels: Record<string, string>; fingerprint: string; startsAt: string }>;
}

interface Ctx {
  stack?: LocalStack;
  hook?: http.Server;
  notifications: Notification[];
}

const RUN_ID = 'alerts-live';
/** alerts/prometheus.yml's jobs: the services, and Prometheus and Alertmanager themselves. */
const JOBS = scrapeJobs();

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function api<T>(ctx: Ctx, p: string): Promise<T> {
  const res = await fetch(`${ctx.stack!.prometheus!.url}${p}`);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`Prometheus ${p}: ${body.error}`);
  return body.data;
}

const test = suite<Ctx>('alerts against the live stack', { notifications: [] });

test.before(async (ctx) => {
  ctx.hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      ctx.notifications.push(JSON.parse(body) as Notification);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => ctx.hook!.listen(0, '127.0.0.1', resolve));
  const webhookUrl = `http://127.0.0.1:${(ctx.hook.address() as AddressInfo).port}/alertmanager`;
  ctx.stack = await startStack({
    prometheus: { config: path.join(ALERTS_DIR, 'prometheus.yml'), externalLabels: { run_id: RUN_ID } },
    alertmanager: { config: path.join(ALERTS_DIR, 'alertmanager.yml'), webhookUrl },
  });
  // A realistic stack has an active model; without one the signals counter has no series yet.
  const ss = ctx.stack.services['signal-service']!.url;
  const created = await fetch(`${ss}/models`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'alerts-live', version: 1, kind: 'momentum', params: { lookback: 5, topN: 2 } }),
  });
  const { model } = (await created.json()) as { model: { id: number } };
  assert.is(created.status, 201, `POST /models answered ${created.status}`);
  const activated = await fetch(`${ss}/models/${model.id}/activate`, { method: 'POST' });
  assert.is(activated.status, 200, await activated.text());
  assert.is((await fetch(`${ss}/models/reload`, { method: 'POST' })).status, 200);
});

test.after(async (ctx) => {
  await ctx.stack?.stop();
  ctx.hook?.closeAllConnections();
  await new Promise<void>((resolve) => (ctx.hook ? ctx.hook.close(() => resolve()) : resolve()));
});

test('every metric the rules reference is exposed by a running service, Prometheus or Alertmanager', async (ctx) => {
  const urls = ctx.stack!.urls();
  const metricsUrls = JOBS.map((job) => `${urls[job === 'fake-alpaca' ? 'fake-alpaca-admin' : job]}/metrics`);
  // Prometheus' per-Alertmanager notifier counters exist from its first send (the Watchdog, seconds after start).
  let missing: string[] = [];
  await waitFor('every referenced metric exposed', 30_000, async () => {
    missing = missingMetrics(referencedMetrics(), await scrapeMetricNames(metricsUrls));
    return missing.length === 0 ? true : undefined;
  }).catch(() => undefined);
  assert.equal(missing, []);
});

test('Prometheus scrapes every job in prometheus.yml and the targets are up', async (ctx) => {
  const up = await waitFor('all targets up', 30_000, async () => {
    const data = await api<{ activeTargets: Array<{ labels: Record<string, string>; health: string }> }>(ctx, '/api/v1/targets');
    const healthy = data.activeTargets.filter((t) => t.health === 'up').map((t) => t.labels.job!);
    return JOBS.every((j) => healthy.includes(j)) ? healthy : undefined;
  });
  assert.equal([...up].sort(), [...JOBS].sort());
});

test('Prometheus loads every generated rule and evaluates all of them without error', async (ctx) => {
  const rules = await waitFor('every rule evaluated', 30_000, async () => {
    const data = await api<{ groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> }>(ctx, '/api/v1/rules?type=alert');
    const all = data.groups.flatMap((g) => g.rules);
    return all.length > 0 && all.every((r) => r.health !== 'unknown') ? all : undefined;
  });
  assert.is(rules.length, loadRules().length);
  assert.equal(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`), []);
});

test('every referenced metric has series in Prometheus', async (ctx) => {
  const names = await api<string[]>(ctx, '/api/v1/label/__name__/values');
  assert.equal(missingMetrics(referencedMetrics(), new Set(names)), []);
});

test('every latency threshold sits on a bucket boundary of the histogram it reads, so p95 is exact there', async (ctx) => {
  const urls = ctx.stack!.urls();
  const texts = await Promise.all(JOBS.map(async (job) => (await fetch(`${urls[job === 'fake-alpaca' ? 'fake-alpaca-admin' : job]}/metrics`)).text()));
  const exposition = texts.join('\n');
  const thresholds = loadThresholds();
  const latency = loadRules().filter((r) => r.expr.startsWith('histogram_quantile('));
  assert.ok(latency.length >= 4);
  for (const rule of latency) {
    const metric = /rate\(([a-z_]+_bucket)\[/.exec(rule.expr)![1]!;
    const bounds = [...exposition.matchAll(new RegExp(`^${metric}\\{[^}]*le="([^"]+)"`, 'gm'))].map((m) => Number(m[1]));
    assert.ok(bounds.length > 0, `${metric} is not exposed`);
    assert.ok(bounds.includes(thresholds[rule.alert]!.threshold!), `${rule.alert} threshold ${thresholds[rule.alert]!.threshold} is not a bucket boundary of ${metric} (${[...new Set(bounds)].join(', ')})`);
  }
});

test('every panel query in panels.yaml runs on the live Prometheus', async (ctx) => {
  const failures: string[] = [];
  for (const panel of Object.values(PANELS).flat()) {
    try {
      await api<unknown>(ctx, `/api/v1/query?query=${encodeURIComponent(panel.query)}`);
    } catch (err) {
      failures.push(`${panel.title}: ${(err as Error).message}`);
    }
  }
  assert.equal(failures, []);
});

test('the Watchdog reaches the harness webhook through the watchdog route, stamped with the run id', async (ctx) => {
  const n = await waitFor('Watchdog notification', 30_000, async () => ctx.notifications.find((x) => x.alerts.some((a) => a.labels.alertname === 'Watchdog')));
  assert.is(n.receiver, 'watchdog');
  assert.is(n.alerts[0]!.labels.run_id, RUN_ID);
});

test('a polled alert and its notification are one episode: same fingerprint (external labels included) and startsAt', async (ctx) => {
  const n = await waitFor('Watchdog notification', 30_000, async () => ctx.notifications.find((x) => x.alerts.some((a) => a.labels.alertname === 'Watchdog')));
  const notified = n.alerts.find((a) => a.labels.alertname === 'Watchdog')!;
  assert.is(labelsFingerprint(notified.labels), notified.fingerprint, 'our fingerprint is Alertmanager\'s');
  const polled = (await api<{ alerts: ObservedAlert[] }>(ctx, '/api/v1/alerts')).alerts;
  const watchdog = polled.find((a) => a.labels.alertname === 'Watchdog')!;
  assert.is(watchdog.labels.run_id, undefined, 'Prometheus adds external labels only when it sends');
  const tl = new AlertTimeline({ run_id: RUN_ID });
  tl.observe(polled, Date.now());
  tl.notify([notified], Date.now());
  const ep = tl.episodes().find((e) => e.alertname === 'Watchdog')!;
  assert.is(ep.fingerprint, notified.fingerprint);
  assert.ok(ep.activeAt <= Date.parse(notified.startsAt), 'FiredAt is not before activeAt');
  assert.is(ep.startsAt, Date.parse(notified.startsAt));
  assert.ok(ep.notifiedAt !== undefined && ep.observed);
});

test('a tripped circuit breaker is notified to the critical receiver within its static worst case', async (ctx) => {
  const gw = ctx.stack!.services['execution-gateway']!.url;
  const worst = (JSON.parse(fs.readFileSync(path.join(ALERTS_DIR, 'alerts.json'), 'utf8')) as { alerts: Array<{ name: string; worstCaseS: Record<PrometheusMajor, number> }> }).alerts.find((a) => a.name === 'CircuitBreakerTripped')!.worstCaseS[prometheusMajor()];
  const t0 = Date.now();
  const tripped = await fetch(`${gw}/circuit-breaker/trip`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'alerts-live test' }) });
  assert.ok(tripped.ok, `trip answered ${tripped.status}`);
  try {
    const n = await waitFor('CircuitBreakerTripped notification', 60_000, async () =>
      ctx.notifications.find((x) => x.status === 'firing' && x.alerts.some((a) => a.labels.alertname === 'CircuitBreakerTripped')),
    );
    const tookS = (Date.now() - t0) / 1000;
    process.stdout.write(`\n  CircuitBreakerTripped: fault to webhook ${tookS.toFixed(1)} s (static worst case ${worst} s)\n`);
    assert.is(n.receiver, 'critical');
    assert.ok(tookS <= worst, `took ${tookS} s, static worst case ${worst} s`);
  } finally {
    await fetch(`${gw}/circuit-breaker/reset`, { method: 'POST' });
  }
});

test.run();
