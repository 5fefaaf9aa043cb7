// `npm run bench:verify`: the wall time of each stage of `verify-alerts` (stack start, pre-flight, warm-up, control, each
// wave, reports) on one stack and sharded, the CPU the runs took, and by how much sharing the machine slowed each
// alert's detection. The runs are the real thing: each starts its stacks, injects every fault and judges every rule.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runVerifyAlerts, type VerifyOptions, type VerifyResult } from '../../verify/harness.ts';
import { runSharded } from '../../verify/sharded-run.ts';
import { DEFAULT_SHARDS } from '../../verify/shard-default.ts';
import { DEFAULT_MATRIX, loadMatrix } from '../../verify/matrix.ts';
import { median, type RunReport } from '../../verify/results.ts';
import { detectedAt } from '../../verify/evaluate.ts';
import type { StageTiming } from '../../verify/stages.ts';
import { DEFAULT_REPORT_DIR, fmt, machineInfo, markdownTable, writeReport } from './report.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const USAGE = `usage: npm run bench:verify -- [--shards 1,${DEFAULT_SHARDS}] [--report-dir reports]
  Runs the whole fault matrix once per shard count, one after the other (each run is what npm run verify-alerts -- --shards n
  does), and prints per stage the wall time: for a sharded run the slowest shard's, and each wave on the shard that ran it.
  Also the CPU time of the harness and every process it started, and each expected alert's detection (notified, or firing
  where nothing can deliver it) in every run beside the first. Writes reports/bench-verify-<timestamp>.json; the runs'
  own reports go to reports/bench-verify-<timestamp>/.`;

/** One measured run. */
export interface VerifyMeasure {
  shards: number;
  wallS: number;
  /** User and system CPU seconds of this process and of every child it waited for (the stacks and the load). */
  cpuUserS: number;
  cpuSystemS: number;
  passed: number;
  failed: number;
  /** Stage name → wall seconds (the slowest shard's for stages every shard runs). */
  stages: Record<string, number>;
  /** wave number → the shard that ran it. */
  waveShard: Record<string, number>;
  /** "scenario Alert[/service]" → seconds from fault to detection. */
  detectionS: Record<string, number>;
  reportDir: string;
}

/** Own and waited-for children's CPU from /proc/self/stat (utime, stime, cutime, cstime; clock ticks of 10 ms). */
function cpuSeconds(): { user: number; system: number } {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  // Fields 14-17 of stat(5), counted from the state field (3) here.
  const [utime, stime, cutime, cstime] = [f[11]!, f[12]!, f[13]!, f[14]!];
  return { user: (utime + cutime) / 100, system: (stime + cstime) / 100 };
}

/** Stage walls of a run: a stage every shard runs counts at its slowest shard; a wave at the one shard that ran it. */
function stageWalls(res: VerifyResult): { stages: Record<string, number>; waveShard: Record<string, number> } {
  const stages: Record<string, number> = {};
  const waveShard: Record<string, number> = {};
  const parts = res.shards ?? [{ index: 1, stages: res.stages }];
  for (const p of parts) {
    for (const t of p.stages) {
      const key = t.name;
      if (key.startsWith('wave ')) waveShard[key.slice(5)] = p.index;
      stages[key] = Math.max(stages[key] ?? 0, round(t.wallS));
    }
  }
  // The coordinator's merge and the merged report's writing; a one-stack run's reports stage is already in.
  if (res.shards) for (const t of res.stages.filter((x: StageTiming) => x.name !== 'shards')) stages[`${t.name} (merged)`] = round(t.wallS);
  return { stages, waveShard };
}

const round = (x: number): number => Math.round(x * 10) / 10;

function detections(report: RunReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of report.scenarios) {
    for (const a of s.alerts) {
      const at = detectedAt(a);
      if (at !== undefined) out[`${s.id} ${a.alertname}${a.service ? `/${a.service}` : ''}`] = at;
    }
  }
  for (const h of report.heartbeat?.outcomes ?? []) if (h.alarmS !== undefined) out[`${h.scenario} dead man's switch`] = h.alarmS;
  return out;
}

async function measure(shards: number, base: VerifyOptions): Promise<VerifyMeasure> {
  const cpu0 = cpuSeconds();
  const t0 = Date.now();
  const res = shards > 1 ? await runSharded({ ...base, shards }) : await runVerifyAlerts(base);
  const wallS = round((Date.now() - t0) / 1000);
  const cpu1 = cpuSeconds();
  const report = res.reports[0]!;
  return {
    shards,
    wallS,
    cpuUserS: round(cpu1.user - cpu0.user),
    cpuSystemS: round(cpu1.system - cpu0.system),
    passed: res.passed,
    failed: res.failed,
    ...stageWalls(res),
    detectionS: detections(report),
    reportDir: res.reportDir,
  };
}

/** Rows in run order: the stages of the first run, then any stage only a later run has. */
function stageRows(runs: readonly VerifyMeasure[]): string[][] {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.stages)))];
  const waveNo = (n: string): number => (n.startsWith('wave ') ? Number(n.slice(5)) : NaN);
  const rows = names.map((n) => [
    n,
    ...runs.map((r) => {
      const s = r.stages[n];
      if (s === undefined) return '';
      const shard = r.shards > 1 && !Number.isNaN(waveNo(n)) ? ` (shard ${r.waveShard[String(waveNo(n))]})` : '';
      return `${fmt(s, 1)}${shard}`;
    }),
  ]);
  rows.push(['**wall time**', ...runs.map((r) => `**${fmt(r.wallS, 1)}**`)]);
  rows.push(['CPU user + system', ...runs.map((r) => `${fmt(r.cpuUserS, 0)} + ${fmt(r.cpuSystemS, 0)}`)]);
  rows.push(['verdict', ...runs.map((r) => `${r.passed} passed, ${r.failed} failed`)]);
  return rows;
}

/** Per alert: detection in the first run and the change in each later one, slowest change first. */
function detectionRows(runs: readonly VerifyMeasure[]): { rows: string[][]; summary: string[] } {
  const [first, ...rest] = runs;
  if (!first || rest.length === 0) return { rows: [], summary: [] };
  const keys = Object.keys(first.detectionS).filter((k) => rest.every((r) => r.detectionS[k] !== undefined));
  const delta = (k: string, r: VerifyMeasure): number => r.detectionS[k]! - first.detectionS[k]!;
  keys.sort((a, b) => delta(b, rest[0]!) - delta(a, rest[0]!));
  const rows = keys.map((k) => [k, fmt(first.detectionS[k]!, 1), ...rest.map((r) => `${fmt(r.detectionS[k]!, 1)} (${delta(k, r) >= 0 ? '+' : ''}${fmt(delta(k, r), 1)})`)]);
  const summary = rest.map((r) => {
    const ds = keys.map((k) => delta(k, r)).sort((a, b) => a - b);
    const mid = median(ds) ?? NaN;
    return `${r.shards} shards vs ${first.shards}: detection change over ${ds.length} alerts median ${fmt(mid, 1)} s, slowest +${fmt(ds.at(-1) ?? NaN, 1)} s, fastest ${fmt(ds[0] ?? NaN, 1)} s`;
  });
  return { rows, summary };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { shards: { type: 'string' }, 'report-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const counts = (values.shards ?? `1,${DEFAULT_SHARDS}`).split(',').map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--shards takes a comma list of positive integers, got ${values.shards}`);
  const reportDir = values['report-dir'] ? path.resolve(values['report-dir']) : DEFAULT_REPORT_DIR;
  const at = new Date();
  const runsDir = path.join(reportDir, `bench-verify-${at.toISOString().replace(/[:.]/g, '-')}`);
  const loadAvgStart = os.loadavg();
  const runs: VerifyMeasure[] = [];
  for (const n of counts) {
    process.stdout.write(`bench:verify: the whole matrix on ${n} stack${n > 1 ? 's' : ''} (log: ${path.join(runsDir, `shards-${n}.log`)})\n`);
    fs.mkdirSync(runsDir, { recursive: true });
    const logFile = fs.openSync(path.join(runsDir, `shards-${n}.log`), 'w');
    const t0 = Date.now();
    const base: VerifyOptions = {
      scenarios: loadMatrix(DEFAULT_MATRIX),
      repeat: 1,
      keep: false,
      rulesDir: path.join(ROOT, 'alerts/rules'),
      prometheusConfig: path.join(ROOT, 'alerts/prometheus.yml'),
      alertmanagerConfig: path.join(ROOT, 'alerts/alertmanager.yml'),
      alertCatalog: path.join(ROOT, 'alerts/alerts.json'),
      reportsDir: runsDir,
      log: (l) => fs.writeSync(logFile, `${((Date.now() - t0) / 1000).toFixed(1).padStart(7)} ${l}\n`),
    };
    try {
      runs.push(await measure(n, base));
    } finally {
      fs.closeSync(logFile);
    }
    const r = runs.at(-1)!;
    process.stdout.write(`  ${fmt(r.wallS, 1)} s, ${r.passed} passed, ${r.failed} failed; report ${r.reportDir}\n`);
  }
  const header = ['stage (s)', ...runs.map((r) => `${r.shards} shard${r.shards > 1 ? 's' : ''}`)];
  const det = detectionRows(runs);
  const report = { name: 'verify', at: at.toISOString(), machine: machineInfo(loadAvgStart), runs, detectionChange: det.summary };
  const file = writeReport('verify', report, reportDir, at);
  process.stdout.write(`\n${markdownTable(header, stageRows(runs))}\n`);
  if (det.rows.length) process.stdout.write(`\n${markdownTable(['detection (s)', ...runs.map((r) => `${r.shards} shard${r.shards > 1 ? 's' : ''}`)], det.rows)}\n\n${det.summary.join('\n')}\n`);
  process.stdout.write(`\nreport: ${file}\n`);
  if (runs.some((r) => r.failed > 0)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:verify: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
