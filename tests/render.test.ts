import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { HARNESS_WEBHOOK_PLACEHOLDER, renderAlertmanagerConfig, renderPrometheusConfig } from '../stack/render.ts';
import { SERVICE_NAMES } from '../stack/services.ts';
import { WEBHOOK_CHANNEL_PATHS } from '../verify/webhook.ts';

const execFileP = promisify(execFile);
const alertsDir = path.join(import.meta.dirname, '..', 'alerts');

const fixtures = path.join(import.meta.dirname, 'fixtures', 'stack');
const promSource = fs.readFileSync(path.join(fixtures, 'prometheus.yml'), 'utf8');
const amSource = fs.readFileSync(path.join(fixtures, 'alertmanager.yml'), 'utf8');

interface PromConfig {
  global: { scrape_interval: string; external_labels?: Record<string, string> };
  rule_files: string[];
  alerting?: { alertmanagers?: { static_configs: { targets: string[] }[] }[] };
  scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[]; labels?: Record<string, string> }[] }[];
}

const test = suite('render');

const base = {
  targets: { 'fake-alpaca': '127.0.0.1:41001', 'execution-gateway': '127.0.0.1:41002', loadgen: '127.0.0.1:41003' },
  baseDir: fixtures,
  alertmanagers: ['127.0.0.1:41009'],
};

test('replaces each job target by job name and keeps labels and other fields', () => {
  const out = renderPrometheusConfig(promSource, base);
  const cfg = parse(out.yaml) as PromConfig;
  const byJob = Object.fromEntries(cfg.scrape_configs.map((j) => [j.job_name, j]));
  assert.equal(byJob['fake-alpaca']!.static_configs, [{ targets: ['127.0.0.1:41001'], labels: { service: 'fake-alpaca' } }]);
  assert.equal(byJob['execution-gateway']!.static_configs[0]!.targets, ['127.0.0.1:41002']);
  assert.is(byJob['fake-alpaca']!.metrics_path, '/metrics');
  assert.is(cfg.global.scrape_interval, '5s');
  assert.ok(out.yaml.includes('# kept: only ports may change'), 'comments survive rendering');
  assert.equal(out.droppedJobs, []);
});

test('changes nothing but ports, rule paths and alertmanager targets', () => {
  const out = renderPrometheusConfig(promSource, base);
  const strip = (s: string): string =>
    s
      .replace(/(?:127\.0\.0\.1|localhost|[a-z-]+):\d+/g, 'HOST:PORT')
      .replace(/- \S*rules\/\*\.yml/, '- RULES');
  assert.is(strip(out.yaml), strip(promSource));
});

test('makes rule_files absolute against the source directory, and reports them', () => {
  const out = renderPrometheusConfig(promSource, base);
  const cfg = parse(out.yaml) as PromConfig;
  assert.equal(cfg.rule_files, [path.join(fixtures, 'rules', '*.yml')]);
  assert.equal(out.ruleFiles, cfg.rule_files);
});

test('points rule_files at a given rules dir when asked', () => {
  const out = renderPrometheusConfig(promSource, { ...base, rulesDir: '/tmp/tuned-rules' });
  const cfg = parse(out.yaml) as PromConfig;
  assert.equal(cfg.rule_files, ['/tmp/tuned-rules/*.yml']);
  assert.equal(out.ruleFiles, ['/tmp/tuned-rules/*.yml']);
});

test('sets the alertmanager targets, or removes them when there is none', () => {
  const withAm = parse(renderPrometheusConfig(promSource, base).yaml) as PromConfig;
  assert.equal(withAm.alerting!.alertmanagers, [{ static_configs: [{ targets: ['127.0.0.1:41009'] }] }]);
  const without = parse(renderPrometheusConfig(promSource, { ...base, alertmanagers: [] }).yaml) as PromConfig;
  assert.is(without.alerting?.alertmanagers, undefined);
});

test('drops jobs with no running target and reports them', () => {
  const out = renderPrometheusConfig(promSource, { ...base, targets: { 'fake-alpaca': '127.0.0.1:41001' } });
  const cfg = parse(out.yaml) as PromConfig;
  assert.equal(cfg.scrape_configs.map((j) => j.job_name), ['fake-alpaca']);
  assert.equal(out.droppedJobs, ['execution-gateway', 'loadgen']);
});

test('appends an extra job the file does not have and merges external labels', () => {
  const out = renderPrometheusConfig(promSource, {
    ...base,
    extraTargets: { 'probe-runner': '127.0.0.1:41010' },
    externalLabels: { run_id: 'r1' },
  });
  const cfg = parse(out.yaml) as PromConfig;
  assert.equal(out.addedJobs, ['probe-runner']);
  assert.equal(cfg.scrape_configs.at(-1), { job_name: 'probe-runner', static_configs: [{ targets: ['127.0.0.1:41010'] }] });
  assert.equal(cfg.global.external_labels, { run_id: 'r1' });
});

test('replaces only the harness webhook placeholder in the alertmanager config', () => {
  const out = renderAlertmanagerConfig(amSource, { webhookUrl: 'http://127.0.0.1:45555/hook' });
  const cfg = parse(out) as { receivers: { name: string; webhook_configs: { url: string; send_resolved?: boolean }[] }[] };
  assert.equal(cfg.receivers[0]!.webhook_configs, [{ url: 'http://127.0.0.1:45555/hook', send_resolved: true }]);
  assert.is(cfg.receivers[1]!.webhook_configs[0]!.url, 'http://127.0.0.1:9999/elsewhere');
  assert.is(out.replace('http://127.0.0.1:45555/hook', HARNESS_WEBHOOK_PLACEHOLDER), amSource);
});

test('rewrites each harness channel url to the webhook plus the same suffix, alsoTo copies too, and leaves look-alikes', () => {
  const source = `route: { receiver: alerts }
receivers:
  - name: alerts
    webhook_configs:
      - url: ${HARNESS_WEBHOOK_PLACEHOLDER}
        send_resolved: true
  - name: alerting
    webhook_configs:
      - url: ${HARNESS_WEBHOOK_PLACEHOLDER}/alerting
        send_resolved: true
  - name: heartbeat
    webhook_configs:
      - url: ${HARNESS_WEBHOOK_PLACEHOLDER}/heartbeat
        send_resolved: false
  - name: look-alike
    webhook_configs:
      - url: ${HARNESS_WEBHOOK_PLACEHOLDER}-other
`;
  const out = renderAlertmanagerConfig(source, { webhookUrl: 'http://127.0.0.1:45555/hook', alsoTo: ['http://127.0.0.1:46666/alertmanager'] });
  const cfg = parse(out) as { receivers: { name: string; webhook_configs: { url: string; send_resolved?: boolean }[] }[] };
  const urls = Object.fromEntries(cfg.receivers.map((r) => [r.name, r.webhook_configs.map((h) => [h.url, h.send_resolved])]));
  assert.equal(urls, {
    alerts: [['http://127.0.0.1:45555/hook', true], ['http://127.0.0.1:46666/alertmanager', true]],
    alerting: [['http://127.0.0.1:45555/hook/alerting', true], ['http://127.0.0.1:46666/alertmanager/alerting', true]],
    heartbeat: [['http://127.0.0.1:45555/hook/heartbeat', false], ['http://127.0.0.1:46666/alertmanager/heartbeat', false]],
    'look-alike': [[`${HARNESS_WEBHOOK_PLACEHOLDER}-other`, undefined]],
  });
});

test('fails clearly when the alertmanager config has no harness receiver', () => {
  const source = amSource.replace(HARNESS_WEBHOOK_PLACEHOLDER, 'http://127.0.0.1:1/x');
  assert.throws(() => renderAlertmanagerConfig(source, { webhookUrl: 'http://127.0.0.1:2/y' }), /no webhook receiver with url http:\/\/127\.0\.0\.1:9099\/alertmanager \(or http:\/\/127\.0\.0\.1:9099\/alertmanager\/<channel>\)/);
  const lookAlike = amSource.replace(HARNESS_WEBHOOK_PLACEHOLDER, `${HARNESS_WEBHOOK_PLACEHOLDER}s`);
  assert.throws(() => renderAlertmanagerConfig(lookAlike, { webhookUrl: 'http://127.0.0.1:2/y' }), /no webhook receiver/);
});

test('fails clearly on invalid YAML', () => {
  assert.throws(() => renderPrometheusConfig('scrape_configs: [', base), /prometheus config is not valid YAML/);
});

test('renders the real alerts/ configs into files promtool and amtool accept, changing only addresses', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-render-'));
  try {
    const source = fs.readFileSync(path.join(alertsDir, 'prometheus.yml'), 'utf8');
    // As stack/index.ts gives them: each service, and Prometheus and Alertmanager themselves (meta-monitoring).
    const targets = Object.fromEntries([...SERVICE_NAMES, 'prometheus', 'alertmanager'].map((n, i) => [n, `127.0.0.1:${41001 + i}`]));
    const out = renderPrometheusConfig(source, { targets, baseDir: alertsDir, alertmanagers: ['127.0.0.1:41009'] });
    assert.equal(out.droppedJobs, [], 'every scrape job in alerts/prometheus.yml is a part the stack runs');
    const changed = diffLines(source, out.yaml);
    assert.ok(changed.length > 0);
    for (const [before, after] of changed) {
      const isTarget = /targets:/.test(before) && /127\.0\.0\.1:410\d\d/.test(after);
      const isRules = /^\s*- rules\//.test(before) && after.includes(path.join(alertsDir, 'rules'));
      assert.ok(isTarget || isRules, `unexpected change: ${before.trim()} -> ${after.trim()}`);
    }
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), out.yaml);
    const prom = await execFileP('promtool', ['check', 'config', path.join(dir, 'prometheus.yml')]);
    assert.match(prom.stdout, /SUCCESS/);
    const am = renderAlertmanagerConfig(fs.readFileSync(path.join(alertsDir, 'alertmanager.yml'), 'utf8'), { webhookUrl: 'http://127.0.0.1:41010/hook' });
    const hooks = (parse(am) as { receivers: { webhook_configs?: { url: string }[] }[] }).receivers.flatMap((r) => r.webhook_configs ?? []);
    assert.ok(hooks.length > 0);
    assert.ok(hooks.some((h) => h.url === 'http://127.0.0.1:41010/hook'), 'the alerts channel is routed');
    const channelUrls = Object.values(WEBHOOK_CHANNEL_PATHS).map((p) => `http://127.0.0.1:41010/hook${p}`);
    for (const h of hooks) assert.ok(channelUrls.includes(h.url), `${h.url} is one of the harness channels`);
    fs.writeFileSync(path.join(dir, 'alertmanager.yml'), am);
    const amtool = await execFileP('amtool', ['check-config', path.join(dir, 'alertmanager.yml')]);
    assert.match(amtool.stdout, /SUCCESS/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Pairs of differing lines; the renderer never adds or removes lines when every job has a target. */
function diffLines(a: string, b: string): [string, string][] {
  const x = a.split('\n');
  const y = b.split('\n');
  assert.is(y.length, x.length, 'same number of lines');
  return x.flatMap((line, i) => (line === y[i] ? [] : [[line, y[i]!] as [string, string]]));
}

test.run();
