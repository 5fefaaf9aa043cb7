import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import { attachStack, loadAttachFile, AttachFileError } from '../stack/attach.ts';
import { attachFileFor, type StackState } from '../stack/attach-file.ts';
import { labelPredicate } from '../verify/scope.ts';

const test = suite<{ dir: string }>('attach file (stack/attach.ts)');
const root = path.resolve(import.meta.dirname, '..');

test.before((ctx) => {
  ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-attach-'));
});
test.after((ctx) => fs.rmSync(ctx.dir, { recursive: true, force: true }));

const good = {
  prometheus: 'http://127.0.0.1:9090',
  alertmanager: 'http://127.0.0.1:9093',
  notifications: { webhook: { listen: '127.0.0.1:9096' } },
  targets: {
    'execution-gateway': { url: 'http://127.0.0.1:8081/', signal: { pidFile: 'pids/gw.pid', group: true, start: { url: 'http://127.0.0.1:7000/targets/execution-gateway/start' } } },
    redis: { proxy: { api: 'http://127.0.0.1:8474', name: 'redis' }, compose: { service: 'redis', files: ['../docker-compose.yml'] } },
    postgres: { databases: { signals: 'postgres://postgres@127.0.0.1:5432/signals' } },
  },
};

function write(dir: string, doc: unknown): string {
  const file = path.join(dir, `attach-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, typeof doc === 'string' ? doc : YAML.stringify(doc));
  return file;
}

test('a good file parses: paths resolve against it, defaults filled in, bindings become targets', (ctx) => {
  const file = write(ctx.dir, good);
  const config = loadAttachFile(file);
  assert.is(config.rules, 'api');
  assert.is(config.targets['execution-gateway']!.signal!.pidFile, path.join(ctx.dir, 'pids/gw.pid'));
  assert.equal(config.targets.redis!.compose!.files, [path.resolve(ctx.dir, '../docker-compose.yml')]);
  const stack = attachStack(config);
  assert.is(stack.backend, 'attach');
  assert.equal(stack.serviceUrls, { 'execution-gateway': 'http://127.0.0.1:8081' });
  assert.equal(stack.targets.redis!.process, { kind: 'compose', service: 'redis', project: undefined, files: [path.resolve(ctx.dir, '../docker-compose.yml')] });
  assert.is(stack.targets['execution-gateway']!.process!.kind, 'pid');
  assert.equal(stack.watched(), {});
});

test('a bad file stops with one line naming the file and the field', (ctx) => {
  const bad = (doc: unknown, re: RegExp): void => {
    const file = write(ctx.dir, doc);
    try {
      loadAttachFile(file);
      assert.unreachable('accepted');
    } catch (err) {
      assert.instance(err, AttachFileError);
      assert.match((err as Error).message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${re.source}`));
      assert.not.match((err as Error).message, /\n/);
    }
  };
  bad({ ...good, prometheus: 'not a url' }, /prometheus: Invalid url/);
  bad({ ...good, targets: { redis: { proxy: { api: 'http://127.0.0.1:8474' } } } }, /targets\.redis\.proxy\.name: Required/);
  bad({ ...good, targets: { gw: { signal: { group: true } } } }, /targets\.gw\.signal: give exactly one of pid and pidFile/);
  bad({ ...good, targets: { gw: { signal: { pid: 5 }, compose: { service: 'gw' } } } }, /targets\.gw: give signal or compose, not both/);
  bad({ ...good, notifications: { webhook: { listen: '9096' } } }, /notifications/);
  bad({ ...good, targets: { pg: { databases: { signals: 'http://x' } } } }, /targets\.pg\.databases\.signals: must be a postgres:\/\/ URL/);
  bad({ ...good, extra: 1 }, /\(top level\): Unrecognized key\(s\) in object: 'extra'/);
  bad('prometheus: [', /.+/);
});

test('a remote host is refused unless allowRemote lists it, and then only it', (ctx) => {
  const remote = { ...good, targets: { ...good.targets, 'execution-gateway': { url: 'http://staging.example.com:8081' } } };
  assert.throws(() => loadAttachFile(write(ctx.dir, remote)), /targets\.execution-gateway\.url: staging\.example\.com is not a loopback host; list it under allowRemote/);
  assert.ok(loadAttachFile(write(ctx.dir, { ...remote, allowRemote: ['staging.example.com'] })));
  assert.throws(() => loadAttachFile(write(ctx.dir, { ...remote, prometheus: 'http://prom.example.com', allowRemote: ['staging.example.com'] })), /prometheus: prom\.example\.com is not a loopback host/);
  assert.ok(loadAttachFile(write(ctx.dir, { ...good, prometheus: 'http://[::1]:9090' })));
});

test('the CLI stops on a bad attach file with one line, before starting anything', (ctx) => {
  const file = write(ctx.dir, { ...good, alertmanager: 'http://10.1.2.3:9093' });
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'verify/cli.ts', '--attach', file], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /^verify-alerts: .+: alertmanager: 10\.1\.2\.3 is not a loopback host; list it under allowRemote .*\n$/);
  assert.is(r.stdout, '');
});

test('the attach file for a running npm run stack validates and names every binding the state records', (ctx) => {
  const state: StackState = {
    pid: 1,
    startedAt: '2026-12-01T00:00:00Z',
    urls: { prometheus: 'http://127.0.0.1:1', alertmanager: 'http://127.0.0.1:2' },
    targets: { orchestrator: { url: 'http://127.0.0.1:3', pidFile: '/tmp/o.pid', startUrl: 'http://127.0.0.1:4/targets/orchestrator/start' }, redis: { proxy: { api: 'http://127.0.0.1:5', name: 'redis' }, pidFile: '/tmp/r.pid' } },
    harnessWebhook: '127.0.0.1:6',
  };
  const config = loadAttachFile(write(ctx.dir, attachFileFor(state)));
  assert.equal(config.targets.orchestrator!.signal, { pidFile: '/tmp/o.pid', group: true, start: { url: 'http://127.0.0.1:4/targets/orchestrator/start', method: 'POST' } });
  assert.equal(config.targets.redis!.proxy, { api: 'http://127.0.0.1:5', name: 'redis' });
  assert.equal(config.notifications, { webhook: { listen: '127.0.0.1:6', path: '/alertmanager' } });
  assert.equal(attachFileFor({ ...state, harnessWebhook: undefined }).notifications, { alertmanagerApi: true });
});

test('scope matchers select label sets as Prometheus matchers do', () => {
  const p = labelPredicate('{env="staging", job=~"gw|sig", team!="x", zone!~"eu-.*"}', 'scope.alerts');
  assert.ok(p({ env: 'staging', job: 'gw', zone: 'us-1' }));
  assert.not.ok(p({ env: 'staging', job: 'gwx' }), 'regex is anchored');
  assert.not.ok(p({ env: 'staging', job: 'sig', zone: 'eu-2' }));
  assert.not.ok(p({ job: 'gw' }), 'absent label is the empty string');
  assert.ok(labelPredicate(undefined, 'f')({}));
  assert.throws(() => labelPredicate('env="x"', 'scope.alerts'), /scope\.alerts: expected label matchers in braces/);
  assert.throws(() => labelPredicate('{env=x}', 'scope.alerts'), /scope\.alerts: cannot read a matcher/);
  assert.throws(() => labelPredicate('{env=~"("}', 'scope.alerts'), /scope\.alerts: env=~"\(": /);
});

test.run();
