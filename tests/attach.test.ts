// Proof of attach mode: `npm run stack` runs in one process, and a separate verify-alerts process judges it through
// an attach file written from the stack's state file, with the http, proxy and signal drivers, and a fault that the
// attach file points at the wrong process (a decoy), whose alert must be judged missed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import { ProcessOwner, type ManagedProcess } from '../stack/processes.ts';
import { freePort, sleep } from '../stack/ports.ts';
import { attachFileFor, type StackState } from '../stack/attach-file.ts';
import type { RunReport } from '../verify/results.ts';

const root = path.resolve(import.meta.dirname, '..');

interface Ctx {
  owner: ProcessOwner;
  dir: string;
  stack?: ManagedProcess;
  state?: StackState;
}

const test = suite<Ctx>('verify-alerts --attach against a running npm run stack');

test.before(async (ctx) => {
  ctx.owner = new ProcessOwner();
  ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-attach-run-'));
  const stateFile = path.join(ctx.dir, 'stack.json');
  const port = await freePort();
  ctx.stack = ctx.owner.spawn({
    name: 'npm-run-stack',
    command: process.execPath,
    args: ['--import', 'tsx', 'stack/cli.ts', '--state', stateFile, '--harness-webhook', `127.0.0.1:${port}`],
    cwd: root,
    env: process.env,
  });
  const deadline = Date.now() + 120_000;
  while (!fs.existsSync(stateFile)) {
    if (!ctx.stack.running) throw new Error(`npm run stack exited before writing its state:\n${ctx.stack.tail()}`);
    if (Date.now() > deadline) throw new Error(`npm run stack wrote no state in 120 s:\n${ctx.stack.tail()}`);
    await sleep(200);
  }
  ctx.state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as StackState;
});

test.after(async (ctx) => {
  await ctx.owner.stopAll();
  fs.rmSync(ctx.dir, { recursive: true, force: true });
});

test('the stack records a binding for every driver the proof uses', (ctx) => {
  const t = ctx.state!.targets;
  assert.ok(t['execution-gateway']?.url, 'gateway URL (http driver)');
  assert.equal(t.redis?.proxy?.name, 'redis', 'Redis proxy (proxy driver)');
  assert.ok(t['market-data']?.pidFile && t['market-data'].startUrl, 'market-data pid file and start (signal driver)');
  assert.ok(fs.existsSync(path.join(ctx.dir, 'attach.yaml')), 'the stack writes its attach file beside its state');
});

test('a separate harness passes the http, proxy and signal faults, and judges a fault at the wrong target missed', async (ctx) => {
  // The decoy stands where the attach file says the orchestrator is: killing it leaves the real one running.
  const decoy = ctx.owner.spawn({ name: 'decoy', command: 'sleep', args: ['600'] });
  const attach = attachFileFor(ctx.state!);
  attach.targets.orchestrator = { ...attach.targets.orchestrator, signal: { pid: decoy.pid!, group: true, start: { command: ['true'] } } };
  const attachFile = path.join(ctx.dir, 'attach-wrong-orchestrator.yaml');
  fs.writeFileSync(attachFile, YAML.stringify(attach));
  const reports = path.join(ctx.dir, 'reports');
  const harness = ctx.owner.spawn({
    name: 'verify-alerts-attach',
    command: process.execPath,
    args: ['--import', 'tsx', 'verify/cli.ts', '--attach', attachFile, '--only', 'circuit-breaker-tripped,redis-reset,market-data-killed,orchestrator-killed', '--control', '15', '--reports', reports],
    cwd: root,
    env: process.env,
  });
  const code = await harness.exited();
  const log = harness.tail();
  assert.is(code, 1, `one alert is missed, so the run fails:\n${log}`);
  const [runDir] = fs.readdirSync(reports);
  const report = JSON.parse(fs.readFileSync(path.join(reports, runDir!, 'report.json'), 'utf8')) as RunReport;
  assert.is(report.options.backend, 'attach');
  assert.is(report.options.notifications, 'webhook');
  const verdict = (alert: string): string | undefined => report.scenarios.flatMap((s) => s.alerts).find((a) => a.alertname === alert)?.verdict;
  for (const alert of ['CircuitBreakerTripped', 'ExecutionGatewayRedisDisconnected', 'SignalServiceRedisDisconnected', 'MarketDataRedisDisconnected', 'MarketDataDown']) {
    assert.is(verdict(alert), 'pass', `${alert}:\n${log}`);
  }
  assert.is(verdict('OrchestratorDown'), 'missed', `the fault hit the decoy, not the orchestrator:\n${log}`);
  const failed = report.rules.filter((r) => !r.passed);
  assert.equal(failed.map((r) => r.alertname), ['OrchestratorDown'], `nothing else failed: ${failed.map((r) => `${r.alertname}: ${r.reasons.join('; ')}`).join(' | ')}`);
  assert.not.ok(decoy.running, 'the decoy took the kill');
  assert.ok(ctx.stack!.running, 'the attached stack still runs: the harness stopped nothing of it');
});

test.run();
