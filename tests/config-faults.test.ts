import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startStack, type LocalStack } from '../stack/index.ts';
import { HARNESS_WEBHOOK_PLACEHOLDER, renderPrometheusConfig } from '../stack/render.ts';
import { BREAKING_LINE, editedText, injectConfig } from '../verify/drivers/config.ts';
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
  logged?: string[];
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
  ctx.logged = [];
  ctx.hook = await startWebhookReceiver();
  ctx.stack = await startStack({ services: [], prometheus: { config: writeSources(ctx) }, alertmanager: { config: path.join(ctx.sourceDir!, 'alertmanager.yml'), webhookUrl: ctx.hook.url } });
  ctx.fault = { targets: ctx.stack.targets, log: (line) => void ctx.logged!.push(line) };
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

/** The value of a daemon's own metric (the first series whose labels contain labelText), from its /metrics. */
async function selfMetric(url: string, name: string, labelText = ''): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const series = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`);
  for (const line of text.split('\n')) {
    const m = series.exec(line);
    if (m && (m[1] ?? '').includes(labelText)) return Number(m[2]);
  }
  return undefined;
}

/** Waits until fn returns true, polling every 100 ms; fails naming what was awaited. */
async function eventually(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) assert.unreachable(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const faultRuleFiles = (ctx: Ctx): string[] => fs.readdirSync(path.join(ctx.sourceDir!, 'rules')).filter((f) => f.startsWith('zz-fault-'));

test('addRuleGroup writes a rule file Prometheus loads, its evaluation failures count, and the undo removes it', async (ctx) => {
  const url = ctx.stack!.prometheusUrl!;
  const undo = await injectConfig(
    { target: 'prometheus', edit: { addRuleGroup: { name: 'fault-many-to-many', rules: [{ record: 'fault:up:many_to_many', expr: 'up * on() up' }] } } },
    ctx.fault!,
  );
  const [name] = faultRuleFiles(ctx);
  assert.ok(name, 'a zz-fault-*.yml in the rules dir');
  const ruleGroup = `${path.join(ctx.sourceDir!, 'rules', name!)};fault-many-to-many`;
  await eventually(async () => ((await selfMetric(url, 'prometheus_rule_evaluation_failures_total', `rule_group="${ruleGroup}"`)) ?? 0) > 0, 10_000, 'failures of the fault group counted');
  const group = (await ctx.prom!.rules()).find((g) => g.name === 'fault-many-to-many');
  assert.is(group?.rules[0]?.health, 'err');
  assert.match(group!.rules[0]!.lastError ?? '', /many-to-many matching not allowed/);
  assert.is(await selfMetric(url, 'prometheus_rule_evaluation_failures_total', 'rule_group="' + path.join(ctx.sourceDir!, 'rules', 'base.yml') + ';base"'), 0, 'the real group still evaluates');

  await undo();
  assert.equal(faultRuleFiles(ctx), []);
  assert.not.ok((await ctx.prom!.rules()).some((g) => g.name === 'fault-many-to-many'), 'the group is gone after the reload');
  assert.is(await selfMetric(url, 'prometheus_config_last_reload_successful'), 1);
});

test('addRuleGroup with a rule Prometheus refuses fails naming the reason, and leaves no file behind', async (ctx) => {
  try {
    await injectConfig({ target: 'prometheus', edit: { addRuleGroup: { name: 'fault-bad', rules: [{ record: 'fault:bad', expr: 'up +' }] } } }, ctx.fault!);
    assert.unreachable('a rule file Prometheus refuses must fail the step');
  } catch (err) {
    assert.match((err as Error).message, /^target "prometheus": reload after adding rule group "fault-bad" in \S+zz-fault-\w+\.yml failed \(prometheus rejected .*\); removed the file$/);
  }
  assert.equal(faultRuleFiles(ctx), []);
  assert.is(await selfMetric(ctx.stack!.prometheusUrl!, 'prometheus_config_last_reload_successful'), 1, 'the removal was reloaded');
});

for (const target of ['prometheus', 'alertmanager'] as const) {
  test(`break on ${target}: the reload is refused, it keeps serving its last good config, and the undo restores the bytes`, async (ctx) => {
    const binding = ctx.stack!.targets[target]!;
    const file = binding.config!.file;
    const original = fs.readFileSync(file, 'utf8');
    const metric = `${target}_config_last_reload_successful`;
    ctx.logged!.length = 0;
    const undo = await injectConfig({ target, edit: { break: true } }, ctx.fault!);
    assert.is(fs.readFileSync(file, 'utf8'), `${original}${BREAKING_LINE}\n`);
    assert.is(await selfMetric(binding.url!, metric), 0);
    assert.is(await ready(binding.url!), 200, 'still serving');
    const refusal = ctx.logged!.find((l) => l.includes('refused the broken'));
    assert.match(refusal ?? '', new RegExp(`${target} refused the broken ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, as intended`));
    assert.match(refusal!, /field alertproof_injected_fault not found in type config\.plain/, 'the daemon names the injected key');
    assert.not.match(refusal!, /\n/, 'one line');
    console.log(`  ${target}'s reload of the broken config: ${refusal!.slice(refusal!.indexOf(': ') + 2)}`);

    await undo();
    assert.is(fs.readFileSync(file, 'utf8'), original, 'the exact bytes are back');
    assert.is(await selfMetric(binding.url!, metric), 1);
  });
}

test('removeScrapeJob drops exactly that job from the file and the running targets; the undo brings it back', async (ctx) => {
  const file = ctx.stack!.targets.prometheus!.config!.file;
  const original = fs.readFileSync(file, 'utf8');
  const pools = async (): Promise<string> => [...new Set((await ctx.prom!.targets()).map((t) => t.scrapePool))].sort().join(',');
  // Target discovery re-sends its targets after every reload, on its own 5 s tick: the list may lag a reload.
  await eventually(async () => (await pools()) === 'alertmanager,prometheus', 10_000, 'both jobs scraped before');
  const undo = await injectConfig({ target: 'prometheus', edit: { removeScrapeJob: 'alertmanager' } }, ctx.fault!);
  const edited = fs.readFileSync(file, 'utf8');
  const removed = original.split('\n').filter((l) => !edited.split('\n').includes(l));
  assert.equal(removed.map((l) => l.trim().split(':')[0]), ['- job_name', 'static_configs'], 'only the job\'s own lines left the file');
  assert.is(edited.split('\n').length, original.split('\n').length - 2);
  const t0 = Date.now();
  await eventually(async () => (await pools()) === 'prometheus', 10_000, 'the alertmanager job gone from the targets');
  const gone = Date.now() - t0;
  await undo();
  assert.is(fs.readFileSync(file, 'utf8'), original);
  const t1 = Date.now();
  await eventually(async () => (await pools()) === 'alertmanager,prometheus', 10_000, 'the alertmanager job back');
  console.log(`  removed job left /api/v1/targets ${gone} ms after the reload; back ${Date.now() - t1} ms after the undo's`);
});

test('removeScrapeJob of a job the file lacks fails naming the target, the file and its jobs, changing nothing', async (ctx) => {
  const file = ctx.stack!.targets.prometheus!.config!.file;
  const original = fs.readFileSync(file, 'utf8');
  try {
    await injectConfig({ target: 'prometheus', edit: { removeScrapeJob: 'ghost' } }, ctx.fault!);
    assert.unreachable('accepted');
  } catch (err) {
    assert.is((err as Error).message, `target "prometheus": ${file}: no scrape job "ghost" (jobs: prometheus, alertmanager); is this target Prometheus?`);
  }
  assert.is(fs.readFileSync(file, 'utf8'), original);
});

test('removeAlertmanagers leaves Prometheus no Alertmanager to send to; the undo reconnects it', async (ctx) => {
  const file = ctx.stack!.targets.prometheus!.config!.file;
  const original = fs.readFileSync(file, 'utf8');
  const active = async (): Promise<string[]> => {
    const body = (await (await fetch(`${ctx.stack!.prometheusUrl}/api/v1/alertmanagers`)).json()) as { data: { activeAlertmanagers: { url: string }[] } };
    return body.data.activeAlertmanagers.map((a) => a.url);
  };
  await eventually(async () => (await active()).length === 1, 10_000, 'one active alertmanager before');
  const undo = await injectConfig({ target: 'prometheus', edit: { removeAlertmanagers: true } }, ctx.fault!);
  assert.not.match(fs.readFileSync(file, 'utf8'), /alertmanagers:/);
  await eventually(async () => (await active()).length === 0, 10_000, 'no active alertmanager');
  assert.is(await selfMetric(ctx.stack!.prometheusUrl!, 'prometheus_notifications_alertmanagers_discovered'), 0);
  await undo();
  assert.is(fs.readFileSync(file, 'utf8'), original);
  const t0 = Date.now();
  await eventually(async () => (await active()).includes(`${ctx.stack!.alertmanagerUrl}/api/v2/alerts`), 15_000, 'the alertmanager active again');
  console.log(`  alertmanager active again ${Date.now() - t0} ms after the undo's reload`);
});

test('edits a daemon cannot take fail clearly before anything changes', async (ctx) => {
  const amFile = ctx.stack!.targets.alertmanager!.config!.file;
  const original = fs.readFileSync(amFile, 'utf8');
  const fails = async (edit: Parameters<typeof injectConfig>[0]['edit'], re: RegExp): Promise<void> => {
    const outcome = await injectConfig({ target: 'alertmanager', edit }, ctx.fault!).then(
      () => 'accepted',
      (err: Error) => err.message,
    );
    assert.match(outcome, re);
  };
  await fails({ addRuleGroup: { name: 'g', rules: [{ record: 'r', expr: '1' }] } }, /^target "alertmanager": no rules dir .*addRuleGroup needs; is this target Prometheus\?$/);
  await fails({ removeAlertmanagers: true }, /^target "alertmanager": \S+alertmanager\.yml: no alerting\.alertmanagers to remove/);
  await fails({ removeScrapeJob: 'prometheus' }, /no scrape job "prometheus" \(jobs: none\)/);
  assert.is(fs.readFileSync(amFile, 'utf8'), original);
  const outcome = await injectConfig({ target: 'postgres', edit: { break: true } }, ctx.fault!).then(
    () => 'accepted',
    (err: Error) => err.message,
  );
  assert.match(outcome, /^target "postgres" has no config file \(only a Prometheus or Alertmanager the harness starts has one/);
});

test('the undo restores the original bytes even when the reload fails, and says so with the target and file', async (ctx) => {
  const file = path.join(ctx.sourceDir!, 'fake.yml');
  const original = 'scrape_configs:\n  - job_name: a\n  - job_name: b\n';
  fs.writeFileSync(file, original);
  // The inject's reload succeeds; the undo's finds the daemon gone.
  let reloads = 0;
  const reload = async (): Promise<void> => {
    if (++reloads > 1) throw new Error('daemon gone');
  };
  const failing: FaultContext = { targets: { fake: { config: { file, reload } } }, log: () => undefined };
  const undo = await injectConfig({ target: 'fake', edit: { removeScrapeJob: 'a' } }, failing);
  assert.is(fs.readFileSync(file, 'utf8'), 'scrape_configs:\n  - job_name: b\n');
  const outcome = await undo().then(
    () => 'undone',
    (err: Error) => err.message,
  );
  assert.is(outcome, `target "fake": restored the original ${file}, but its reload failed: daemon gone`);
  assert.is(fs.readFileSync(file, 'utf8'), original);
});

test('a removal keeps every other byte of a rendered file, comments included', () => {
  const source = `# head comment
global: {scrape_interval: 1s}
scrape_configs:
  # about a
  - job_name: a
    metrics_path: /metrics   # trailing
    static_configs:
      - targets: ['127.0.0.1:1']
  - job_name: b
    static_configs: [{targets: ['127.0.0.1:2']}]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:3']
`;
  const original = renderPrometheusConfig(source, { targets: { a: '127.0.0.1:1', b: '127.0.0.1:2' }, baseDir: '/', alertmanagers: ['127.0.0.1:3'] }).yaml;
  assert.ok(original.includes('# about a') && original.includes('# trailing'));
  assert.is(
    editedText(original, { removeScrapeJob: 'b' }, 'f'),
    original.replace("  - job_name: b\n    static_configs: [{targets: ['127.0.0.1:2']}]\n", ''),
  );
  assert.is(editedText(original, { removeAlertmanagers: true }, 'f'), original.replace(/alerting:\n[\s\S]*$/, 'alerting: {}\n'));
  assert.is(editedText('a: 1', { break: true }, 'f'), `a: 1\n${BREAKING_LINE}\n`);
});

test.run();
