// `tsx load/runtime/main.ts run <script> [-e KEY=VALUE] [--out json=FILE]`: runs one k6 script in this process, as
// `k6 run` does: init context, setup, the scenarios, teardown, thresholds, handleSummary, k6's exit code. Started by
// load/runtime/client.ts with an IPC channel it also takes stop/pause/resume and reports progress and the result.
import fs from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { format, parseArgs } from 'node:util';
import { TestRunner } from './engine.ts';
import { closePools } from './k6/http.ts';
import { defineBuiltins, MetricRegistry, RateSink, CounterSink } from './metrics.ts';
import { EXIT_INVALID_CONFIG, ProfileError, resolveOptions, type TestOptions } from './options.ts';
import { JsonOutput } from './outputs/json.ts';
import { checkScript, show, type CheckEnv, type Violation } from './profile-check.ts';
import { PromOutput } from './outputs/prom.ts';
import type { ChildMessage, ParentMessage, RunProgress, RunResult } from './protocol.ts';
import { EXIT_SCRIPT_ERROR, installGlobals, newGroup, setTestState, TestAbort, type TestState } from './state.ts';
import { buildSummaryData, type SummaryData } from './summary-data.ts';
import { textSummary } from '../scenarios/lib/text-summary.ts';
import { compileThresholds, evaluateThresholds, unmeasured, type Threshold } from './thresholds.ts';

const EXIT_THRESHOLDS_FAILED = 99;
const EXIT_SETUP_TIMEOUT = 100;
const EXIT_TEARDOWN_TIMEOUT = 101;
const EXIT_EXTERNAL_ABORT = 105;
/** k6 evaluates thresholds with abortOnFail every 2 s. */
const THRESHOLD_EVAL_MS = 2000;
const USAGE = 'usage: tsx load/runtime/main.ts run <script.ts> [-e KEY=VALUE]... [--out json=FILE]... [--include-system-env-vars=false] [--metrics-port N] [--no-summary] [--progress-ms N]';

const ipc = typeof process.send === 'function';
const send = (m: ChildMessage): void => {
  if (ipc && process.connected) process.send!(m);
};
const errorTail: string[] = [];
const stderr = (line: string): void => {
  errorTail.push(line);
  if (errorTail.length > 20) errorTail.shift();
  process.stderr.write(`${line}\n`);
};

// As in k6, console output is log output on stderr; stdout carries only the summary.
for (const level of ['log', 'info', 'debug', 'warn', 'error'] as const) {
  console[level] = (...args: unknown[]): void => stderr(`${level === 'log' ? 'info' : level}: ${format(...args)}`);
}

function parseCli(argv: string[]): { script: string; env: Record<string, string>; systemEnv: boolean; outs: string[]; metricsPort?: number; summary: boolean; progressMs: number } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      env: { type: 'string', short: 'e', multiple: true },
      out: { type: 'string', short: 'o', multiple: true },
      'metrics-port': { type: 'string' },
      'no-summary': { type: 'boolean' },
      'progress-ms': { type: 'string' },
      'include-system-env-vars': { type: 'string' },
    },
  });
  if (positionals[0] !== 'run' || positionals.length !== 2) throw new ProfileError(USAGE);
  const env: Record<string, string> = {};
  for (const pair of values.env ?? []) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new ProfileError(`-e ${pair}: give KEY=VALUE`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const port = values['metrics-port'] === undefined ? undefined : Number(values['metrics-port']);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new ProfileError(`--metrics-port ${values['metrics-port']} is not a port 0..65535`);
  const systemEnv = values['include-system-env-vars'] ?? 'true';
  if (systemEnv !== 'true' && systemEnv !== 'false') throw new ProfileError(`--include-system-env-vars=${systemEnv}: give true or false`);
  return { script: positionals[1]!, env, systemEnv: systemEnv === 'true', outs: values.out ?? [], metricsPort: port, summary: !values['no-summary'], progressMs: Number(values['progress-ms'] ?? 1000) };
}

/** The script's named data exports k6 ignores (stress's `knee`), for the caller. */
function dataExports(mod: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(mod)) {
    if (k === 'options' || k === 'default' || typeof v === 'function') continue;
    try {
      out[k] = JSON.parse(JSON.stringify(v)) as unknown;
    } catch {
      // Not data; k6 ignores it too.
    }
  }
  return out;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string, code: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TestAbort(`${what} did not return within ${ms} ms`, code)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** Writes what handleSummary returned: 'stdout', 'stderr', or a file path (parent folders created). */
function writeSummaryOutputs(outputs: unknown, cwd: string): void {
  if (outputs === undefined || outputs === null) return;
  if (typeof outputs !== 'object') throw new Error(`handleSummary must return an object of { 'stdout' | 'stderr' | path: content }, not ${typeof outputs}`);
  for (const [target, content] of Object.entries(outputs as Record<string, unknown>)) {
    const text = typeof content === 'string' ? content : content instanceof ArrayBuffer ? Buffer.from(content) : JSON.stringify(content);
    if (target === 'stdout') process.stdout.write(text);
    else if (target === 'stderr') process.stderr.write(text);
    else {
      const file = path.resolve(cwd, target);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
    }
  }
}

/** Sync http.*, http.batch and group() around async code in the script or what it imports, found before it runs. */
function syncHttpUses(entry: string): Violation[] {
  const env: CheckEnv = { roots: [path.parse(entry).root], exists: (f) => fs.existsSync(f) && fs.statSync(f).isFile(), displayRoot: process.cwd() };
  const queue = [entry];
  const seen = new Set<string>();
  const found: Violation[] = [];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const checked = checkScript(file, fs.readFileSync(file, 'utf8'), env);
    found.push(...checked.violations.filter((v) => v.rule === 'no-sync-http'));
    queue.push(...checked.imports);
  }
  return found;
}

type Outcome = Pick<RunResult, 'exitCode' | 'summary' | 'exports'>;

async function main(): Promise<Outcome> {
  const cli = parseCli(process.argv.slice(2));
  const scriptPath = path.resolve(cli.script);
  if (!fs.existsSync(scriptPath)) throw new ProfileError(`script ${cli.script} not found (resolved to ${scriptPath})`);
  const refused = syncHttpUses(scriptPath);
  if (refused.length > 0) {
    for (const v of refused) stderr(`error: ${show(v)} (outside the profile this runtime runs)`);
    return { exitCode: EXIT_SCRIPT_ERROR, exports: {} };
  }
  const scriptUrl = pathToFileURL(scriptPath).href;
  register('./resolve-hook.mjs', { parentURL: import.meta.url, data: { entry: scriptUrl } });

  // As k6 run: __ENV holds the system environment (unless --include-system-env-vars=false) with the -e values over it.
  const env: Record<string, string> = { ...(cli.systemEnv ? (process.env as Record<string, string>) : {}), ...cli.env };
  installGlobals(env);
  const registry = new MetricRegistry();
  let runner: TestRunner | undefined;
  let abortReason: TestAbort | undefined;
  let thresholdAbort = false;
  let external = false;
  const warned = new Map<string, number>();
  const state: TestState = {
    phase: 'init',
    env,
    registry,
    builtins: defineBuiltins(registry),
    rootGroup: newGroup(''),
    startedAt: Date.now(),
    instance: { iterationsCompleted: 0, iterationsInterrupted: 0, vusActive: 0, vusInitialized: 0 },
    abort(reason) {
      if (abortReason) return;
      abortReason = reason;
      stderr(`error: ${reason.message}`);
      runner?.abortNow();
    },
    warn(line) {
      const n = warned.get(line) ?? 0;
      warned.set(line, n + 1);
      if (n === 0) stderr(`warn: ${line}`);
    },
  };
  setTestState(state);

  // The init context: evaluating the module defines options and custom metrics.
  let mod: Record<string, unknown>;
  try {
    mod = (await import(scriptUrl)) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TestAbort) return { exitCode: err.exitCode, exports: {} };
    stderr(`error: script error in the init context of ${cli.script}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return { exitCode: EXIT_SCRIPT_ERROR, exports: {} };
  }
  const exports = dataExports(mod);
  let options: TestOptions;
  let thresholds: Threshold[];
  try {
    options = resolveOptions(mod.options);
    state.options = options;
    state.rawOptions = mod.options;
    thresholds = compileThresholds(options.thresholds, registry);
    runner = new TestRunner(options, state, mod);
  } catch (err) {
    stderr(`error: ${(err as Error).message}`);
    return { exitCode: err instanceof ProfileError || err instanceof TestAbort ? err.exitCode : EXIT_INVALID_CONFIG, exports };
  }

  const outputs: Array<JsonOutput | PromOutput> = [];
  const byMetric = new Map<string, string[]>();
  for (const t of thresholds) byMetric.set(t.metric.name, [...(byMetric.get(t.metric.name) ?? []), t.expr]);
  for (const out of cli.outs) {
    const m = /^json=(.+)$/.exec(out);
    if (!m) {
      stderr(`error: --out ${out}: this runtime writes k6's JSON output only (--out json=FILE)`);
      return { exitCode: EXIT_INVALID_CONFIG, exports };
    }
    outputs.push(new JsonOutput(path.resolve(m[1]!), byMetric));
  }
  let metricsUrl: string | undefined;
  if (cli.metricsPort !== undefined) {
    const flows = [...new Set(options.scenarios.map((s) => s.tags.flow ?? s.name))];
    const prom = new PromOutput(flows);
    metricsUrl = await prom.listen(cli.metricsPort);
    outputs.push(prom);
  }
  for (const o of outputs) registry.observe(o);

  let stopRequested = false;
  const onParent = (msg: ParentMessage): void => {
    if (msg.type === 'stop') {
      stopRequested = true;
      runner?.stop();
    } else if (msg.type === 'pause') runner?.pause(msg.scenario);
    else if (msg.type === 'resume') runner?.resume(msg.scenario);
  };
  process.on('message', (m: ParentMessage) => {
    try {
      onParent(m);
    } catch (err) {
      stderr(`error: ${(err as Error).message}`);
    }
  });
  // The parent is gone: nobody waits for this run any more.
  process.on('disconnect', () => {
    if (!finishing) process.exit(EXIT_EXTERNAL_ABORT);
  });
  let interrupts = 0;
  const onSignal = (): void => {
    external = true;
    if (++interrupts > 1) process.exit(EXIT_EXTERNAL_ABORT);
    stderr('info: stopping (gracefully; a second Ctrl-C stops at once)');
    stopRequested = true;
    runner?.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let setupData: unknown;
  let exitCode = 0;
  const timers: NodeJS.Timeout[] = [];
  const elapsedS = (): number => (Date.now() - state.startedAt) / 1000;
  try {
    state.phase = 'setup';
    if (typeof mod.setup === 'function') {
      try {
        const returned = await withTimeout(Promise.resolve((mod.setup as () => unknown)()), options.setupTimeoutMs, 'setup()', EXIT_SETUP_TIMEOUT);
        // k6 hands setup's data to every VU and teardown as JSON.
        setupData = returned === undefined ? undefined : (JSON.parse(JSON.stringify(returned)) as unknown);
      } catch (err) {
        if (err instanceof TestAbort) throw err;
        throw new TestAbort(`setup() failed, no load was sent: ${err instanceof Error ? err.message : String(err)}`, EXIT_SCRIPT_ERROR);
      }
    }
    if (abortReason) throw abortReason;
    state.phase = 'vu';
    send({ type: 'started', metricsUrl });
    const progress = (): RunProgress => ({
      elapsedS: elapsedS(),
      scenarios: runner!.progress(),
      httpReqs: (state.builtins.http_reqs.sink as CounterSink).count,
      httpReqsFailed: (state.builtins.http_req_failed.sink as RateSink).trues,
    });
    timers.push(setInterval(() => send({ type: 'progress', progress: progress() }), cli.progressMs));
    timers.push(
      setInterval(() => {
        registry.add(state.builtins.vus, state.instance.vusActive, options.tags);
        registry.add(state.builtins.vus_max, runner!.vusAllocated, options.tags);
      }, 1000),
    );
    if (!ipc) {
      timers.push(
        setInterval(() => {
          const p = progress();
          const done = Object.values(p.scenarios).reduce((n, s) => n + s.completed, 0);
          const interrupted = Object.values(p.scenarios).reduce((n, s) => n + s.interrupted, 0);
          stderr(`info: running (${p.elapsedS.toFixed(0)} s), ${state.instance.vusActive}/${runner!.vusAllocated} VUs, ${done} complete and ${interrupted} interrupted iterations, ${p.httpReqs} requests`);
        }, 10_000),
      );
    }
    const aborting = thresholds.filter((t) => t.abortOnFail);
    if (aborting.length > 0) {
      timers.push(
        setInterval(() => {
          evaluateThresholds(aborting, elapsedS());
          const failed = aborting.filter((t) => !t.ok && Date.now() - state.startedAt >= t.delayAbortEvalMs);
          if (failed.length === 0 || thresholdAbort) return;
          thresholdAbort = true;
          stderr(`error: thresholds on ${failed.map((t) => `'${t.key}: ${t.expr}'`).join(', ')} have been crossed; the test is aborted (abortOnFail)`);
          runner!.abortNow();
        }, THRESHOLD_EVAL_MS),
      );
    }
    if (!stopRequested) await runner.run(setupData);
  } catch (err) {
    if (!(err instanceof TestAbort)) throw err;
    if (!abortReason) state.abort(err);
  } finally {
    for (const t of timers) clearInterval(t);
  }

  // A test whose setup failed sent no load: no teardown, and no summary that would read like a result.
  const testStarted = state.phase === 'vu';
  state.phase = 'teardown';
  if (typeof mod.teardown === 'function' && testStarted) {
    try {
      await withTimeout(Promise.resolve((mod.teardown as (d: unknown) => unknown)(setupData)), options.teardownTimeoutMs, 'teardown()', EXIT_TEARDOWN_TIMEOUT);
    } catch (err) {
      if (err instanceof TestAbort) state.abort(err);
      else state.abort(new TestAbort(`teardown() failed: ${err instanceof Error ? err.message : String(err)}`, EXIT_SCRIPT_ERROR));
    }
  }
  await closePools();

  state.phase = 'summary';
  const testRunDurationMs = Date.now() - state.startedAt;
  const failedThresholds = evaluateThresholds(thresholds, testRunDurationMs / 1000);
  for (const t of unmeasured(thresholds)) state.warn(`threshold '${t.key}: ${t.expr}' had no samples; k6 reads an empty trend as 0, so it passed unmeasured`);
  for (const [line, n] of warned) if (n > 1) stderr(`warn: the line above repeated ${n - 1} more times: ${line}`);
  const summary: SummaryData = buildSummaryData({ registry, thresholds, options, rootGroup: state.rootGroup, testRunDurationMs, setupData });
  if (cli.summary && testStarted) {
    try {
      if (typeof mod.handleSummary === 'function') writeSummaryOutputs(await (mod.handleSummary as (d: SummaryData) => unknown)(summary), process.cwd());
      else process.stdout.write(`${textSummary(summary)}\n`);
    } catch (err) {
      stderr(`error: handleSummary() failed: ${err instanceof Error ? err.message : String(err)}`);
      exitCode = EXIT_SCRIPT_ERROR;
    }
  }
  await Promise.allSettled(outputs.map((o) => o.close()));

  if (abortReason) exitCode = abortReason.exitCode;
  else if (thresholdAbort || failedThresholds.length > 0) exitCode = EXIT_THRESHOLDS_FAILED;
  else if (external) exitCode = EXIT_EXTERNAL_ABORT;
  return { exitCode, summary, exports };
}

let finishing = false;
function finish(outcome: Outcome): void {
  const cpu = process.cpuUsage();
  finishing = true;
  send({ type: 'result', result: { ...outcome, cpu: { userMs: cpu.user / 1000, systemMs: cpu.system / 1000 }, errorTail: [...errorTail] } });
  if (ipc && process.connected) process.disconnect();
  process.exitCode = outcome.exitCode;
  // Stray timers of an interrupted iteration must not keep the process alive.
  setTimeout(() => process.exit(outcome.exitCode), 100).unref();
}

main().then(finish, (err: unknown) => {
  stderr(`error: ${err instanceof Error ? err.message : String(err)}`);
  finish({ exitCode: err instanceof ProfileError ? err.exitCode : EXIT_SCRIPT_ERROR, exports: {} });
});
