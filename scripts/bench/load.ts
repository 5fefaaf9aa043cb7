// `npm run bench:load`: the highest arrival rate the k6 runtime (load/runtime/) sustains against a bare local HTTP server,
// and its CPU per 1,000 requests. The old load runner (load/runner/) it replaced was measured beside it in the same runs
// until it was deleted; its figures stand in docs/benchmarks.md "Load runtime".
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { runScript } from '../../load/runtime/client.ts';
import { ProcessOwner, type ManagedProcess } from '../../stack/processes.ts';
import { startFixture } from './fixture.ts';
import { fmt, machineInfo, markdownTable, positive, type MachineInfo } from './report.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ARRIVAL_SCRIPT = path.join(ROOT, 'load', 'bench', 'arrival.ts');
const DEFAULT_REPORT_DIR = path.join(ROOT, 'reports', 'bench');
const DEFAULT_RATES = [2000, 4000, 8000, 12800, 16000, 19200, 25600, 32000, 38400];
/** A step holds while the p99 of its arrival lag stays under this, with no dropped iteration and no failed request. */
const LAG_P99_LIMIT_MS = 5;
/**
 * Before each measured step, every generator ramps its arrival rate from 0 to the step's rate over this many seconds in
 * the same run (a warm-up scenario, as a k6 user writes one); nothing of the ramp counts in the step's verdict. A runtime
 * run is a fresh process (as `k6 run` is) whose first fraction of a second runs unoptimised code: started cold at full
 * rate, at 8000/s and up that alone dropped iterations (so did the old runner's first run in a process).
 */
const WARMUP_S = 2;
/** VUs per scenario: far above what a sub-millisecond server needs, so a drop means the generator fell behind. */
const VUS = 1000;
/** Linux reports a process's CPU in /proc/<pid>/stat in USER_HZ ticks, 100 per second on every architecture Node runs on. */
const MS_PER_TICK = 10;
/** The measured load the bench may plan (worst case, every step run twice); the machine is shared. */
const MAX_PLANNED_S = 360;

const USAGE = `usage: npm run bench:load -- [--rates ${DEFAULT_RATES.join(',')}] [--step-seconds 6] [--pause-seconds 1]
                          [--cpu-rate 500] [--cpu-seconds 10] [--cpu-rounds 2] [--report-dir reports/bench]
  Starts a bare node:http server (scripts/bench/bare-http.ts) in its own process. First CPU ms per 1,000 requests of the k6
  runtime (load/bench/arrival.ts through runScript) at --cpu-rate, --cpu-rounds runs of --cpu-seconds each; then steps the
  arrival rate up until a step's arrival lag
  p99 reaches ${LAG_P99_LIMIT_MS} ms, an iteration is dropped or a request fails (a breaking step is run once more to confirm).
  Every run ramps from 0 to its rate over ${WARMUP_S} s first, outside the figures. Prints a table, writes
  reports/bench/load-<timestamp>.json.`;

interface Params {
  rates: number[];
  stepSeconds: number;
  pauseSeconds: number;
  cpuRate: number;
  cpuSeconds: number;
  cpuRounds: number;
  reportDir: string;
}

/** What one run of a load generator at one constant arrival rate measured. */
export interface StepMeasure {
  ratePerS: number;
  durationS: number;
  /** Requests the measured step's schedule asks for: rate x duration. */
  expected: number;
  /** Of the measured step (the warm-up ramp's are not counted here). */
  requests: number;
  failed: number;
  dropped: number;
  /** How late the measured step's iterations started against their slots in its schedule (ms). */
  lagMs: { p99: number; max: number; count: number };
  /** Every request of the run, the warm-up ramp's included: what cpuMs paid for. */
  totalRequests: number;
  /** The generator's CPU (user + system) over the run (ramp and step), start-up excluded. */
  cpuMs: number;
  /** The fixture's CPU over the same run: near a full core, it is the server that limits, not the generator. */
  fixtureCpuMs?: number;
  /** Runtime only: the child's whole CPU at exit, and what it had used when its scenarios were scheduled (start-up). */
  processCpuMs?: { total: number; beforeStart: number };
}

type StepFn = (ratePerS: number, durationS: number) => Promise<StepMeasure>;
/** The load generators measured, by name (the runtime; the old runner was another until it was deleted). */
type Generators = Record<string, StepFn>;

interface Step extends StepMeasure {
  attempt: number;
  held: boolean;
  broken: string[];
}

interface SearchResult {
  steps: Step[];
  /** The highest rate whose step held (its confirming run, if it had one, held too); null when even the first broke. */
  sustainedPerS: number | null;
  atSustained?: Step;
  /** The step that broke twice and ended the search; absent when every rate held. */
  firstBroken?: Step;
}

interface CpuResult {
  ratePerS: number;
  durationS: number;
  rounds: StepMeasure[];
  requests: number;
  cpuMs: number;
  /** Over the rounds: what a run of durationS costs per 1,000 requests, its warm-up included. */
  cpuMsPer1000Requests: number;
}

export interface LoadBenchReport {
  bench: 'load';
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  params: Omit<Params, 'reportDir'> & { lagP99LimitMs: number; warmupS: number; vus: number };
  method: Record<string, string>;
  /** Each generator's search and CPU, by name (runtime). */
  generators: Record<string, { search: SearchResult; cpu: CpuResult }>;
  runtimeStartup: { baseline: StepMeasure; cpuMsPer1000RequestsBaselineSubtracted: number };
}

function parseOptions(argv: string[]): Params {
  const { values } = parseArgs({
    args: argv,
    options: {
      rates: { type: 'string' },
      'step-seconds': { type: 'string' },
      'pause-seconds': { type: 'string' },
      'cpu-rate': { type: 'string' },
      'cpu-seconds': { type: 'string' },
      'cpu-rounds': { type: 'string' },
      'report-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const rates = values.rates === undefined ? DEFAULT_RATES : values.rates.split(',').map((r) => positive('rates', r.trim(), 0, true));
  if (rates.some((r, i) => i > 0 && r <= rates[i - 1]!)) throw new Error(`--rates must rise step by step (got ${rates.join(',')})`);
  const p: Params = {
    rates,
    stepSeconds: positive('step-seconds', values['step-seconds'], 6, true),
    pauseSeconds: values['pause-seconds'] === '0' ? 0 : positive('pause-seconds', values['pause-seconds'], 1),
    cpuRate: positive('cpu-rate', values['cpu-rate'], 500, true),
    cpuSeconds: positive('cpu-seconds', values['cpu-seconds'], 10, true),
    cpuRounds: positive('cpu-rounds', values['cpu-rounds'], 2, true),
    reportDir: path.resolve(values['report-dir'] ?? DEFAULT_REPORT_DIR),
  };
  const planned = 2 * rates.length * (WARMUP_S + p.stepSeconds) + p.cpuRounds * (WARMUP_S + p.cpuSeconds);
  if (planned > MAX_PLANNED_S) {
    throw new Error(
      `the plan is up to ${planned} s of load (every rate twice x (${WARMUP_S} s ramp + --step-seconds) + --cpu-rounds x (${WARMUP_S} s ramp + --cpu-seconds)); keep it under ${MAX_PLANNED_S} s`,
    );
  }
  return p;
}

/** user + system CPU ms of a live process, from /proc/<pid>/stat (fields 14 and 15, after the parenthesised comm). */
function processCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
}

/** The k6 runtime: load/bench/arrival.ts in a child process, as `k6 run` would; CPU counted from when its scenarios were scheduled. */
function runtimeStep(url: string, log: (line: string) => void): StepFn {
  return async (ratePerS, durationS) => {
    const run = runScript({
      script: ARRIVAL_SCRIPT,
      env: {
        BENCH_URL: `${url}/`,
        BENCH_RATE: String(ratePerS),
        BENCH_DURATION_S: String(durationS),
        BENCH_VUS: String(VUS),
        BENCH_WARMUP_S: String(WARMUP_S),
        BENCH_LAG_P99_LIMIT_MS: String(LAG_P99_LIMIT_MS),
      },
      handleSummary: false,
      onOutput: (line) => log(`runtime: ${line}`),
    });
    let beforeStart = Number.NaN;
    try {
      await run.started;
      beforeStart = processCpuMs(run.pid!);
    } catch {
      // The run ended before its scenarios started; `done` says why.
    }
    const result = await run.done;
    // 99: a threshold failed, which is the script's own statement that the step broke; the figures below say how.
    if ((result.exitCode !== 0 && result.exitCode !== 99) || !result.summary) {
      throw new Error(`the runtime's run of load/bench/arrival.ts at ${ratePerS}/s exited ${result.exitCode}: ${result.errorTail.slice(-5).join(' | ')}`);
    }
    const m = result.summary.metrics;
    const total = result.cpu.userMs + result.cpu.systemMs;
    return {
      ratePerS,
      durationS,
      expected: ratePerS * durationS,
      // The measured scenario's sub-metrics, which the script's thresholds name.
      requests: m['http_reqs{scenario:arrival}']?.values.count ?? 0,
      failed: m['http_req_failed{scenario:arrival}']?.values.passes ?? 0,
      dropped: m['dropped_iterations{scenario:arrival}']?.values.count ?? 0,
      lagMs: {
        p99: m['arrival_lag{scenario:arrival}']?.values['p(99)'] ?? Number.NaN,
        max: m['arrival_lag{scenario:arrival}']?.values.max ?? Number.NaN,
        count: m['arrival_lag{scenario:arrival}']?.values.count ?? 0,
      },
      totalRequests: m.http_reqs?.values.count ?? 0,
      cpuMs: total - beforeStart,
      processCpuMs: { total, beforeStart },
    };
  };
}


/** The step, with the fixture's CPU over it read from /proc. */
function withFixtureCpu(fixture: ManagedProcess, step: StepFn): StepFn {
  const cpu = (ratePerS: number): number => {
    if (!fixture.running) throw new Error(`the fixture (scripts/bench/bare-http.ts, pid ${fixture.pid}) exited around the ${ratePerS}/s run; its log tail:\n${fixture.tail()}`);
    return processCpuMs(fixture.pid!);
  };
  return async (ratePerS, durationS) => {
    const before = cpu(ratePerS);
    const m = await step(ratePerS, durationS);
    return { ...m, fixtureCpuMs: cpu(ratePerS) - before };
  };
}

function brokenBy(m: StepMeasure): string[] {
  const reasons: string[] = [];
  // Lag is reckoned from the count of started iterations, so after a drop every later slot is off by one gap: drops say it.
  if (m.dropped > 0) reasons.push(`${m.dropped} iterations dropped (all ${VUS} VUs busy)`);
  else if (!(m.lagMs.p99 < LAG_P99_LIMIT_MS)) reasons.push(`arrival lag p99 ${fmt(m.lagMs.p99)} ms >= ${LAG_P99_LIMIT_MS} ms`);
  if (m.failed > 0) reasons.push(`${m.failed} requests failed`);
  if (m.requests < m.expected) reasons.push(`${m.requests} of ${m.expected} requests sent`);
  return reasons;
}

const describe = (m: StepMeasure): string =>
  `${m.requests}/${m.expected} requests, ${m.failed} failed, ${m.dropped} dropped, ` +
  `lag p99 ${fmt(m.lagMs.p99)} ms, max ${fmt(m.lagMs.max)} ms, ` +
  `CPU ${fmt(m.cpuMs, 0)} ms for ${m.totalRequests} requests with the ramp's (${fmt((m.cpuMs / Math.max(1, m.totalRequests)) * 1000, 1)} per 1,000), fixture ${fmt(m.fixtureCpuMs ?? Number.NaN, 0)} ms`;

/**
 * Steps every generator up the same ladder (today the runtime alone; with more than one, they alternate at each rate so
 * drift in the machine's load falls on all alike). A
 * breaking step is run once more (one noisy second on a shared machine is not a limit); the search of a generator ends when
 * that run breaks too.
 */
async function searchSustainedRates(generators: Generators, p: Params, log: (line: string) => void): Promise<Record<string, SearchResult>> {
  const names = Object.keys(generators);
  const results: Record<string, SearchResult> = Object.fromEntries(names.map((n) => [n, { steps: [], sustainedPerS: null }]));
  const searching = new Set(names);
  for (const rate of p.rates) {
    for (const gen of names) {
      if (!searching.has(gen)) continue;
      const r = results[gen]!;
      for (let attempt = 1; attempt <= 2; attempt++) {
        await sleep(p.pauseSeconds * 1000);
        const m = await generators[gen]!(rate, p.stepSeconds);
        const broken = brokenBy(m);
        const step: Step = { ...m, attempt, held: broken.length === 0, broken };
        r.steps.push(step);
        log(`${gen} ${rate}/s (run ${attempt}): ${step.held ? 'held' : `broke: ${broken.join('; ')}`}; ${describe(m)}`);
        if (step.held) {
          r.sustainedPerS = rate;
          r.atSustained = step;
          break;
        }
        if (attempt === 2) {
          r.firstBroken = step;
          searching.delete(gen);
        }
      }
    }
    if (searching.size === 0) break;
  }
  return results;
}

/**
 * CPU per 1,000 requests of each generator at one rate, --cpu-rounds runs each (with more than one generator, alternating
 * which goes first).
 * A runtime run is a fresh process every time (its warm-up in every run).
 */
async function measureCpu(generators: Generators, p: Params, log: (line: string) => void): Promise<Record<string, CpuResult>> {
  const names = Object.keys(generators);
  const rounds: Record<string, StepMeasure[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 1; round <= p.cpuRounds; round++) {
    // Alternate which goes first, so drift in the machine's load falls on each alike.
    for (const gen of round % 2 === 1 ? names : [...names].reverse()) {
      await sleep(p.pauseSeconds * 1000);
      const m = await generators[gen]!(p.cpuRate, p.cpuSeconds);
      // Lag does not matter for CPU per request; a run that did not send every request does.
      const broken = brokenBy(m).filter((r) => !r.startsWith('arrival lag'));
      if (broken.length > 0) throw new Error(`${gen} did not sustain ${p.cpuRate}/s for the CPU measurement (${broken.join('; ')}); lower --cpu-rate`);
      rounds[gen]!.push(m);
      log(`cpu round ${round} ${gen} ${p.cpuRate}/s for ${p.cpuSeconds} s: ${describe(m)}`);
    }
  }
  return Object.fromEntries(
    names.map((gen) => {
      const mine = rounds[gen]!;
      const requests = mine.reduce((n, m) => n + m.totalRequests, 0);
      const cpuMs = mine.reduce((n, m) => n + m.cpuMs, 0);
      const result: CpuResult = { ratePerS: p.cpuRate, durationS: p.cpuSeconds, rounds: mine, requests, cpuMs, cpuMsPer1000Requests: (cpuMs / requests) * 1000 };
      return [gen, result];
    }),
  );
}


const METHOD = {
  fixture: 'scripts/bench/bare-http.ts: node:http answering 200 {"ok":true} on 127.0.0.1, in its own process (its CPU is read separately, never counted as the generator\'s)',
  step:
    `a ramping-arrival-rate warm-up from 0 to the rate over ${WARMUP_S} s, then the measured constant-arrival-rate step, one GET / per iteration, ` +
    'the rate for --step-seconds; a fresh runtime process per run (as k6 run)',
  held:
    `arrival lag p99 < ${LAG_P99_LIMIT_MS} ms over the measured step's iterations, no dropped iteration, no failed request, every scheduled request sent ` +
    '(the ramp counts in none of them); a breaking step is run once more and ends the search only if it breaks again',
  runtimeLag:
    "in the script, for the measured scenario only: Date.now() at iteration start - (exec.scenario.startTime + exec.scenario.iterationInTest * 1000 / rate), " +
    "Trend arrival_lag, p(99) of its sub-metric {scenario:arrival} from the summary (both scenarios run one function, so the step runs the code the ramp optimised); requests, failures and drops from the sub-metrics {scenario:arrival} the script's thresholds name",
  runtimeCpu:
    "the child's user+system CPU at exit (RunResult.cpu) minus what /proc/<pid>/stat showed when its scenarios were scheduled (the 'started' message): " +
    `start-up (tsx compile, module load, setup) excluded; the ${WARMUP_S} s ramp, teardown and summary included, and the ramp's requests counted; ` +
    "cross-check in runtimeStartup: RunResult.cpu minus a rate-1 1 s run's whole CPU",
};

async function main(): Promise<void> {
  const p = parseOptions(process.argv.slice(2));
  const loadStart = os.loadavg();
  const startedAt = new Date();
  const log = (line: string): void => void process.stderr.write(`bench:load ${line}\n`);
  const owner = new ProcessOwner();
  try {
    const fixture = await startFixture(owner, 'bare-http', { PORT: '0' });
    const url = fixture.url;
    log(`fixture at ${url}`);
    const generators: Generators = Object.fromEntries(
      Object.entries({ runtime: runtimeStep(url, log) }).map(([name, step]) => [name, withFixtureCpu(fixture.proc, step)]),
    );
    const baseline = await generators.runtime!(1, 1);
    log(`runtime start-up baseline (rate 1 for 1 s): whole process ${fmt(baseline.processCpuMs!.total, 0)} ms CPU, ${fmt(baseline.processCpuMs!.beforeStart, 0)} ms of it before its scenario started`);
    const cpu = await measureCpu(generators, p, log);
    const search = await searchSustainedRates(generators, p, log);
    const results = Object.fromEntries(Object.keys(generators).map((n) => [n, { search: search[n]!, cpu: cpu[n]! }]));
    const rt = results.runtime!;
    const baselineSubtracted = (rt.cpu.rounds.reduce((n, m) => n + m.processCpuMs!.total - baseline.processCpuMs!.total, 0) / rt.cpu.requests) * 1000;
    const report: LoadBenchReport = {
      bench: 'load',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: machineInfo(loadStart),
      params: {
        rates: p.rates,
        stepSeconds: p.stepSeconds,
        pauseSeconds: p.pauseSeconds,
        cpuRate: p.cpuRate,
        cpuSeconds: p.cpuSeconds,
        cpuRounds: p.cpuRounds,
        lagP99LimitMs: LAG_P99_LIMIT_MS,
        warmupS: WARMUP_S,
        vus: VUS,
      },
      method: METHOD,
      generators: results,
      runtimeStartup: { baseline, cpuMsPer1000RequestsBaselineSubtracted: baselineSubtracted },
    };
    fs.mkdirSync(p.reportDir, { recursive: true });
    const file = path.join(p.reportDir, `load-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    const rows = Object.entries(results).map(([name, { search: s, cpu: c }]) => [
      name,
      s.sustainedPerS === null ? `< ${p.rates[0]}` : `${s.sustainedPerS}${s.atSustained?.attempt === 2 ? ' (held on its rerun)' : ''}`,
      s.atSustained ? fmt(s.atSustained.lagMs.p99) : '-',
      s.firstBroken ? `${s.firstBroken.ratePerS}/s: ${s.firstBroken.broken.join('; ')}` : `held up to ${p.rates.at(-1)}/s`,
      fmt(c.cpuMsPer1000Requests, 1),
    ]);
    process.stdout.write(
      `${markdownTable(['generator', 'sustained /s', 'lag p99 ms at it', 'first break (confirmed)', `CPU ms / 1,000 req, ${p.cpuSeconds} s at ${p.cpuRate}/s`], rows)}\n\n` +
        `runtime CPU with a start-up baseline subtracted instead: ${fmt(baselineSubtracted, 1)} ms / 1,000 req; ` +
        `load average ${report.machine.loadAvgStart[0]} -> ${report.machine.loadAvgEnd[0]} on ${report.machine.cpus} CPUs\n${file}\n`,
    );
  } finally {
    await owner.stopAll();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:load failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
