// The bench scripts run end to end with tiny parameters (real stack, real client) and write reports of the documented shape.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { GatewayBenchReport } from '../scripts/bench/gateway.ts';
import type { LoadBenchReport } from '../scripts/bench/load.ts';
import type { MetricsBenchReport } from '../scripts/bench/metrics.ts';
import { SERVICE_NAMES } from '../stack/index.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const test = suite<{ tmp: string }>('bench scripts', { tmp: '' });

test.before((ctx) => {
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
});

test.after((ctx) => {
  fs.rmSync(ctx.tmp, { recursive: true, force: true });
});

function runScript(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('scripts', 'bench', script), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function onlyReport<T>(dir: string, name: string): T {
  const files = fs.readdirSync(dir).filter((f) => new RegExp(`^bench-${name}-\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d-\\d{3}Z\\.json$`).test(f));
  assert.is(files.length, 1, `expected one bench-${name} report in ${dir}, found ${fs.readdirSync(dir).join(', ')}`);
  return JSON.parse(fs.readFileSync(path.join(dir, files[0]!), 'utf8')) as T;
}

test('bench:gateway refuses a bad parameter before starting anything', async () => {
  const r = await runScript('gateway.ts', ['--rounds', '0']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /--rounds must be a positive integer/);
  assert.not.match(r.stderr, /stack:/);
});

test('bench:gateway measures the gateway and the bare Koa route in one run and reports the ratio', async (ctx) => {
  const dir = path.join(ctx.tmp, 'gateway');
  const r = await runScript('gateway.ts', ['--concurrency', '2', '--rounds', '1', '--round-seconds', '1', '--warmup-seconds', '0', '--report-dir', dir]);
  assert.is(r.code, 0, r.stderr);
  const report = onlyReport<GatewayBenchReport>(dir, 'gateway');
  assert.is(report.bench, 'gateway');
  assert.equal(report.params, { concurrency: 2, rounds: 1, roundSeconds: 1, warmupSeconds: 0 });
  assert.equal(report.rounds.map((x) => x.target).sort(), ['bare', 'gateway']);
  for (const target of ['bare', 'gateway'] as const) {
    const t = report.targets[target];
    assert.ok(t.ok > 0, `${target}: no successful requests (${JSON.stringify(t.statuses)})`);
    assert.is(t.failed, 0, `${target}: ${JSON.stringify(t.statuses)}`);
    assert.equal(Object.keys(t.statuses), ['201']);
    assert.ok(t.perSecond > 0 && t.durationS >= 1, `${target}: ${t.perSecond}/s over ${t.durationS} s`);
    assert.ok(t.latencyMs.p50 > 0 && t.latencyMs.p50 <= t.latencyMs.p99 && t.latencyMs.p99 <= t.latencyMs.max, JSON.stringify(t.latencyMs));
  }
  assert.ok(Math.abs(report.ratio - report.targets.gateway.perSecond / report.targets.bare.perSecond) < 1e-9);
  // The gateway counted exactly the placements the client sent: every measured request reached it.
  assert.is(report.gatewayServer.placements, report.gatewayServer.clientRequests);
  assert.is(report.gatewayServer.clientRequests, report.targets.gateway.requests);
  assert.is(report.machine.cpus, os.cpus().length);
  assert.match(r.stdout, /\| execution-gateway POST \/orders \|/);
  assert.match(r.stdout, /gateway \/ bare = \d/);
});

test('bench:metrics reports series count and render time of every service after baseline traffic', async (ctx) => {
  const dir = path.join(ctx.tmp, 'metrics');
  const r = await runScript('metrics.ts', ['--traffic-seconds', '2', '--renders', '5', '--report-dir', dir]);
  assert.is(r.code, 0, r.stderr);
  const report = onlyReport<MetricsBenchReport>(dir, 'metrics');
  assert.is(report.bench, 'metrics');
  assert.equal(report.params, { trafficSeconds: 2, renders: 5 });
  assert.is(report.traffic.scenario, 'baseline');
  assert.ok(report.traffic.requests > 0, 'no baseline traffic was sent');
  assert.equal(report.services.map((s) => s.service), [...SERVICE_NAMES]);
  for (const s of report.services) {
    assert.ok(s.families > 0 && s.series >= s.families && s.seriesBefore > 0, `${s.service}: ${s.seriesBefore} -> ${s.series} series in ${s.families} families`);
    assert.ok(s.bytes > 0);
    for (const t of [s.render, s.health]) assert.ok(t.minMs > 0 && t.minMs <= t.medianMs && t.medianMs <= t.p90Ms && t.p90Ms <= t.maxMs, `${s.service}: ${JSON.stringify(t)}`);
  }
  const gateway = report.services.find((s) => s.service === 'execution-gateway')!;
  assert.ok(gateway.metricsUrl.endsWith('/metrics'));
  assert.match(r.stdout, /\| execution-gateway \| \d+ -> \d+ \|/);
});

test('bench:load steps the k6 runtime up a ladder after a ramp, and reports every step with its CPU', async (ctx) => {
  const dir = path.join(ctx.tmp, 'load');
  const args = ['--rates', '200,400', '--step-seconds', '2', '--pause-seconds', '0', '--cpu-rate', '200', '--cpu-seconds', '1', '--cpu-rounds', '1', '--report-dir', dir];
  const r = await runScript('load.ts', args);
  assert.is(r.code, 0, r.stderr);
  const files = fs.readdirSync(dir).filter((f) => /^load-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.json$/.test(f));
  assert.is(files.length, 1, `expected one load report in ${dir}, found ${fs.readdirSync(dir).join(', ')}`);
  const report = JSON.parse(fs.readFileSync(path.join(dir, files[0]!), 'utf8')) as LoadBenchReport;
  assert.is(report.bench, 'load');
  assert.equal(Object.keys(report.generators), ['runtime']);
  const { search, cpu } = report.generators.runtime!;
  assert.is(cpu.rounds.length, 1);
  // The ramp's requests are counted in what the CPU paid for, not in the step's own.
  assert.is(cpu.rounds[0]!.requests, 200);
  assert.ok(cpu.rounds[0]!.totalRequests > 200, JSON.stringify(cpu.rounds[0]));
  assert.ok(cpu.cpuMsPer1000Requests > 0);
  assert.ok(search.steps.length >= 2, JSON.stringify(search.steps.map((s) => [s.ratePerS, s.held])));
  for (const step of search.steps) {
    assert.is(step.expected, step.ratePerS * 2);
    assert.is(step.failed, 0, JSON.stringify(step));
    // Every iteration of the measured scenario recorded its lag (one request each), and nothing else did.
    assert.is(step.lagMs.count, step.requests, JSON.stringify(step));
    assert.ok(step.totalRequests > step.requests, JSON.stringify(step));
    assert.is(step.held, step.broken.length === 0);
  }
  assert.match(r.stdout, /\| runtime \| /);
});

test.run();
