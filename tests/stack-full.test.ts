import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sleep } from '../stack/ports.ts';
import { ProcessOwner, type ManagedProcess } from '../stack/processes.ts';
import { SERVICE_NAMES, startStack, type LocalStack } from '../stack/index.ts';

interface Ctx {
  stack?: LocalStack;
  dir?: string;
}

const test = suite<Ctx>('full stack', {});

const fixtures = path.join(import.meta.dirname, 'fixtures', 'stack');

/** A scrape job per service, with placeholder targets the stack renders over. */
const PROM_CONFIG = `global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: [rules/*.yml]
scrape_configs:
${SERVICE_NAMES.map((n) => `  - job_name: ${n}\n    static_configs: [{ targets: ['${n}:80'] }]`).join('\n')}
`;

test.before(async (ctx) => {
  ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-full-stack-'));
  fs.cpSync(path.join(fixtures, 'rules'), path.join(ctx.dir, 'rules'), { recursive: true });
  fs.writeFileSync(path.join(ctx.dir, 'prometheus.yml'), PROM_CONFIG);
  const t0 = Date.now();
  // startStack stops whatever it started when it fails, so there is nothing to clean up here on error.
  ctx.stack = await startStack({
    prometheus: { config: path.join(ctx.dir, 'prometheus.yml') },
    alertmanager: { config: path.join(fixtures, 'alertmanager.yml'), webhookUrl: 'http://127.0.0.1:9/unused' },
    log: (line) => process.env.STACK_LOG && process.stderr.write(`[${Date.now() - t0} ms] ${line}\n`),
  });
});

test.after(async (ctx) => {
  await ctx.stack?.stop();
  if (ctx.dir) fs.rmSync(ctx.dir, { recursive: true, force: true });
});

async function health(url: string): Promise<number> {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status;
}

test('starts every service with /health ok', async (ctx) => {
  const { services } = ctx.stack!;
  assert.equal(Object.keys(services).sort(), [...SERVICE_NAMES].sort());
  for (const h of Object.values(services)) assert.is(await health(h.adminUrl ?? h.url), 200, `${h.name} /health`);
  const urls = ctx.stack!.urls();
  assert.ok(urls['fake-alpaca-admin']?.startsWith('http://127.0.0.1:'));
  for (const key of ['postgres', 'redis', 'prometheus', 'alertmanager', ...SERVICE_NAMES]) assert.ok(urls[key], `urls() has ${key}`);
});

test('prometheus scrapes every service through the rendered config', async (ctx) => {
  const deadline = Date.now() + 20_000;
  let health: Record<string, string> = {};
  while (Date.now() < deadline) {
    const res = await fetch(`${ctx.stack!.prometheus!.url}/api/v1/targets`);
    const body = (await res.json()) as { data: { activeTargets: { labels: { job: string }; health: string }[] } };
    health = Object.fromEntries(body.data.activeTargets.map((t) => [t.labels.job, t.health]));
    if (SERVICE_NAMES.every((n) => health[n] === 'up')) break;
    await sleep(500);
  }
  assert.equal(health, Object.fromEntries(SERVICE_NAMES.map((n) => [n, 'up'])));
  const am = await fetch(`${ctx.stack!.prometheus!.url}/api/v1/alertmanagers`);
  const amBody = (await am.json()) as { data: { activeAlertmanagers: { url: string }[] } };
  assert.equal(amBody.data.activeAlertmanagers.map((a) => new URL(a.url).port), [String(ctx.stack!.alertmanager!.port)]);
});

test('a stopped or killed service restarts on the same URL', async (ctx) => {
  const gw = ctx.stack!.services['execution-gateway']!;
  const url = gw.url;
  await gw.stop();
  await fetch(`${url}/health`).then(
    () => assert.unreachable('a stopped service must refuse'),
    (err: Error) => assert.match(String((err.cause as Error | undefined)?.message), /ECONNREFUSED/),
  );
  await gw.start();
  assert.is(gw.url, url);
  assert.is(await health(url), 200);
  await gw.kill();
  assert.is(gw.process.running, false);
  await gw.start();
  assert.is(await health(url), 200);
});

test('a paused service stops answering until resumed', async (ctx) => {
  const sig = ctx.stack!.services['signal-service']!;
  await sig.pause();
  const t0 = Date.now();
  await fetch(`${sig.url}/health`, { signal: AbortSignal.timeout(700) }).then(
    () => assert.unreachable('a paused service must not answer'),
    () => undefined,
  );
  assert.ok(Date.now() - t0 >= 600);
  await sig.resume();
  assert.is(await health(sig.url), 200);
});

test('stop() leaves no process and no run dir', async (ctx) => {
  const { owner, postgres, redis, services, prometheus, alertmanager } = ctx.stack!;
  const procs = [postgres.process!, redis.process!, prometheus!.process, alertmanager!.process, ...Object.values(services).map((h) => h.process)];
  assert.is(procs.filter((p) => p.running).length, 9);
  const runDir = owner.runDir;
  await ctx.stack!.stop();
  const alive = procs.filter((p) => {
    try {
      // Signal 0 to the whole group: fails once no member (e.g. a service's worker) is left.
      process.kill(-p.pid!, 0);
      return true;
    } catch {
      return false;
    }
  });
  assert.equal(alive.map((p) => p.spec.name), []);
  assert.is(fs.existsSync(runDir), false);
});

test('refuses a service list that leaves out a dependency', async () => {
  const err = await startStack({ services: ['orchestrator'] }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  assert.match(String(err?.message), /orchestrator needs signal-service, execution-gateway; add them to services/);
});

test('a service that fails to start stops everything already started and reports its log tail', async () => {
  const spawned: ManagedProcess[] = [];
  const owner = new ProcessOwner({ onSpawn: (p) => spawned.push(p) });
  try {
    const err = await startStack({
      owner,
      services: ['signal-service'],
      serviceEnv: { 'signal-service': { PROBE_INTERVAL_MS: 'often' } },
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.match(String(err?.message), /^stack: signal-service failed to start: signal-service exited with code 2 before listening/);
    assert.match(String(err?.message), /PROBE_INTERVAL_MS/, 'the log tail names the bad setting');
    assert.ok(spawned.some((p) => p.spec.name.startsWith('postgres-')), 'postgres had started');
    assert.equal(spawned.filter((p) => p.running).map((p) => p.spec.name), []);
  } finally {
    await owner.stopAll();
  }
});

test.run();
