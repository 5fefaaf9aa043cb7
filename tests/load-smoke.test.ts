// The smoke k6 scenario, run by load/runtime against the real stack (Postgres, Redis, fake-alpaca and the four
// services as processes): every flow runs and passes its checks; setup stops the test on a symbol with no quote.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runScenario, stackUrls } from '../load/scenario-run.ts';
import { FLOWS } from '../load/scenarios/lib/config.ts';
import { startStack, type LocalStack } from '../stack/index.ts';

const test = suite<{ stack?: LocalStack; tmp: string }>('load smoke', { tmp: '' });

test.before(async (ctx) => {
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'load-smoke-'));
  ctx.stack = await startStack({ prometheus: false, alertmanager: false });
});

test.after(async (ctx) => {
  await ctx.stack?.stop();
  fs.rmSync(ctx.tmp, { recursive: true, force: true });
});

interface Point {
  type: string;
  metric: string;
  data: { value: number; tags: Record<string, string> };
}

test('smoke scenario meets its thresholds against the real stack, every flow ran and passed its checks', async (ctx) => {
  const out = path.join(ctx.tmp, 'points.ndjson');
  const reportDir = path.join(ctx.tmp, 'reports');
  const lines: string[] = [];
  // Only the stack's URLs and the scripts' defaults: the environment of the test run must not redirect the load.
  const result = await runScenario('smoke', { urls: stackUrls(ctx.stack!.serviceUrls), env: { LOAD_REPORT_DIR: reportDir }, includeSystemEnv: false, out: [`json=${out}`], onOutput: (l) => lines.push(l) }).done;
  const text = lines.join('\n');
  assert.is(result.exitCode, 0, text);
  const m = result.summary!.metrics;
  assert.is(m.http_req_failed!.values.rate, 0, text);
  const failedChecks = result.summary!.root_group.checks.filter((c) => c.fails > 0);
  assert.equal(failedChecks, [], text);

  const points = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Point).filter((p) => p.type === 'Point');
  for (const flow of FLOWS) {
    const its = points.filter((p) => p.metric === 'iterations' && p.data.tags.flow === flow).length;
    assert.ok(its >= 2, `flow ${flow} completed only ${its} iterations\n${text}`);
    assert.ok(points.some((p) => p.metric === 'http_reqs' && p.data.tags.flow === flow), `flow ${flow} sent no request`);
  }
  // Every request the summary counted is a point in the JSON output, with a real duration.
  const durations = points.filter((p) => p.metric === 'http_req_duration');
  assert.is(durations.length, m.http_reqs!.values.count);
  assert.ok(durations.every((p) => p.data.value > 0));
  const reports = fs.readdirSync(reportDir);
  assert.equal(reports.length, 1, 'handleSummary wrote its JSON');
  assert.match(reports[0]!, /-smoke\.json$/);
});

test('setup stops the test (exit 107) naming a traded symbol market-data has no quote for, and writes no summary', async (ctx) => {
  const reportDir = path.join(ctx.tmp, 'no-quote');
  const lines: string[] = [];
  // Two symbols: the first is traded, the second churned; nobody streams ZZZZ.
  const result = await runScenario('smoke', { urls: stackUrls(ctx.stack!.serviceUrls), env: { SYMBOLS: 'ZZZZ,AAPL', LOAD_REPORT_DIR: reportDir }, includeSystemEnv: false, onOutput: (l) => lines.push(l) }).done;
  assert.is(result.exitCode, 107, lines.join('\n'));
  assert.ok(lines.some((l) => /setup\(\) failed, no load was sent: setup: market-data at \S+ has no quote for ZZZZ after 30000 ms/.test(l)), lines.join('\n'));
  assert.not.ok(fs.existsSync(reportDir), 'no summary for a test that never started');
});

test.run();
