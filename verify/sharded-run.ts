// `verify-alerts --shards N`: N isolated stacks on this machine, each running its part of the planned matrix at once,
// then one merged report, verdict and exit code, as if one stack had run it all.
import path from 'node:path';
import { planMatrix, runVerifyAlerts, selectFaultScenarios, type VerifyOptions, type VerifyResult } from './harness.ts';
import { loadRules } from './rules.ts';
import { createReporters, REPORTER_NAMES, type ReporterName } from './report/reporter.ts';
import { mergeReports } from './report/merge.ts';
import { runIdAt, type RunReport } from './results.ts';
import { StageRunner } from './stages.ts';

export interface ShardedOptions extends VerifyOptions {
  shards: number;
  /** The reports each shard writes into its folder under shards/ (opts.reporters get the merged one); default all. */
  shardReporters?: readonly ReporterName[];
}

/** The shards a run can use: the count wanted, but never more than its matrix has waves (a shard needs one). */
export function shardsFor(wanted: number, opts: Pick<VerifyOptions, 'scenarios' | 'rulesDir' | 'maxPerWave'>, only: string[] | undefined): number {
  return Math.min(wanted, planMatrix(selectFaultScenarios(opts.scenarios, only), loadRules(opts.rulesDir), opts.maxPerWave).length);
}

export async function runSharded(opts: ShardedOptions): Promise<VerifyResult> {
  const { shards: total } = opts;
  if (!Number.isInteger(total) || total < 1) throw new Error(`--shards must be a positive integer, got ${total}`);
  if (opts.keep) throw new Error('--keep leaves one stack running for inspection; run it without --shards');
  const started = Date.now();
  const runId = opts.runId ?? runIdAt(started);
  const reportDir = path.join(opts.reportsDir, `verify-${runId}`);
  const reporters = opts.reporters ?? createReporters(REPORTER_NAMES, { write: opts.log });
  const log = (line: string): void => reporters.log(line);
  const stages = new StageRunner(started, log);
  log(`verify-alerts ${runId}: ${total} shards, each on a stack of its own; their lines are marked [i/${total}]`);
  const settled = await stages.stage('shards', () =>
    Promise.allSettled(
      Array.from({ length: total }, (_, i) =>
        runVerifyAlerts({
          ...opts,
          shard: { index: i + 1, total },
          runId: `${runId}-shard-${i + 1}-of-${total}`,
          reportsDir: path.join(reportDir, 'shards'),
          // A shard's lines go to the run's log marked with the shard, and to its own run.log; its summary is the merged one's.
          reporters: createReporters(opts.shardReporters ?? REPORTER_NAMES, { write: (line) => log(line.replace(/^/gm, `[${i + 1}/${total}] `)), summary: false }),
        }),
      ),
    ),
  );
  const failures = settled.flatMap((s, i) => (s.status === 'rejected' ? [`shard ${i + 1}/${total} failed: ${(s.reason as Error).message}`] : []));
  if (failures.length) throw new Error(`${failures.join('; ')} (the other shards' reports are in ${path.join(reportDir, 'shards')})`);
  const results = settled.map((s) => (s as PromiseFulfilledResult<VerifyResult>).value);
  const reports: RunReport[] = [];
  for (let k = 0; k < opts.repeat; k++) {
    const merged = await stages.stage(`merge${opts.repeat > 1 ? ` ${k + 1}` : ''}`, async () => mergeReports(results.map((r) => r.reports[k]!), opts.repeat > 1 ? `${runId}#${k + 1}` : runId));
    merged.stages = stages.timings();
    const dir = opts.repeat > 1 ? path.join(reportDir, `run-${k + 1}`) : reportDir;
    await stages.stage(`reports${opts.repeat > 1 ? ` ${k + 1}` : ''}`, () => reporters.report(merged, dir));
    reports.push(merged);
  }
  return {
    reports,
    reportDir,
    passed: reports.reduce((a, r) => a + r.passed, 0),
    failed: reports.reduce((a, r) => a + r.failed, 0),
    stages: stages.timings(),
    shards: results.map((r, i) => ({ index: i + 1, stages: r.stages })),
  };
}
