import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import { ALWAYS_FIRING } from '../alerts/catalog/index.ts';
import { loadMatrix, MatrixError, parseMatrix } from '../verify/matrix.ts';
import { bindingProblems } from '../verify/harness.ts';
import { expand, placeholders, VARIABLE_NAMES } from '../verify/drivers/variables.ts';
import { loadRules } from '../verify/rules.ts';

const test = suite('fault matrix (verify/matrix.yaml)');
const root = path.resolve(import.meta.dirname, '..');

const one = (scenario: Record<string, unknown>): string => YAML.stringify({ scenarios: [scenario] });
const base = { id: 'x-fault', description: 'd', touches: ['dep:redis'], expect: ['SlowSignalGeneration'], faults: [{ proxy: { target: 'redis', fault: 'reset' } }] };

test('the checked-in matrix parses, ids are unique, and every alert rule is expected by a fault scenario', () => {
  const scenarios = loadMatrix();
  assert.ok(scenarios.length >= 24, `${scenarios.length} fault scenarios`);
  const expected = new Set(scenarios.flatMap((s) => s.expect.map((e) => e.split('/')[0]!)));
  const rules = loadRules(path.join(root, 'alerts/rules'));
  // The always-firing dead man's switch is judged from rule load, not by a fault.
  const unexpected = rules.filter((r) => !expected.has(r.alertname) && !ALWAYS_FIRING.includes(r.alertname)).map((r) => r.alertname);
  assert.equal(unexpected, [], 'alerts no fault scenario expects');
});

test('every placeholder the matrix uses is one the drivers fill in', () => {
  const used = new Set(loadMatrix().flatMap((s) => placeholders(s.faults)));
  for (const name of used) assert.ok(VARIABLE_NAMES.includes(name) || name === 'i', `\${${name}}`);
});

test('an error names the file, the fault scenario and the field', () => {
  const bad = (s: Record<string, unknown>, re: RegExp): void => {
    try {
      parseMatrix(one(s), 'm.yaml');
      assert.unreachable('accepted');
    } catch (err) {
      assert.instance(err, MatrixError);
      assert.match((err as Error).message, re);
      assert.not.match((err as Error).message, /\n/, 'one line');
    }
  };
  bad({ ...base, faults: [{ proxy: { target: 'redis', fault: 'latency', latencyMs: 'slow' } }] }, /^m\.yaml: fault scenario x-fault: faults\.0\.proxy\.latencyMs: Expected number/);
  bad({ ...base, faults: [{ proxy: { target: 'redis', fault: 'melt' } }] }, /faults\.0\.proxy\.fault: Invalid discriminator value/);
  bad({ ...base, faults: [{ signal: { target: 'redis', send: 'SIGSTOP' }, proxy: { target: 'redis', fault: 'reset' } }] }, /faults\.0: each step names exactly one driver/);
  bad({ ...base, faults: [{ teleport: {} }] }, /faults\.0: Unrecognized key\(s\) in object: 'teleport'/);
  bad({ ...base, expect: [] }, /fault scenario x-fault: expect: name at least one alert, or heartbeat: stops/);
  bad({ ...base, touchez: [] }, /Unrecognized key\(s\) in object: 'touchez'/);
  bad({ ...base, id: 'Bad Id' }, /fault scenario Bad Id: id: lower-case words/);
  bad({ ...base, faults: [{ broker: { set: { errorRate: 2 } } }] }, /faults\.0\.broker\.set\.errorRate: Number must be less than or equal to 1/);
  bad({ ...base, faults: [{ http: { target: 'orchestrator', inject: { path: '/runs', count: 3, everyS: 2 } } }] }, /faults\.0\.http\.inject: give count or everyS, not both/);
  const config = (edit: unknown): Record<string, unknown> => ({ ...base, faults: [{ config: { target: 'prometheus', edit } }] });
  bad(config({ break: true, removeAlertmanagers: true }), /faults\.0\.config\.edit: name exactly one edit: addRuleGroup, removeScrapeJob, removeAlertmanagers, break/);
  bad(config({}), /faults\.0\.config\.edit: name exactly one edit/);
  bad(config({ break: false }), /faults\.0\.config\.edit\.break: Invalid literal value, expected true/);
  bad(config({ reboot: true }), /faults\.0\.config\.edit: Unrecognized key\(s\) in object: 'reboot'/);
  bad(config({ addRuleGroup: { name: 'g', rules: [{ expr: 'up' }] } }), /faults\.0\.config\.edit\.addRuleGroup\.rules\.0: give one of record and alert/);
  bad(config({ addRuleGroup: { name: 'g', rules: [{ record: 'r', expr: 'up', for: '1m' }] } }), /faults\.0\.config\.edit\.addRuleGroup\.rules\.0: for and annotations belong to an alert rule/);
  bad(config({ addRuleGroup: { name: 'g', interval: 'soon', rules: [{ alert: 'A', expr: 'up' }] } }), /faults\.0\.config\.edit\.addRuleGroup\.interval: a Prometheus duration/);
  bad(config({ addRuleGroup: { name: 'g', rules: [] } }), /faults\.0\.config\.edit\.addRuleGroup\.rules: Array must contain at least 1/);
  bad({ ...base, faults: [{ config: { edit: { break: true } } }] }, /faults\.0\.config\.target: Required/);
  bad({ ...base, faults: [{ webhook: { channel: 'pager', status: 500 } }] }, /faults\.0\.webhook\.channel: Invalid enum value\. Expected 'alerts' \| 'alerting' \| 'heartbeat', received 'pager'/);
  bad({ ...base, faults: [{ webhook: { channel: 'heartbeat', status: 200 } }] }, /faults\.0\.webhook\.status: Number must be greater than or equal to 400/);
  bad({ ...base, faults: [{ webhook: { channel: 'heartbeat', status: 500, target: 'alertmanager' } }] }, /faults\.0\.webhook: Unrecognized key\(s\) in object: 'target'/);
  assert.throws(() => parseMatrix(YAML.stringify({ scenarios: [base, base] }), 'm.yaml'), /fault scenario x-fault: id: another fault scenario has this id/);
  assert.throws(() => parseMatrix('scenarios: [', 'm.yaml'), /^m\.yaml: /);
});

test('the CLI stops on a bad matrix with one line naming the field', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-matrix-'));
  try {
    const file = path.join(dir, 'matrix.yaml');
    fs.writeFileSync(file, one({ ...base, faults: [{ sql: { database: 'signals', inject: 'SELECT 1' } }] }));
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'verify/cli.ts', '--matrix', file, '--list'], { cwd: root, encoding: 'utf8' });
    assert.is(r.status, 2, r.stderr);
    assert.match(r.stderr, /^verify-alerts: .*matrix\.yaml: fault scenario x-fault: faults\.0\.sql\.recover: Required\n$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('config steps parse into their edits', () => {
  const rule = { alert: 'FaultProbe', expr: 'up * on() up', for: '10s', labels: { severity: 'high' }, annotations: { summary: 's' } };
  const edits = [{ addRuleGroup: { name: 'g', interval: '5s', rules: [rule, { record: 'fault:r', expr: '1' }] } }, { removeScrapeJob: 'alertmanager' }, { removeAlertmanagers: true }, { break: true }];
  const [s] = parseMatrix(one({ ...base, faults: edits.map((edit) => ({ config: { target: 'prometheus', edit } })) }), 'm.yaml');
  assert.equal(s!.faults, edits.map((edit) => ({ config: { target: 'prometheus', edit } })));
});

test('a missing binding is named before anything is injected', () => {
  const scenarios = parseMatrix(one({ ...base, faults: [{ proxy: { target: 'redis', fault: 'reset' } }, { signal: { target: 'ghost', send: 'SIGKILL' } }, { load: { pause: ['orders'] } }] }), 'm.yaml');
  assert.equal(bindingProblems(scenarios, { redis: { url: 'http://127.0.0.1:1' } }), [
    'targets.redis.proxy: missing, and fault scenario x-fault, faults.0.proxy needs it',
    'targets.ghost: missing, and fault scenario x-fault, faults.1.signal acts on it',
  ]);
  // The webhook driver acts on the harness's own receiver, no target of the stack: nothing to bind.
  const meta = parseMatrix(one({ ...base, faults: [{ config: { target: 'alertmanager', edit: { break: true } } }, { webhook: { channel: 'heartbeat', status: 500 } }] }), 'm.yaml');
  assert.equal(bindingProblems(meta, { alertmanager: { url: 'http://127.0.0.1:1' } }), ['targets.alertmanager.config: missing, and fault scenario x-fault, faults.0.config needs it']);
});

test('placeholders are filled in strings anywhere in a value, and an unknown one is an error', () => {
  assert.equal(expand({ a: ['${x}-${i}', 3], b: { c: 'no' } }, { x: 'AAPL', i: '2' }), { a: ['AAPL-2', 3], b: { c: 'no' } });
  assert.throws(() => expand('${nope}', {}), /no value for \$\{nope\}/);
  assert.equal(placeholders({ q: "DO $$ BEGIN END $$; ${stamp}" }), ['stamp']);
});

test.run();
