// `npm run verify-alerts [-- options]`: the product's main job. See README for the options.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { controlWindowS, planMatrix, runVerifyAlerts, selectFaultScenarios, splitMatrix, type VerifyOptions } from './harness.ts';
import { judgingFor } from './judging.ts';
import { loadTiming } from '../alerts/budget.ts';
import { loadAlertCatalog } from './alert-catalog.ts';
import { runSharded, shardsFor } from './sharded-run.ts';
import { DEFAULT_MUTATION_SHARDS, DEFAULT_SHARDS } from './shard-default.ts';
import { parseShard, type Shard } from './shard-plan.ts';
import { MergeError, mergeReports, readShardReports } from './report/merge.ts';
import { runIdAt } from './results.ts';
import { createReporters, parseReporters, REPORTER_NAMES, type ReporterName } from './report/reporter.ts';
import { formatExpected } from './evaluate.ts';
import { DEFAULT_MATRIX, loadMatrix, MatrixError } from './matrix.ts';
import { AttachFileError, loadAttachFile, type AttachConfig } from '../stack/attach.ts';
import { KIND_DESCRIPTIONS, MUTATION_KINDS, type MutationKind } from './mutate.ts';
import { BASELINE_CONTROL_S, MATRIX_CONTROL_S, renderMutationSummary, runMutationCheck, writeMutationReport } from './mutation-check.ts';
import { loadRules } from './rules.ts';
import type { Backend } from '../stack/index.ts';
import { PROMETHEUS_3_VERSION, ensurePrometheusTools, prometheusMajor as parseMajor, type PrometheusMajor } from '../stack/prometheus-version.ts';

const root = path.resolve(import.meta.dirname, '..');

const USAGE = `usage: npm run verify-alerts -- [options]
  --only <id|Alert>[,...]   run only these fault scenarios (by id, or those expecting the alert)
  --repeat <n>              run the fault matrix n times on one stack (flakiness; default 1)
  --keep                    keep the stack running after the run, for inspection (Ctrl-C stops it)
  --mutate [kind...]        mutation check: run the rules with broken copies beside them and prove the harness fails
                            each copy (default: every kind; docs/verify-alerts.md, "Mutation check"):
${MUTATION_KINDS.map((k) => `                              ${k.padEnd(10)}${KIND_DESCRIPTIONS[k]}`).join('\n')}
  --control <seconds>       length of the quiet control window (default: longest rule window + for + 10 s;
                            --mutate: ${MATRIX_CONTROL_S} s before the matrix, ${BASELINE_CONTROL_S} s in the baseline run that catches noise)
  --attach <file>           judge a running stack described by this attach file instead of starting one
                            (docs/verify-alerts.md, "Attach mode"; compose/attach.yaml for docker compose)
  --matrix <file>           the fault matrix (default verify/matrix.yaml)
  --reports <dir>           where run reports go (default reports/)
  --backend process|container
  --prometheus 2|3          the Prometheus a started stack runs: 2 = Debian's 2.42 (default), 3 = ${PROMETHEUS_3_VERSION}
                            (built once with Go by scripts/ensure-tools --prometheus 3); env ALERTPROOF_PROMETHEUS
  --max-per-wave <n>        fault scenarios run together at most (default 6)
  --shards <n>              split the planned waves over n stacks on this machine, run at once, one merged report
                            (default ${DEFAULT_SHARDS}, --mutate ${DEFAULT_MUTATION_SHARDS}, measured in docs/benchmarks.md;
                            1 with --attach, --keep or --repeat)
  --shard <i>/<n>           run part i of n only, on this machine's own stack (CI matrices); join the parts with --merge
  --merge <dir>...          join the report folders of every --shard i/n part into one report, verdict and exit code
  --reporter <name>[,...]   the reports to write: ${REPORTER_NAMES.join(', ')} (default all; log is the live log on
                            stdout, the summary and run.log; junit writes junit.xml)
  --list                    print the fault matrix planned into waves, and exit`;

function fail(msg: string): never {
  process.stderr.write(`verify-alerts: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        only: { type: 'string', multiple: true },
        repeat: { type: 'string', default: '1' },
        keep: { type: 'boolean', default: false },
        mutate: { type: 'boolean', default: false },
        control: { type: 'string' },
        backend: { type: 'string' },
        prometheus: { type: 'string' },
        attach: { type: 'string' },
        matrix: { type: 'string' },
        reports: { type: 'string' },
        'max-per-wave': { type: 'string' },
        reporter: { type: 'string' },
        shards: { type: 'string' },
        shard: { type: 'string' },
        merge: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
        list: { type: 'boolean', default: false },
      },
      allowPositionals: true,
    });
  } catch (err) {
    fail((err as Error).message);
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const repeat = Number(args.values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) fail(`--repeat must be a positive integer, got ${args.values.repeat}`);
  const backend = (args.values.backend ?? process.env.ALERTPROOF_BACKEND) as Backend | undefined;
  if (backend && backend !== 'process' && backend !== 'container') fail(`--backend must be process or container, got ${backend}`);
  const controlS = args.values.control === undefined ? undefined : Number(args.values.control);
  if (controlS !== undefined && !(controlS >= 0)) fail(`--control must be a number of seconds`);
  const kinds = args.values.mutate ? (args.positionals.length ? args.positionals : MUTATION_KINDS) : [];
  for (const k of kinds) if (!MUTATION_KINDS.includes(k as MutationKind)) fail(`unknown mutation kind ${k}`);

  let reporterNames: ReporterName[] = [...REPORTER_NAMES];
  try {
    reporterNames = parseReporters(args.values.reporter);
  } catch (err) {
    fail((err as Error).message);
  }
  // The live log and the final summary only with the log reporter: --reporter junit alone prints the last line only.
  const reporters = createReporters(reporterNames, { write: (l) => process.stdout.write(`${l}\n`) });
  if (args.values.merge) {
    if (kinds.length || args.values.shard || args.values.shards || args.values.attach) fail('--merge joins finished shard reports; it runs nothing, so it takes only --reports and the report folders');
    const dirs = args.positionals.flatMap((p) => p.split(',')).filter(Boolean);
    if (dirs.length === 0) fail('--merge needs the report folders of the shards, e.g. --merge reports/verify-A reports/verify-B');
    const reportsDir = args.values.reports ? path.resolve(args.values.reports) : path.join(root, 'reports');
    let merged;
    try {
      merged = mergeReports(readShardReports(dirs.map((d) => path.resolve(d))), runIdAt(Date.now()));
    } catch (err) {
      if (!(err instanceof MergeError)) throw err;
      process.stderr.write(`verify-alerts --merge: ${err.message}\n`);
      process.exit(2);
    }
    await reporters.report(merged, path.join(reportsDir, `verify-${merged.runId}`));
    process.stdout.write(`\n${merged.passed} passed, ${merged.failed} failed\n`);
    process.exit(merged.failed > 0 || (merged.dashboards?.failures.length ?? 0) > 0 ? 1 : 0);
  }
  if (!kinds.length && args.positionals.length) fail(`unexpected argument ${args.positionals[0]}`);
  let shard: Shard | undefined;
  try {
    shard = args.values.shard === undefined ? undefined : parseShard(args.values.shard);
  } catch (err) {
    fail((err as Error).message);
  }
  const explicitShards = args.values.shards === undefined ? undefined : Number(args.values.shards);
  if (explicitShards !== undefined && !(Number.isInteger(explicitShards) && explicitShards >= 1)) fail(`--shards must be a positive integer, got ${args.values.shards}`);
  if (shard && explicitShards !== undefined) fail('--shard i/n runs one part; --shards n runs all n parts here: give one of them');
  if (explicitShards && explicitShards > 1 && (args.values.attach || args.values.keep)) fail('--shards starts a stack per shard: it cannot be combined with --attach or --keep');
  if (shard && (args.values.attach || args.values.keep)) fail('--shard runs its part on a stack of its own: it cannot be combined with --attach or --keep');
  if (args.values.attach && kinds.length) fail('--mutate runs on a stack it starts itself; it cannot be combined with --attach');
  if (args.values.attach && args.values.backend) fail('--backend chooses how a started stack runs; with --attach nothing is started');
  if (args.values.attach && args.values.prometheus) fail('--prometheus chooses the Prometheus a started stack runs; with --attach the running one is judged (its version is in the report)');
  let prometheusMajor: PrometheusMajor | undefined;
  try {
    prometheusMajor = args.values.attach ? undefined : ensurePrometheusTools(parseMajor(args.values.prometheus)).major;
  } catch (err) {
    fail((err as Error).message);
  }
  // A bad matrix or attach file stops here, in one line naming the file and the field.
  let scenarios;
  let attach: AttachConfig | undefined;
  try {
    scenarios = loadMatrix(args.values.matrix ? path.resolve(args.values.matrix) : DEFAULT_MATRIX);
    attach = args.values.attach ? loadAttachFile(args.values.attach) : undefined;
  } catch (err) {
    if (err instanceof MatrixError || err instanceof AttachFileError) {
      process.stderr.write(`verify-alerts: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  const base: VerifyOptions = {
    scenarios,
    attach,
    only: args.values.only?.flatMap((o) => o.split(',')).filter(Boolean),
    repeat,
    keep: args.values.keep,
    backend,
    prometheusMajor,
    rulesDir: path.join(root, 'alerts/rules'),
    prometheusConfig: path.join(root, 'alerts/prometheus.yml'),
    alertmanagerConfig: path.join(root, 'alerts/alertmanager.yml'),
    alertCatalog: path.join(root, 'alerts/alerts.json'),
    reportsDir: args.values.reports ? path.resolve(args.values.reports) : path.join(root, 'reports'),
    controlS,
    maxPerWave: args.values['max-per-wave'] ? Number(args.values['max-per-wave']) : undefined,
    reporters,
    log: (l) => reporters.log(l),
  };

  if (args.values.list) {
    const rules = loadRules(base.rulesDir);
    const waves = planMatrix(selectFaultScenarios(base.scenarios, base.only), rules, base.maxPerWave);
    // The split every shard computes (from the source config here; a started stack runs it rendered, the same timing).
    const total = shard?.total ?? Math.min(explicitShards ?? (attach ? 1 : DEFAULT_SHARDS), waves.length);
    const judging = judgingFor(loadTiming(base.prometheusConfig), loadAlertCatalog(base.alertCatalog, prometheusMajor ?? '2'));
    const split = total > 1 ? splitMatrix(waves, total, judging, base.controlS ?? controlWindowS(rules)) : undefined;
    for (const [i, wave] of waves.entries()) {
      const part = split?.parts.findIndex((p) => p.includes(i + 1));
      process.stdout.write(`wave ${i + 1}${split ? ` (shard ${part! + 1}/${total})` : ''}\n`);
      for (const p of wave) {
        const may = p.mayAlsoFire.length ? `; may also fire ${p.mayAlsoFire.map(formatExpected).join(', ')}` : '';
        const expects = [...p.expect.map(formatExpected), ...(p.scenario.heartbeat === 'stops' ? ["the dead man's switch to alarm"] : [])];
        process.stdout.write(`  ${p.id}: ${p.scenario.description}${p.alone ? ' (alone)' : ''}\n    expects ${expects.join(', ')}${may}\n`);
      }
    }
    if (split) process.stdout.write(`\n${split.lines.join('\n')}\nplan ${split.hash}\n`);
    return;
  }

  // One stack when a run must be one (attached, kept for inspection, repeated on one stack), else the measured default,
  // never more shards than the matrix has waves.
  const wanted = explicitShards ?? (attach || base.keep || repeat > 1 ? 1 : DEFAULT_SHARDS);
  if (kinds.length === 0) {
    const shards = shardsFor(wanted, base, base.only);
    if (shards < wanted) base.log(`${shards} waves planned: running ${shards} shards, not ${wanted}`);
    const res = shard
      ? await runVerifyAlerts({ ...base, shard })
      : shards > 1
        ? await runSharded({ ...base, shards, shardReporters: reporterNames })
        : await runVerifyAlerts(base);
    // Dashboard queries that fail on the loaded stack fail the run too; the count line stays over alert rules.
    const dashboardFailures = res.reports.reduce((n, r) => n + (r.dashboards?.failures.length ?? 0), 0);
    if (dashboardFailures) process.stdout.write(`\n${dashboardFailures} dashboard queries failed (see the report)`);
    process.stdout.write(`\n${res.passed} passed, ${res.failed} failed\n`);
    process.exit(res.failed > 0 || dashboardFailures > 0 ? 1 : 0);
  }

  // Mutation check: passed = mutants caught; failed = mutants that survived (equivalent ones, with their reason, neither).
  if (shard) fail('--mutate runs every part itself; use --shards to choose how many stacks it uses');
  const mutation = await runMutationCheck({ base, kinds: kinds as MutationKind[], controlS, shards: explicitShards ?? DEFAULT_MUTATION_SHARDS, log: base.log });
  const files = writeMutationReport(base.reportsDir, mutation);
  process.stdout.write(`${renderMutationSummary(mutation)}\nmutation report: ${files.md}, ${files.json}\n`);
  process.stdout.write(`\n${mutation.passed} passed, ${mutation.failed} failed\n`);
  process.exit(mutation.failed > 0 ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`verify-alerts: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
