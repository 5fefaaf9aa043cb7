// `npm run verify-alerts [-- options]`: the product's main job. See README for the options.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { planMatrix, runVerifyAlerts, selectScenarios, type VerifyOptions } from './harness.ts';
import { formatExpected } from './evaluate.ts';
import { SCENARIOS } from './matrix.ts';
import { MUTATION_KINDS, mutateRulesDir, type MutationKind } from './mutate.ts';
import { loadRules, metricsInExpr } from './rules.ts';
import type { Backend } from './stack/index.ts';

const root = path.resolve(import.meta.dirname, '..');

const USAGE = `usage: npm run verify-alerts -- [options]
  --only <id|Alert>[,...]   run only these scenarios (by id, or those expecting the alert)
  --repeat <n>              run the fault matrix n times on one stack (flakiness; default 1)
  --keep                    keep the stack running after the run, for inspection (Ctrl-C stops it)
  --mutate [kind]           mutation check: break every rule (${MUTATION_KINDS.join('|')}, default all) and prove the run fails for each
  --control <seconds>       length of the quiet control window (default: longest rule window + for + 10 s)
  --backend process|container
  --max-per-wave <n>        scenarios run together at most (default 6)
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
        'max-per-wave': { type: 'string' },
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

  const base: VerifyOptions = {
    scenarios: SCENARIOS,
    only: args.values.only?.flatMap((o) => o.split(',')).filter(Boolean),
    repeat,
    keep: args.values.keep,
    backend,
    rulesDir: path.join(root, 'alerts/rules'),
    prometheusConfig: path.join(root, 'alerts/prometheus.yml'),
    alertmanagerConfig: path.join(root, 'alerts/alertmanager.yml'),
    alertCatalog: path.join(root, 'alerts/alerts.json'),
    reportsDir: path.join(root, 'reports'),
    controlS,
    maxPerWave: args.values['max-per-wave'] ? Number(args.values['max-per-wave']) : undefined,
    log: (l) => process.stdout.write(`${l}\n`),
  };

  if (args.values.list) {
    const waves = planMatrix(selectScenarios(base.scenarios, base.only), loadRules(base.rulesDir), base.maxPerWave);
    for (const [i, wave] of waves.entries()) {
      process.stdout.write(`wave ${i + 1}\n`);
      for (const p of wave) {
        const may = p.mayAlsoFire.length ? `; may also fire ${p.mayAlsoFire.map(formatExpected).join(', ')}` : '';
        process.stdout.write(`  ${p.id}: ${p.scenario.description}\n    expects ${p.expect.map(formatExpected).join(', ')}${may}\n`);
      }
    }
    return;
  }

  if (kinds.length === 0) {
    const res = await runVerifyAlerts(base);
    // Dashboard queries that fail on the loaded stack fail the run too; the count line stays over alert rules.
    const dashboardFailures = res.reports.reduce((n, r) => n + (r.dashboards?.failures.length ?? 0), 0);
    if (dashboardFailures) process.stdout.write(`\n${dashboardFailures} dashboard queries failed (see the report)`);
    process.stdout.write(`\n${res.passed} passed, ${res.failed} failed\n`);
    process.exit(res.failed > 0 || dashboardFailures > 0 ? 1 : 0);
  }

  // Mutation check: each kind breaks every rule it applies to; a mutant "survives" when its rule still passes.
  let caught = 0;
  let survived = 0;
  for (const kind of kinds as MutationKind[]) {
    let mutated: string[] = [];
    const res = await runVerifyAlerts({
      ...base,
      repeat: 1,
      keep: false,
      controlS: controlS ?? 20,
      mutateRules: (dir) => (mutated = mutateRulesDir(dir, kind, metricsInExpr)),
      onlyMutated: true,
      // A renamed metric is caught by the pre-flight's exposure check, before any fault.
      skipMatrix: kind === 'metric',
    });
    const rules = res.reports[0]?.rules ?? [];
    for (const name of mutated) {
      const verdict = rules.find((r) => r.alertname === name);
      // With --only, rules outside the selection get no verdict: not tested, neither caught nor survived.
      if (!verdict) continue;
      // Caught only for the reason the mutation should cause, so an unrelated failure cannot pass for a catch.
      const why = kind === 'metric' ? /references metrics no service exposes/ : /: (missed|late) \(/;
      if (verdict.reasons.some((r) => why.test(r))) caught++;
      else {
        survived++;
        process.stdout.write(`mutant survived: ${kind} mutation of ${name}: ${verdict.passed ? 'still passed' : `failed for another reason: ${verdict.reasons.join('; ')}`}\n`);
      }
    }
    process.stdout.write(`mutation ${kind}: ${mutated.length} rules mutated; report ${res.reportDir}\n`);
  }
  process.stdout.write(`\n${caught} passed, ${survived} failed\n`);
  process.exit(survived > 0 ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`verify-alerts: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
