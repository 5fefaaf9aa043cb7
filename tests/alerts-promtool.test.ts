import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderAll } from '../alerts/generate.ts';
import { ALERTS_DIR, CATEGORIES, loadThresholds } from '../alerts/model.ts';
import { requirePrometheusTools } from '../stack/prometheus-version.ts';

interface Run {
  code: number;
  out: string;
}

function run(cmd: string, args: string[], cwd = ALERTS_DIR): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

// The chosen Prometheus version's promtool (ALERTPROOF_PROMETHEUS=3: 3.x's; .ci/run runs this suite under both).
const PROMTOOL = requirePrometheusTools().promtool;
process.stdout.write(`promtool: ${PROMTOOL}\n`);

const ruleFiles = CATEGORIES.map((c) => `rules/${c}.yml`);
const testFiles = CATEGORIES.map((c) => `tests/${c}.yml`);

const test = suite<{ tmp?: string }>('alerts promtool', {});

test.before((ctx) => {
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-promtool-'));
});

test.after((ctx) => {
  if (ctx.tmp) fs.rmSync(ctx.tmp, { recursive: true, force: true });
});

/** Writes a generated set of rules and tests into dir, optionally editing the rule text first. */
function writeGenerated(dir: string, files: Map<string, string>, editRules: (text: string) => string = (t) => t): void {
  for (const sub of ['rules', 'tests']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  for (const [rel, content] of files) {
    if (rel.startsWith('rules/')) fs.writeFileSync(path.join(dir, rel), editRules(content));
    else if (rel.startsWith('tests/')) fs.writeFileSync(path.join(dir, rel), content);
  }
}

test('promtool check rules accepts every rule file', async () => {
  const r = await run(PROMTOOL, ['check', 'rules', ...ruleFiles]);
  assert.is(r.code, 0, r.out);
  const total = [...r.out.matchAll(/SUCCESS: (\d+) rules found/g)].reduce((n, m) => n + Number(m[1]), 0);
  assert.ok(total >= 30, `promtool found ${total} rules`);
});

test('promtool check config accepts prometheus.yml with its rule files', async () => {
  const r = await run(PROMTOOL, ['check', 'config', 'prometheus.yml']);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`${CATEGORIES.length} rule files found`));
});

test('promtool test rules passes every firing and quiet case', async () => {
  const r = await run(PROMTOOL, ['test', 'rules', ...testFiles]);
  assert.is(r.code, 0, r.out);
  assert.is((r.out.match(/SUCCESS/g) ?? []).length, testFiles.length, r.out);
});

test('the firing cases fail when an alert would notify after the one-minute budget', async (ctx) => {
  const thresholds = loadThresholds();
  thresholds.ExecutionGatewayDown = { for: '1m' };
  const dir = path.join(ctx.tmp!, 'slow-for');
  writeGenerated(dir, renderAll(thresholds).files);
  const r = await run(PROMTOOL, ['test', 'rules', 'tests/service-health.yml'], dir);
  assert.is.not(r.code, 0);
  assert.match(r.out, /alertname: ExecutionGatewayDown/);
});

test('the quiet cases fail when an absence alert loses its restart gate', async (ctx) => {
  const dir = path.join(ctx.tmp!, 'no-gate');
  writeGenerated(dir, renderAll().files, (text) => text.replace(/\n\s*unless on\(\) min\(min_over_time\(up\{job="execution-gateway"\}\[\d+s\]\)\) == 0/, ''));
  const r = await run(PROMTOOL, ['test', 'rules', 'tests/trading.yml'], dir);
  assert.is.not(r.code, 0);
  assert.match(r.out, /alertname: NoOrdersWhileMarketOpen/);
});

test.run();
