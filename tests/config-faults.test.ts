import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startStack, type LocalStack } from '../stack/index.ts';
import { HARNESS_WEBHOOK_PLACEHOLDER } from '../stack/render.ts';
import { injectSignal } from '../verify/drivers/signal.ts';
import { PrometheusApi } from '../verify/prometheus-api.ts';
import type { FaultContext } from '../verify/scenario.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../verify/webhook.ts';

interface Ctx {
  stack?: LocalStack;
  hook?: WebhookReceiver;
  fault?: FaultContext;
  prom?: PrometheusApi;
  sourceDir?: string;
}

const test = suite<Ctx>('meta-monitoring faults: Prometheus and Alertmanager as fault targets');

const PROMETHEUS_SOURCE = `global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files:
  - rules/*.yml
alerting:
  alertmanagers:
    - static_configs: [{ targets: ['alertmanager:9093'] }]
scrape_configs:
  - job_name: prometheus
    static_configs: [{ targets: ['prometheus:9090'] }]
  - job_name: alertmanager
    static_configs: [{ targets: ['alertmanager:9093'] }]
`;

const BASE_RULES = `groups:
  - name: base
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
`;

const ALERTMANAGER_SOURCE = `route: { receiver: harness, group_wait: 1s }
receivers:
  - name: harness
    webhook_configs:
      - url: ${HARNESS_WEBHOOK_PLACEHOLDER}
`;

test.before(async (ctx) => {
  ctx.hook = await startWebhookReceiver();
  ctx.stack = await startStack({ services: [], prometheus: { config: writeSources(ctx) }, alertmanager: { config: path.join(ctx.sourceDir!, 'alertmanager.yml'), webhookUrl: ctx.hook.url } });
  ctx.fault = { targets: ctx.stack.targets, log: () => undefined };
  ctx.prom = new PrometheusApi(ctx.stack.prometheusUrl!, { pollMs: 100 });
});

test.after(async (ctx) => {
  await ctx.stack?.stop();
  await ctx.hook?.close();
  if (ctx.sourceDir) fs.rmSync(ctx.sourceDir, { recursive: true, force: true });
});

/** Source configs in a directory of their own (the rules dir is its rules/); returns the Prometheus config's path. */
function writeSources(ctx: Ctx): string {
  ctx.sourceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-config-faults-'));
  fs.mkdirSync(path.join(ctx.sourceDir, 'rules'));
  fs.writeFileSync(path.join(ctx.sourceDir, 'rules', 'base.yml'), BASE_RULES);
  fs.writeFileSync(path.join(ctx.sourceDir, 'alertmanager.yml'), ALERTMANAGER_SOURCE);
  const file = path.join(ctx.sourceDir, 'prometheus.yml');
  fs.writeFileSync(file, PROMETHEUS_SOURCE);
  return file;
}

/** GET url/-/ready: the status, or the connection error's code. */
async function ready(url: string): Promise<number | string> {
  try {
    return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) })).status;
  } catch (err) {
    return ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (err as Error).message;
  }
}

test('the stack binds Prometheus and Alertmanager: url, process, and the config file each runs', (ctx) => {
  const { prometheus, alertmanager } = ctx.stack!.targets;
  assert.is(prometheus?.url, ctx.stack!.prometheusUrl);
  assert.is(alertmanager?.url, ctx.stack!.alertmanagerUrl);
  assert.is(prometheus?.process?.kind, 'handle');
  assert.is(alertmanager?.process?.kind, 'handle');
  assert.is(prometheus?.config?.file, ctx.stack!.prometheus!.configFile);
  assert.is(alertmanager?.config?.file, ctx.stack!.alertmanager!.configFile);
  assert.is(prometheus?.config?.rulesDir, path.join(ctx.sourceDir!, 'rules'), 'the directory of the rendered rule_files glob');
  assert.is(alertmanager?.config?.rulesDir, undefined);
  assert.match(fs.readFileSync(prometheus!.config!.file, 'utf8'), new RegExp(`- ${path.join(ctx.sourceDir!, 'rules')}/\\*\\.yml`));
});

test('SIGKILL on alertmanager through the signal driver ends it, and the undo starts it again on the same URL', async (ctx) => {
  const am = ctx.stack!.alertmanager!;
  const pid = am.process.pid;
  const undo = await injectSignal({ target: 'alertmanager', send: 'SIGKILL' }, ctx.fault!);
  assert.not.ok(am.process.running);
  assert.is(await ready(am.url), 'ECONNREFUSED');
  const t0 = Date.now();
  await undo();
  console.log(`  alertmanager back and ready ${Date.now() - t0} ms after the undo began`);
  assert.is(await ready(am.url), 200);
  assert.ok(am.process.running && am.process.pid !== pid, `a new process (pid ${pid} -> ${am.process.pid})`);
  assert.is(ctx.stack!.targets.alertmanager!.process!.kind === 'handle' && ctx.stack!.targets.alertmanager!.process!.process()?.pid, am.process.pid, 'the binding follows the new process');
});

test('SIGKILL on prometheus through the signal driver ends it, and the undo starts it on the same URL and TSDB', async (ctx) => {
  const prom = ctx.stack!.prometheus!;
  const expr = 'count_over_time(up{job="alertmanager"}[10m])';
  const count = async (at: number): Promise<number> => Number((await ctx.prom!.query(expr, at))[0]?.value[1] ?? 0);
  await ctx.prom!.waitUntil(async () => (await count(Date.now() / 1000)) >= 3, 15_000, 'three scrapes of alertmanager');
  const at = Date.now() / 1000;
  const before = await count(at);
  const pid = prom.process.pid;
  const undo = await injectSignal({ target: 'prometheus', send: 'SIGKILL' }, ctx.fault!);
  assert.not.ok(prom.process.running);
  assert.is(await ready(prom.url), 'ECONNREFUSED');
  const t0 = Date.now();
  await undo();
  console.log(`  prometheus back and ready ${Date.now() - t0} ms after the undo began; ${before} samples before the kill`);
  assert.is(await ready(prom.url), 200);
  assert.ok(prom.process.pid !== pid);
  assert.is(await count(at), before, `the ${before} samples up to the kill are still in the TSDB (its WAL was replayed)`);
});

test.run();
