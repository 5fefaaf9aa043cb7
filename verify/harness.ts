// verify-alerts: start the stack with the real alert configs, pre-flight it, run the baseline load and a quiet
// control window, then the fault matrix in waves; time every alert stage and judge every rule.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { startStack, type Stack, type Backend } from '../stack/index.ts';
import { attachStack, webhookListen, type AttachConfig } from '../stack/attach.ts';
import { ProcessOwner } from '../stack/processes.ts';
import type { Targets } from '../stack/targets.ts';
import { PrometheusApi } from './prometheus-api.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhook.ts';
import { AlertTimeline, alertKey, type Episode, type NotifiedAlert } from './timeline.ts';
import { parseTiming } from '../alerts/budget.ts';
import { majorOf, prometheusBuild, type PrometheusMajor } from '../stack/prometheus-version.ts';
import { AlertmanagerApi } from './alertmanager-api.ts';
import { loadAlertCatalog } from './alert-catalog.ts';
import { POLL_MS, judgingFor, type Judging } from './judging.ts';
import { deliveryOf, evaluate, formatExpected, judgeHeartbeat, matches, parseExpected, type ExpectedAlert, type ScenarioWindow } from './evaluate.ts';
import { planWaves } from './waves.ts';
import { DEFAULT_RESET_S, type FaultContext, type FaultScenario } from './scenario.ts';
import { stepDriver } from './matrix.ts';
import { injectFaults } from './drivers/index.ts';
import { BINDING_OF, attachable } from './drivers/bindings.ts';
import { loadRules, type RuleInfo } from './rules.ts';
import { rulesFromApi } from './rules-api.ts';
import { labelPredicate, type LabelPredicate } from './scope.ts';
import { AM_POLL_CAVEAT, pollAlertmanager } from './alertmanager-poll.ts';
import { failedOf, runIdAt, type RunReport } from './results.ts';
import { createReporters, REPORTER_NAMES, type Reporters } from './report/reporter.ts';
import { startBaselineLoad, type BaselineLoad } from './load.ts';
import { sleep } from '../stack/ports.ts';
import { alertPanelChange, checkDashboards } from './dashboards.ts';
import type { AlertOutcome } from './results.ts';
import { describeCrash, watchCrashes, type CrashWatch } from './crash-watch.ts';
import { collectCharts } from './charts.ts';
import { StageRunner, type StageTiming } from './stages.ts';
import { assignWaves, describeSplit, planHash, type Shard, type WaveCost } from './shard-plan.ts';
import { watchHeartbeat, type HeartbeatWatch } from './heartbeat-watch.ts';

export interface VerifyOptions {
  scenarios: FaultScenario[];
  /** The run's id (its report folder, the run_id external label); default the start time. */
  runId?: string;
  /** Run one part of the planned matrix (verify/shard-plan.ts) on this run's own stack. */
  shard?: Shard;
  /** Judge a running stack described by an attach file instead of starting one (stack/attach.ts). */
  attach?: AttachConfig;
  /** Run only scenarios whose id, or whose expected alerts, match one of these. */
  only?: string[];
  repeat: number;
  keep: boolean;
  backend?: Backend;
  /** Which Prometheus a started stack runs (stack/prometheus-version.ts); default ALERTPROOF_PROMETHEUS or 2. */
  prometheusMajor?: PrometheusMajor;
  rulesDir: string;
  prometheusConfig: string;
  alertmanagerConfig: string;
  /** alerts/alerts.json: the flat budget, each alert's static worst case, and the always-firing alerts. */
  alertCatalog: string;
  reportsDir: string;
  /** Override the control window length (seconds); default derived from the rules. */
  controlS?: number;
  /** Scenarios per wave at most. */
  maxPerWave?: number;
  /** Rewrites the rule files in the run's copy before Prometheus loads them (mutation testing). */
  mutateRules?: (dir: string) => string[];
  /** Without `only`, run just the scenarios that expect a rule mutateRules broke (the others cannot catch a mutant). */
  onlyMutated?: boolean;
  /** Stop after pre-flight and the control window (the metric mutation is caught there; no fault needs injecting). */
  skipMatrix?: boolean;
  /**
   * Where the run's events go: its live log lines and its finished reports (verify/report/reporter.ts). Default: every
   * reporter, writing through `log`.
   */
  reporters?: Reporters;
  /** Runs on the live stack after the matrix (or the control window), before teardown: the mutation check measures there. */
  inspect?: (prom: PrometheusApi, run: { control: { start: number; end: number }; windows: readonly ScenarioWindow[] }) => Promise<void>;
  /** Where the default reporters write (ignored when reporters is given). */
  log: (line: string) => void;
}

export interface VerifyResult {
  reports: RunReport[];
  reportDir: string;
  passed: number;
  failed: number;
  /** Every stage's wall time, the reports' writing included (a report holds the stages before its own writing). */
  stages: StageTiming[];
  /** A sharded run: each shard's stages. */
  shards?: { index: number; stages: StageTiming[] }[];
}

export function selectFaultScenarios(all: FaultScenario[], only: string[] | undefined): FaultScenario[] {
  if (!only || only.length === 0) return all;
  const picked = all.filter((s) => only.some((o) => s.id === o || s.expect.some((e) => e === o || parseExpected(e).alertname === o)));
  if (picked.length === 0) throw new Error(`--only ${only.join(',')} matches no scenario id or expected alert`);
  return picked;
}

/** The quiet window must outlast the slowest rule's range window plus its `for`. */
export function controlWindowS(rules: RuleInfo[]): number {
  return Math.max(30, ...rules.map((r) => r.longestRangeS + r.forS + 10));
}

export async function runVerifyAlerts(opts: VerifyOptions): Promise<VerifyResult> {
  const reporters = opts.reporters ?? createReporters(REPORTER_NAMES, { write: opts.log });
  const log = (line: string): void => reporters.log(line);
  const started = Date.now();
  const runId = opts.runId ?? runIdAt(started);
  const reportDir = path.join(opts.reportsDir, `verify-${runId}`);
  const attach = opts.attach;
  const shard = opts.shard;
  // Shard 1 (or an unsharded run) holds what is judged once per run: the control window, the dashboards, the
  // always-firing alerts and the rules no scenario covers.
  const primary = !shard || shard.index === 1;
  const stages = new StageRunner(started, log);
  const owner = new ProcessOwner({ keepLogs: opts.keep });
  stages.defer('processes', () => owner.stopAll());
  try {
    if (attach && opts.mutateRules) throw new Error('the mutation check runs on a stack it starts itself; it cannot attach');
    if (attach && shard) throw new Error('shards each start a stack of their own; an attached stack is one stack, so --attach cannot be sharded');
    const scope: Scope = {
      alerts: labelPredicate(attach?.scope.alerts, `${attach?.file}: scope.alerts`),
      targets: labelPredicate(attach?.scope.targets, `${attach?.file}: scope.targets`),
    };
    let rulesDir = opts.rulesDir;
    let mutated: string[] = [];
    if (!attach) {
      rulesDir = owner.tempDir('rules');
      for (const f of fs.readdirSync(opts.rulesDir).filter((x) => /\.ya?ml$/.test(x))) fs.copyFileSync(path.join(opts.rulesDir, f), path.join(rulesDir, f));
      mutated = opts.mutateRules?.(rulesDir) ?? [];
    } else if (attach.rules !== 'api') {
      rulesDir = attach.rules.dir;
    }
    const selected = selectFaultScenarios(opts.scenarios, opts.only?.length ? opts.only : opts.onlyMutated && mutated.length ? mutated : undefined);
    // Attached, the config faults would rewrite the operator's own files: they run only on a stack the harness started.
    const scenarios = attach ? selected.filter(attachable) : selected;
    const notAttachable = selected.filter((s) => !scenarios.includes(s)).map((s) => s.id);
    if (notAttachable.length) log(`not run when attached: ${notAttachable.join(', ')} (config faults rewrite the files a daemon runs; only a stack verify-alerts starts has its own copy)`);
    if (scenarios.length === 0) throw new Error(`every selected fault scenario needs a stack verify-alerts starts (${notAttachable.join(', ')}); run them without --attach`);

    let webhook: WebhookReceiver | undefined;
    let notifications = 'webhook';
    await stages.stage(
      'webhook',
      async () => {
        if (!attach) {
          webhook = await startWebhookReceiver();
          return;
        }
        const hook = webhookListen(attach);
        if (hook) {
          webhook = await startWebhookReceiver({ host: hook.host, port: hook.port, path: hook.path });
          log(`notifications: webhook at ${webhook.url}; route Alertmanager to it (docs/verify-alerts.md, "Attach mode")`);
        } else {
          notifications = 'alertmanager-api';
          log(`notifications: ${AM_POLL_CAVEAT}`);
        }
      },
      () => webhook?.close(),
    );

    let stack: Stack | undefined;
    let crashWatch: CrashWatch | undefined;
    await stages.stage(
      'stack',
      async () => {
        if (attach) {
          stack = attachStack(attach);
          log(`attached to ${attach.file}: Prometheus ${stack.prometheusUrl}, Alertmanager ${stack.alertmanagerUrl}`);
        } else {
          stack = await startStack({
            backend: opts.backend,
            owner,
            prometheus: { config: opts.prometheusConfig, rulesDir, externalLabels: { run_id: runId }, major: opts.prometheusMajor },
            alertmanager: { config: opts.alertmanagerConfig, webhookUrl: webhook!.url },
            faultProxies: true,
            log: (l) => log(`  stack: ${l}`),
          });
        }
        const missingBindings = bindingProblems(scenarios, stack.targets);
        if (missingBindings.length) throw new Error(`${attach ? `${attach.file}: ` : ''}${missingBindings[0]}${missingBindings.length > 1 ? ` (and ${missingBindings.length - 1} more)` : ''}`);
        crashWatch = watchCrashes(stack.watched(), log);
      },
      async () => {
        crashWatch?.stop();
        await stack?.stop();
      },
    );
    const live = stack!;

    const prom = new PrometheusApi(live.prometheusUrl!);
    let observer: { stop(): void } | undefined;
    let amPoller: { stop(): void } | undefined;
    let heartbeat: HeartbeatWatch | undefined;
    const observed = await stages.stage(
      'observer',
      async () => {
        const rules = attach && attach.rules === 'api' ? rulesFromApi(await prom.rules(), `${live.prometheusUrl}/api/v1/rules`) : loadRules(rulesDir);
        const ruleNames = [...new Set(rules.map((r) => r.alertname))];
        log(`verify-alerts ${runId}: ${ruleNames.length} alert rules, ${scenarios.length} fault scenarios${mutated.length ? `, ${mutated.length} rules mutated` : ''}`);
        // The versions judged (every report records them); each alert's own budget follows the Prometheus version's
        // range semantics (alerts/engine.ts), 2.x's (the larger) for a version alertproof does not model.
        const versions = await runningVersions(live);
        const major = majorOf(versions.prometheus);
        log(`prometheus ${versions.prometheus}, alertmanager ${versions.alertmanager ?? 'unknown'}${major ? '' : `; ${versions.prometheus} is not a version alertproof models, so alerts are held to 2.x's worst cases`}`);
        // Allowances and episode identity come from the config Prometheus actually runs, not from this repo's source file.
        const runningConfig = await prom.config();
        const timing = parseTiming(runningConfig);
        const judging = judgingFor(timing, loadAlertCatalog(opts.alertCatalog, major ?? '2'));
        const timeline = new AlertTimeline(externalLabels(runningConfig));
        const onNotified = (alerts: NotifiedAlert[], at: number): void => {
          const scoped = alerts.filter((a) => scope.alerts(a.labels));
          timeline.notify(scoped, at);
          for (const a of scoped) log(`  ${a.status === 'firing' ? '!' : '~'} notified ${a.status}: ${formatExpected({ alertname: a.labels.alertname ?? '?', service: a.labels.service })}`);
        };
        webhook?.on('notification', (n) => onNotified(n.alerts, n.receivedAt));
        if (!webhook) amPoller = pollAlertmanager(live.alertmanagerUrl!, { inScope: scope.alerts, pollMs: POLL_MS, onAlerts: onNotified, log });
        // Observe from the start: an always-firing alert (and any start-up alert) notifies within seconds of the rules loading.
        observer = observe(prom, timeline, scope, log);
        // The dead man's switch needs the heartbeat channel of our own receiver; polling Alertmanager sees no heartbeat.
        const heartbeatRule = rules.find((r) => judging.alwaysFiring.includes(r.alertname));
        if (webhook && heartbeatRule && live.alertmanagerUrl) {
          heartbeat = await watchHeartbeat({
            webhook,
            alertmanagerUrl: live.alertmanagerUrl,
            heartbeatLabels: { ...externalLabels(runningConfig), ...heartbeatRule.labels, alertname: heartbeatRule.alertname },
            alwaysFiring: judging.alwaysFiring,
            log,
          });
        } else {
          const needing = scenarios.filter((s) => s.heartbeat === 'stops').map((s) => s.id);
          log(`dead man's switch: not watched (${webhook ? 'no always-firing rule' : 'notifications are polled, no heartbeat reaches the harness'})${needing.length ? `; ${needing.join(', ')} cannot be judged on it` : ''}`);
        }
        return { rules, ruleNames, versions, timing, judging, timeline };
      },
      () => {
        heartbeat?.stop();
        observer?.stop();
        amPoller?.stop();
      },
    );
    const { rules, ruleNames, versions, timing, judging, timeline } = observed;

    let load: BaselineLoad | undefined;
    await stages.stage(
      'load',
      async () => {
        load = await startBaselineLoad(live, log);
      },
      () => load?.stop(),
    );
    const baseline = load!;
    const ctx: FaultContext = { targets: live.targets, log, load: baseline.control, ...(webhook ? { webhook } : {}) };

    const { checks, exposure } = await stages.stage('pre-flight', async () => {
      const stackChecks = await preflight(prom, live, rules, scope);
      // After the load started: a metric a service creates on its first request is not exposed before it.
      const metrics = await metricExposureCheck(prom, rules);
      for (const c of [...stackChecks, metrics]) log(`preflight ${c.ok ? 'ok' : 'FAILED'}: ${c.name}${c.detail ? ` (${c.detail})` : ''}`);
      return { checks: stackChecks, exposure: metrics };
    });
    // Stack-level checks block the matrix; an unexposed metric fails only the rules that reference it.
    const preflightOk = checks.every((c) => c.ok);

    // The matrix as planned for the whole run, and this shard's part of it.
    const allWaves = planMatrix(scenarios, rules, opts.maxPerWave);
    const controlS = opts.controlS ?? controlWindowS(rules);
    const split = shard ? splitMatrix(allWaves, shard.total, judging, controlS) : undefined;
    const myWaves = split ? split.parts[shard!.index - 1]!.map((n) => ({ wave: n, scenarios: allWaves[n - 1]! })) : allWaves.map((w, i) => ({ wave: i + 1, scenarios: w }));
    if (split) log(`${split.lines[shard!.index - 1]}; plan ${split.hash}`);

    await stages.stage('warm-up', () => warmUp(prom, judging, scope, log, Math.max(...rules.map((r) => r.longestRangeS)), mutated));
    const { control, dashboards } = await stages.stage('control', async () => {
      if (!primary) {
        log(`control window: on shard 1/${shard!.total}`);
        return { control: undefined, dashboards: undefined };
      }
      const start = Date.now();
      log(`control window: ${controlS} s of baseline load with no fault`);
      await sleep(controlS * 1000);
      const window = { start, end: Date.now() };
      return { control: window, dashboards: await dashboardCheck(prom.url, log) };
    });
    const matrixStart = Date.now();

    const always = ruleNames.filter((n) => judging.alwaysFiring.includes(n));
    // Attached, an always-firing alert began before the harness was there to time it: it is not judged (its
    // heartbeat is the dead man's switch's to watch).
    if (attach && always.length) log(`not judged when attached: ${always.join(', ')} (always firing since before the harness attached)`);
    const judgeAlways = attach === undefined && primary;
    const alwaysWindow: ScenarioWindow | undefined = always.length && judgeAlways
      ? { id: 'always-firing', description: 'always firing dead man\'s switch, from rule load', wave: 0, injectedAt: checks.rulesLoadedAt, endedAt: Date.now(), expect: always.map((alertname) => ({ alertname })), mayAlsoFire: [], deadlineS: judging.deadlineS, resetS: DEFAULT_RESET_S }
      : undefined;
    // Rules some scenario of the whole matrix expects: where this run does not run that scenario, another shard (or a
    // run without --only) covers the rule.
    const partial = Boolean(opts.only || notAttachable.length || shard);
    const coveredElsewhere = new Set(partial ? opts.scenarios.flatMap((s) => s.expect.map((e) => parseExpected(e).alertname)) : []);

    const reports: RunReport[] = [];
    for (let iteration = 1; iteration <= opts.repeat; iteration++) {
      const iterStart = iteration === 1 ? matrixStart : Date.now();
      const tag = opts.repeat > 1 ? ` ${iteration}` : '';
      const windows = await stages.stage(`matrix${tag}`, async () => {
        const w = preflightOk && !opts.skipMatrix ? await runMatrix(myWaves, allWaves.length, ctx, prom, timeline, judging, scope, iteration, heartbeat, stages) : [];
        await opts.inspect?.(prom, { control: control ?? { start: matrixStart, end: matrixStart }, windows: w });
        return w;
      });
      const report = await stages.stage(`judging${tag}`, async () => {
        const ev = evaluate({
          windows: [...(alwaysWindow && iteration === 1 ? [alwaysWindow] : []), ...windows],
          episodes: timeline.episodes(),
          control: iteration === 1 ? control : undefined,
          since: iteration === 1 ? (control?.start ?? matrixStart) : iterStart,
          // An always-firing alert's one episode spans every repeat; it is judged once, from the rules loading.
          ruleNames: iteration === 1 && judgeAlways ? ruleNames : ruleNames.filter((n) => !judging.alwaysFiring.includes(n)),
          coveredElsewhere,
          skewMs: judging.skewMs,
          budgetS: judging.budgetS,
          alwaysFiring: judging.alwaysFiring,
        });
        // A partial run (--only, scenarios an attached stack cannot take, one shard) judges the rules its scenarios
        // expect and any that fired without a fault; shard 1 also judges the rules the whole matrix leaves uncovered.
        if (partial) {
          const judgedHere = (name: string): boolean =>
            windows.some((w) => w.expect.some((e) => e.alertname === name)) ||
            ev.falsePositives.some((f) => f.alertname === name) ||
            (primary && !opts.only && (judging.alwaysFiring.includes(name) || !coveredElsewhere.has(name)));
          ev.rules = ev.rules.filter((r) => judgedHere(r.alertname));
        }
        for (const r of ev.rules) {
          if (!preflightOk) r.reasons.unshift('pre-flight failed');
          const missing = rules.filter((x) => x.alertname === r.alertname).flatMap((x) => x.metrics.filter((m) => exposure.missing.includes(m)));
          if (missing.length) r.reasons.unshift(`references metrics no service exposes: ${[...new Set(missing)].join(', ')}`);
          r.passed = r.reasons.length === 0;
        }
        await panelChecks(prom.url, rules, ev.scenarios.flatMap((sc) => sc.alerts), judging.alwaysFiring);
        await collectCharts(prom, ev, rules.map((r) => ({ name: r.alertname, query: r.expr })), timing.evalS);
        const heartbeatReport = heartbeat ? judgeHeartbeat(windows, heartbeat.gaps(), heartbeat.alarmAfterS, iteration === 1 ? -Infinity : iterStart) : undefined;
        const passed = ev.rules.filter((r) => r.passed).length;
        const loadCrash = baseline.crash();
        const crashes = [
          ...crashWatch!.crashes(iteration === 1 ? 0 : iterStart).map((c) => ({ service: c.service, code: c.code, at: new Date(c.at).toISOString(), detail: describeCrash(c, started), tail: c.tail })),
          ...(loadCrash ? [{ service: 'baseline load', code: loadCrash.code, at: new Date(loadCrash.at).toISOString(), detail: `the baseline load run ended on its own with exit ${loadCrash.code}`, tail: loadCrash.tail.join('\n') }] : []),
        ];
        const r: RunReport = {
          runId: opts.repeat > 1 ? `${runId}#${iteration}` : runId,
          startedAt: new Date(started).toISOString(),
          finishedAt: new Date().toISOString(),
          wallS: (Date.now() - started) / 1000,
          repeat: iteration,
          options: { only: opts.only ?? null, repeat: opts.repeat, mutated, backend: live.backend, ...(attach ? { attach: attach.file } : {}), notifications },
          versions,
          ...(split ? { shard: { index: shard!.index, total: shard!.total, plan: split.hash, waves: split.parts[shard!.index - 1]! } } : {}),
          preflight: { ok: preflightOk && exposure.ok, checks: [...checks, exposure].map(({ name, ok, detail }) => ({ name, ok, detail })) },
          control: { durationS: control ? controlS : 0, falsePositives: ev.falsePositives.filter((f) => f.during === 'control') },
          ...ev,
          ...(heartbeatReport ? { heartbeat: heartbeatReport } : {}),
          load: baseline.summary(),
          ...(dashboards ? { dashboards } : {}),
          crashes,
          passed,
          failed: failedOf({ ...ev, crashes, heartbeat: heartbeatReport }),
        };
        return r;
      });
      await stages.stage(`reports${tag}`, async () => {
        const dir = opts.repeat > 1 ? path.join(reportDir, `run-${iteration}`) : reportDir;
        // The stages so far, this one excepted: its own time is the writing, measured by whoever reads the files.
        report.stages = stages.timings().filter((t) => t.name !== `reports${tag}`);
        report.wallS = (Date.now() - started) / 1000;
        await reporters.report(report, dir);
      });
      reports.push(report);
    }
    const passed = reports.reduce((a, r) => a + r.passed, 0);
    const failed = reports.reduce((a, r) => a + r.failed, 0);
    if (opts.keep) {
      log(`--keep: stack left running; Prometheus ${live.prometheusUrl}, Alertmanager ${live.alertmanagerUrl}. Ctrl-C to stop.`);
      await new Promise<void>(() => undefined);
    }
    return { reports, reportDir, passed, failed, stages: stages.timings() };
  } finally {
    await stages.teardown();
  }
}

/** This run's split of the planned waves over the shards, with each wave's estimated wall time. */
export function splitMatrix(waves: PlannedFault[][], total: number, judging: Pick<Judging, 'budgetS' | 'deadlineS'>, controlS: number): { parts: number[][]; hash: string; lines: string[] } {
  if (total > waves.length) throw new Error(`${total} shards for ${waves.length} waves: a shard needs at least one wave; use --shards ${waves.length} or fewer`);
  const costs: WaveCost[] = waves.map((w, i) => ({ wave: i + 1, ids: w.map((p) => p.id), costS: waveCostS(w, judging) }));
  const parts = assignWaves(costs, total, controlS);
  return { parts, hash: planHash(costs, total), lines: describeSplit(costs, parts, controlS) };
}

/**
 * A wave's estimated wall time, from the matrix and the budgets alone (so every machine splits alike): its slowest
 * scenario's slowest expected alert at its budget, then the scenario's reset budget.
 */
export function waveCostS(wave: readonly PlannedFault[], judging: Pick<Judging, 'budgetS' | 'deadlineS'>): number {
  return Math.max(...wave.map((p) => Math.max(0, ...p.expect.map((e) => judging.budgetS.get(e.alertname) ?? judging.deadlineS)) + (p.scenario.resetS ?? DEFAULT_RESET_S)));
}

interface PreflightCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** What the stack being judged runs: Prometheus' buildinfo, Alertmanager's status (absent when it cannot say). */
async function runningVersions(stack: Stack): Promise<NonNullable<RunReport['versions']>> {
  const prometheus = (await prometheusBuild(stack.prometheusUrl!)).version;
  const alertmanager = stack.alertmanagerUrl
    ? await new AlertmanagerApi(stack.alertmanagerUrl)
        .status()
        .then((s) => s.versionInfo.version)
        .catch(() => undefined)
    : undefined;
  return { prometheus, ...(alertmanager ? { alertmanager } : {}) };
}

async function preflight(prom: PrometheusApi, stack: Stack, rules: RuleInfo[], scope: Scope): Promise<PreflightCheck[] & { rulesLoadedAt: number }> {
  const checks: PreflightCheck[] = [];
  const scopedTargets = async () => (await prom.targets()).filter((x) => scope.targets(x.labels));
  const targetsOk = await prom
    .waitUntil(async () => {
      const t = await scopedTargets();
      return t.length > 0 && t.every((x) => x.health === 'up') ? t : undefined;
    }, 30_000, 'every scrape target up')
    .then((t) => ({ ok: true, detail: `${t.length} targets: ${t.map((x) => x.labels.job).join(', ')}` }))
    .catch(async (err: Error) => {
      const t = await scopedTargets().catch(() => []);
      const down = t.filter((x) => x.health !== 'up').map((x) => `${x.labels.job} (${x.lastError || x.health})`);
      return { ok: false, detail: `${err.message}; down: ${down.join(', ')}` };
    });
  checks.push({ name: 'every scrape target up', ...targetsOk });
  const expected = new Set(rules.map((r) => r.alertname));
  // Read from Prometheus, not from the rule groups: by the time every group has been evaluated (the targets may take
  // several scrapes to come up), a group's lastEvaluation tells only its latest evaluation, and an always-firing alert
  // active since the first would be judged as preexisting.
  let rulesLoadedAt = Date.now();
  const rulesOk = await prom
    .waitUntil(async () => {
      const groups = await prom.rules();
      const loaded = new Set(groups.flatMap((g) => g.rules.map((r) => r.name)));
      const evaluated = groups.every((g) => g.lastEvaluation && !g.lastEvaluation.startsWith('0001'));
      return [...expected].every((n) => loaded.has(n)) && evaluated ? groups : undefined;
    }, 30_000, 'every rule loaded and evaluated')
    .then(async (groups) => {
      const bad = groups.flatMap((g) => g.rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError ?? r.health}`));
      rulesLoadedAt = await prom.configLoadedAt();
      return { ok: bad.length === 0, detail: bad.length ? bad.join('; ') : `${groups.length} groups, ${expected.size} alerts, health ok` };
    })
    .catch((err: Error) => ({ ok: false, detail: err.message }));
  checks.push({ name: 'every rule group evaluated with health ok', ...rulesOk });
  const amUp = await fetch(`${stack.alertmanagerUrl}/-/ready`).then((r) => r.ok).catch(() => false);
  checks.push({ name: 'Alertmanager ready', ok: amUp, detail: stack.alertmanagerUrl ?? 'no Alertmanager URL' });
  return Object.assign(checks, { rulesLoadedAt });
}

/** Every metric a rule references must be exposed; a typo in a rule would otherwise never fire. Needs load first. */
async function metricExposureCheck(prom: PrometheusApi, rules: RuleInfo[]): Promise<PreflightCheck & { missing: string[] }> {
  const referenced = new Set(rules.flatMap((r) => r.metrics));
  let missing: string[] = [];
  try {
    await prom.waitUntil(async () => {
      const exposed = new Set(await prom.seriesNames());
      missing = [...referenced].filter((m) => !exposed.has(m)).sort();
      return missing.length === 0 ? true : undefined;
    }, 30_000, 'every referenced metric exposed');
  } catch {
    // missing holds what is still absent
  }
  return { name: 'every metric a rule references is exposed', ok: missing.length === 0, detail: missing.length ? `missing: ${missing.join(', ')}` : `${referenced.size} metrics`, missing };
}

/** Alerts and scrape targets this run judges (everything, unless an attach file scopes them). */
interface Scope {
  alerts: LabelPredicate;
  targets: LabelPredicate;
}

/** Every binding a selected fault scenario needs and the stack does not describe, one line each. */
export function bindingProblems(scenarios: readonly FaultScenario[], targets: Targets): string[] {
  const problems: string[] = [];
  for (const s of scenarios) {
    for (const [i, step] of s.faults.entries()) {
      const driver = stepDriver(step);
      // load and webhook act on no target of the stack (the baseline load; the harness's own receiver).
      if (!(driver in BINDING_OF)) continue;
      const key = BINDING_OF[driver as keyof typeof BINDING_OF];
      const target = (Object.values(step)[0] as { target: string }).target;
      const where = `fault scenario ${s.id}, faults.${i}.${driver}`;
      if (!targets[target]) problems.push(`targets.${target}: missing, and ${where} acts on it`);
      else if (targets[target][key] === undefined) problems.push(`targets.${target}.${key === 'process' ? 'signal (or compose)' : key}: missing, and ${where} needs it`);
    }
  }
  return problems;
}

function observe(prom: PrometheusApi, timeline: AlertTimeline, scope: Scope, log: (l: string) => void): { stop(): void } {
  let stopped = false;
  const states = new Map<string, string>();
  // One line when polling starts failing (Prometheus killed by a fault) and one when it works again, not one a second.
  let failingSince: number | undefined;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const t = Date.now();
      try {
        const alerts = (await prom.alerts()).filter((a) => scope.alerts(a.labels));
        timeline.observe(alerts, t);
        const now = new Map(alerts.map((a) => [alertKey(a.labels.alertname ?? '?', a.labels.service), a.state]));
        for (const [k, s] of now) if (states.get(k) !== s) log(`  + ${k.replace('|', '/').replace(/\/$/, '')} ${s}`);
        for (const k of states.keys()) if (!now.has(k)) log(`  - ${k.replace('|', '/').replace(/\/$/, '')} resolved`);
        states.clear();
        for (const [k, s] of now) states.set(k, s);
        if (failingSince !== undefined) log(`  (alert poll works again after ${((t - failingSince) / 1000).toFixed(1)} s)`);
        failingSince = undefined;
      } catch (err) {
        if (failingSince === undefined) log(`  (alert poll failed: ${(err as Error).message}; retrying every ${POLL_MS} ms)`);
        failingSince ??= t;
      }
      await sleep(Math.max(0, POLL_MS - (Date.now() - t)));
    }
  };
  void loop();
  return { stop: () => void (stopped = true) };
}

export interface PlannedFault {
  id: string;
  touches: string[];
  excludes: string[];
  tags: string[];
  expect: ExpectedAlert[];
  mayAlsoFire: ExpectedAlert[];
  alone: boolean;
  scenario: FaultScenario;
}

/**
 * Alertmanager inhibits alerts whose service or dependency label names a service that is down, so a scenario
 * is tagged "alerts:<x>" for each service and dependency its expected alerts name; a scenario taking x down excludes it.
 */
function alertTags(expect: ExpectedAlert[], rules: RuleInfo[]): string[] {
  const labels = expect.flatMap((e) => rules.filter((r) => r.alertname === e.alertname).flatMap((r) => [r.labels.service, r.labels.dependency]));
  return [...new Set(labels.filter((l): l is string => Boolean(l)).map((l) => `alerts:${l}`))];
}

/** The matrix as it will run: scenarios planned into waves (also what `--list` prints). */
export function planMatrix(scenarios: FaultScenario[], rules: RuleInfo[], maxPerWave = 6): PlannedFault[][] {
  const planned: PlannedFault[] = scenarios.map((s) => {
    const expect = s.expect.map(parseExpected);
    return {
      id: s.id,
      touches: s.touches,
      excludes: s.excludes,
      tags: alertTags(expect, rules),
      expect,
      mayAlsoFire: s.mayAlsoFire.map(parseExpected),
      alone: s.alone,
      scenario: s,
    };
  });
  return planWaves(planned, maxPerWave);
}

/** Runs the given waves (numbered as in the whole matrix), then waits for the last resolutions and first bad samples. */
async function runMatrix(waves: readonly { wave: number; scenarios: PlannedFault[] }[], totalWaves: number, ctx: FaultContext, prom: PrometheusApi, timeline: AlertTimeline, judging: Judging, scope: Scope, iteration: number, heartbeat: HeartbeatWatch | undefined, stages: StageRunner): Promise<ScenarioWindow[]> {
  const windows: ScenarioWindow[] = [];
  for (const { wave, scenarios } of waves) {
    // A scenario that runs alone takes Prometheus, Alertmanager or delivery away: the resolution notifications earlier
    // waves still wait for must arrive first (a killed Alertmanager forgets the ones it held).
    if (scenarios.some((p) => p.alone)) await resolutionNotifications(timeline, windows, judging, ctx.log);
    ctx.log(`\n[run ${iteration}] wave ${wave}/${totalWaves}: ${scenarios.map((s) => s.id).join(', ')}`);
    await stages.timed(`wave ${wave}`, async () => {
      windows.push(...(await Promise.all(scenarios.map((p) => runFaultScenario(p, wave, ctx, timeline, judging, heartbeat)))));
      await settle(prom, judging, scope, ctx.log);
    });
  }
  await resolutionNotifications(timeline, windows, judging, ctx.log);
  for (const w of windows) w.firstBadSample = await firstBadSamples(prom, w);
  return windows;
}

async function runFaultScenario(p: PlannedFault, wave: number, ctx: FaultContext, timeline: AlertTimeline, judging: Judging, heartbeat: HeartbeatWatch | undefined): Promise<ScenarioWindow> {
  const s = p.scenario;
  const deadlineS = s.deadlineS ?? judging.deadlineS;
  const resetS = s.resetS ?? DEFAULT_RESET_S;
  const heartbeatStops = s.heartbeat === 'stops';
  const window: ScenarioWindow = { id: s.id, description: s.description, wave, injectedAt: Date.now(), endedAt: 0, expect: p.expect, mayAlsoFire: p.mayAlsoFire, delivery: s.delivery, heartbeatStops, heartbeatMayStop: s.heartbeat === 'may-stop', deadlineS, resetS };
  // The switch's alarm during this fault, and the heartbeat back after it (true when the switch is not watched).
  const alarmed = (): boolean => !heartbeatStops || !heartbeat || heartbeat.gaps().some((g) => g.alarmedAt >= window.injectedAt);
  const heartbeatBack = (): boolean => !heartbeatStops || !heartbeat || heartbeat.gaps().filter((g) => g.alarmedAt >= window.injectedAt).every((g) => g.resumedAt !== undefined);
  const log = (l: string): void => ctx.log(`  [${s.id}] ${l}`);
  const episodesOf = (e: ExpectedAlert): Episode[] =>
    timeline.episodes().filter((ep) => matches(e, ep) && ep.activeAt >= window.injectedAt - judging.skewMs);
  let undo: (() => Promise<void>) | undefined;
  try {
    log(`inject: ${s.description}; expect ${s.expect.join(', ')}`);
    window.injectedAt = Date.now();
    const injected = await injectFaults(s.faults, ctx);
    undo = injected.undo;
    if (injected.error) throw injected.error;
    const deadline = window.injectedAt + (deadlineS + 10) * 1000;
    // What the fault must show before it is undone: each expected alert notified (or, when the fault takes delivery
    // away, firing) and the dead man's switch alarmed.
    const shown = (): boolean => p.expect.every((e) => episodesOf(e).some((ep) => (deliveryOf(s.delivery, e) === 'during' ? ep.notifiedAt !== undefined : ep.firingAt !== undefined))) && alarmed();
    while (Date.now() < deadline && !shown()) await sleep(500);
    window.recoveredAt = Date.now();
    log(`recover (${((window.recoveredAt - window.injectedAt) / 1000).toFixed(1)} s after inject)`);
    undo = undefined;
    await injected.undo();
    // Resolution notifications keep arriving while the next wave runs; runMatrix waits for stragglers at the end.
    // An expected alert that never even went pending is judged missed already: nothing of it can resolve, so only the
    // ones that fired are waited for (a mutation run would otherwise sit out the whole reset budget every wave).
    const resetDeadline = Date.now() + (resetS + 5) * 1000;
    const recoveredAt = window.recoveredAt;
    const deliveredAfter = (e: ExpectedAlert): boolean => deliveryOf(s.delivery, e) !== 'after-recovery' || episodesOf(e).some((ep) => ep.notifiedAt !== undefined && ep.notifiedAt >= recoveredAt);
    const resolved = (): boolean => p.expect.every((e) => deliveredAfter(e) && episodesOf(e).every((ep) => ep.endedAt !== undefined)) && heartbeatBack();
    while (Date.now() < resetDeadline && !resolved()) await sleep(500);
  } catch (err) {
    window.error = (err as Error).message;
    log(`ERROR: ${window.error}`);
    if (window.recoveredAt === undefined) {
      window.recoveredAt = Date.now();
      await undo?.().catch((e: Error) => log(`recover failed too: ${e.message}`));
    }
  }
  window.endedAt = Date.now();
  return window;
}

/**
 * Start-up leaves honest transients (no model active until the load's setup registers one, no orders before the
 * order flow starts, and failures of those moments stay in range windows). The control window begins once the
 * loaded stack has been quiet for a whole evaluation; an alert that never clears is not hidden by this: it stays
 * active into the control window and counts as a false positive.
 */
async function warmUp(prom: PrometheusApi, judging: Judging, scope: Scope, log: (l: string) => void, longestWindowS: number, mutants: readonly string[], maxS = 90): Promise<void> {
  const t0 = Date.now();
  log(`warm-up: at least ${longestWindowS} s (the longest rule window) of load, then quiet (at most ${maxS} s)`);
  await sleep(longestWindowS * 1000);
  // A mutant that fires on the healthy stack is what the mutation check measures, not a start-up transient to wait out.
  if (await quiet(prom, judging, scope, (maxS - longestWindowS) * 1000, mutants)) log(`warm-up done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  else log(`warm-up: alerts still active after ${maxS} s; the control window will judge them`);
}

/** Waits until no alert but the always-firing ones is active and every target is up, so the next wave starts clean. */
async function settle(prom: PrometheusApi, judging: Judging, scope: Scope, log: (l: string) => void): Promise<void> {
  if (!(await quiet(prom, judging, scope, 90_000))) log('  (settle: alerts still active after 90 s; starting next wave anyway)');
}

/** True once checks spanning judging.quietStreakMs all find no alert but the always-firing (and ignored) ones and every target up. */
async function quiet(prom: PrometheusApi, judging: Judging, scope: Scope, timeoutMs: number, ignored: readonly string[] = []): Promise<boolean> {
  const streakMs = judging.quietStreakMs;
  const deadline = Date.now() + timeoutMs;
  let quietSince: number | undefined;
  while (Date.now() < deadline) {
    const ok = await Promise.all([prom.alerts(), prom.targets()])
      .then(
        ([alerts, targets]) =>
          alerts.every((a) => !scope.alerts(a.labels) || judging.alwaysFiring.includes(a.labels.alertname ?? '') || ignored.includes(a.labels.alertname ?? '')) &&
          targets.every((t) => !scope.targets(t.labels) || t.health === 'up'),
      )
      .catch(() => false);
    const now = Date.now();
    if (!ok) quietSince = undefined;
    else if (quietSince === undefined) quietSince = now;
    else if (now - quietSince >= streakMs) return true;
    await sleep(POLL_MS);
  }
  return false;
}

/** Every dashboard query must parse and return data on the loaded, healthy stack (dashboards/*.json). */
async function dashboardCheck(promUrl: string, log: (l: string) => void): Promise<RunReport['dashboards']> {
  try {
    const r = await checkDashboards(promUrl, { lookbackS: 60 });
    const failures = r.failures.map((f) => ({ where: `${f.query.dashboardUid} ${f.query.where}`, promql: f.promql, error: f.error ?? 'failed' }));
    log(`dashboards: ${r.checks.length - failures.length}/${r.checks.length} panel queries parse and return data`);
    for (const f of failures) log(`  dashboard query FAILED: ${f.where}: ${f.error}`);
    return { queries: r.checks.length, failures, notes: r.notes };
  } catch (err) {
    const error = (err as Error).message;
    log(`dashboards: check failed: ${error}`);
    return { queries: 0, failures: [{ where: 'dashboards/*.json', promql: '', error }], notes: [] };
  }
}

/** For each alert that fired: did the panel its dashboard_url names show the fault (value before vs. at firing)? */
async function panelChecks(promUrl: string, rules: RuleInfo[], outcomes: AlertOutcome[], alwaysFiring: readonly string[]): Promise<void> {
  for (const o of outcomes) {
    const url = rules.find((r) => r.alertname === o.alertname)?.annotations.dashboard_url;
    // An always-firing alert's panel has nothing to change.
    if (!url || o.stages.firingS === undefined || alwaysFiring.includes(o.alertname)) continue;
    const faultAt = Date.parse(o.faultAt);
    try {
      const change = await alertPanelChange(promUrl, url, new Date(faultAt - 5000), new Date(faultAt + o.stages.firingS * 1000));
      o.panel = { where: change.where, changed: change.changed };
    } catch (err) {
      o.panel = { where: url, changed: false, error: (err as Error).message };
    }
  }
}

/** Waits, within each scenario's own reset budget, for resolution notifications of its alerts that were notified firing. */
async function resolutionNotifications(timeline: AlertTimeline, windows: ScenarioWindow[], judging: Judging, log: (l: string) => void): Promise<void> {
  const windowOf = (ep: Episode): ScenarioWindow | undefined => windows.find((w) => ep.activeAt >= w.injectedAt - judging.skewMs && ep.activeAt <= w.endedAt && [...w.expect, ...w.mayAlsoFire].some((e) => matches(e, ep)));
  const outstanding = (): boolean =>
    timeline.episodes().some((ep) => {
      const w = windowOf(ep);
      return w !== undefined && ep.notifiedAt !== undefined && ep.endedAt !== undefined && ep.resolvedNotifiedAt === undefined && Date.now() - ep.endedAt < w.resetS * 1000;
    });
  if (outstanding()) log('waiting for the last resolution notifications');
  while (outstanding()) await sleep(500);
}

/** First evaluation at which each expected alert's expression held: query_range of the rule expression at 1 s steps. */
async function firstBadSamples(prom: PrometheusApi, w: ScenarioWindow): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const groups = await prom.rules().catch(() => []);
  for (const e of w.expect) {
    const rule = groups.flatMap((g) => g.rules).find((r) => r.name === e.alertname);
    if (!rule?.query) continue;
    const end = Math.min(w.recoveredAt ?? w.endedAt, w.injectedAt + 120_000);
    try {
      const series = await prom.queryRange(rule.query, w.injectedAt / 1000, end / 1000, 1);
      const times = series
        .filter((s) => !e.service || !s.metric.service || s.metric.service === e.service)
        .flatMap((s) => s.values.map(([t]) => t * 1000));
      if (times.length) out[formatExpected(e)] = Math.min(...times);
    } catch {
      // An expression Prometheus cannot range-query leaves the stage unknown.
    }
  }
  return out;
}

/** Prometheus' external labels, which it adds to every alert it sends: Alertmanager's labels are the poll's plus these. */
function externalLabels(configYaml: string): Record<string, string> {
  const doc = YAML.parse(configYaml) as { global?: { external_labels?: Record<string, string> } } | null;
  return doc?.global?.external_labels ?? {};
}
