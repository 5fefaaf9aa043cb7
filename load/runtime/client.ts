// Runs a k6 script in a child process (load/runtime/main.ts, as `k6 run` would) and talks to it over IPC: the one way
// the CLI, the alert harness, the tuner, verify-dashboards and the benchmarks drive load.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import type { ChildMessage, ParentMessage, RunProgress, RunResult } from './protocol.ts';

export type { RunProgress, RunResult };
export type { ScenarioProgress } from './protocol.ts';

export interface RunOptions {
  /** Path of the k6 script (.ts), absolute or relative to cwd. */
  script: string;
  /** k6's -e KEY=VALUE: __ENV is this process's environment overlaid with these, as k6 includes the system env. */
  env?: Record<string, string>;
  /** k6's --include-system-env-vars (default true): false gives __ENV only the env values, so a shell's settings cannot leak in. */
  includeSystemEnv?: boolean;
  /** k6's --out, e.g. ['json=/tmp/points.ndjson']. */
  out?: string[];
  /** Runtime extra, not k6: serve client metrics (loadgen_*) on 127.0.0.1:port (0 = a free port). */
  metricsPort?: number;
  /** false: skip handleSummary and the text summary; the caller reads result.summary. Default true. */
  handleSummary?: boolean;
  onProgress?: (p: RunProgress) => void;
  progressIntervalMs?: number;
  /** Each line the run writes; default: this process's stdout/stderr. */
  onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
  cwd?: string;
}

export interface LoadRun {
  /** Resolves when setup() has returned and the scenarios are scheduled; rejects if the run ends before. */
  started: Promise<{ metricsUrl?: string }>;
  done: Promise<RunResult>;
  /** Runtime extra, not k6: end the test now as if every schedule had run out (gracefulStop, teardown, summary). */
  stop(): Promise<RunResult>;
  /** Runtime extra, not k6: no new iterations of this scenario start until resume; arrivals meanwhile are not dropped ones. */
  pauseScenario(name: string): void;
  resumeScenario(name: string): void;
  /** The child's pid, for process accounting. */
  readonly pid: number | undefined;
}

const MAIN = path.join(import.meta.dirname, 'main.ts');

/** Children still running, stopped if this process exits first. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export function runScript(opts: RunOptions): LoadRun {
  const args = ['run', path.resolve(opts.cwd ?? process.cwd(), opts.script)];
  for (const [k, v] of Object.entries(opts.env ?? {})) args.push('-e', `${k}=${v}`);
  if (opts.includeSystemEnv === false) args.push('--include-system-env-vars=false');
  for (const o of opts.out ?? []) args.push('--out', o);
  if (opts.metricsPort !== undefined) args.push('--metrics-port', String(opts.metricsPort));
  if (opts.handleSummary === false) args.push('--no-summary');
  args.push('--progress-ms', String(opts.progressIntervalMs ?? 1000));
  const child = fork(MAIN, args, {
    cwd: opts.cwd,
    // V8's parallel scavenger wants idle cores, and a load generator shares its machine with the system under test: on
    // 2 cores its helper threads waited behind the services, and a 1-6 ms young-generation pause became arrival lag
    // (at 9600/s: 21 of 99 scavenges over 4 ms with helpers, 1 of 93 without; lag p99 5.7 -> 2.1 ms; docs/benchmarks.md).
    execArgv: ['--single-threaded-gc', '--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: process.env,
  });
  running.add(child);
  const output = opts.onOutput ?? ((line, stream) => (stream === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`));
  const tail: string[] = [];
  for (const [stream, readable] of [['stdout', child.stdout!], ['stderr', child.stderr!]] as const) {
    readline.createInterface({ input: readable }).on('line', (line) => {
      if (stream === 'stderr') {
        tail.push(line);
        if (tail.length > 20) tail.shift();
      }
      output(line, stream);
    });
  }

  let result: RunResult | undefined;
  let startedResolve!: (v: { metricsUrl?: string }) => void;
  let startedReject!: (e: Error) => void;
  const started = new Promise<{ metricsUrl?: string }>((resolve, reject) => {
    startedResolve = resolve;
    startedReject = reject;
  });
  started.catch(() => undefined);
  child.on('message', (m: ChildMessage) => {
    if (m.type === 'started') startedResolve({ metricsUrl: m.metricsUrl });
    else if (m.type === 'progress') opts.onProgress?.(m.progress);
    else if (m.type === 'result') result = m.result;
  });
  const done = new Promise<RunResult>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      const final: RunResult = result ?? {
        exitCode: code ?? 1,
        exports: {},
        cpu: { userMs: 0, systemMs: 0 },
        errorTail: [...tail, `the run exited ${signal ? `on ${signal}` : `with ${code}`} before reporting a result`],
      };
      startedReject(new Error(`the load run of ${opts.script} ended (exit ${final.exitCode}) before its scenarios started: ${final.errorTail.slice(-3).join(' | ')}`));
      resolve(final);
    });
  });

  const tell = (m: ParentMessage): void => {
    if (child.connected) child.send(m);
  };
  return {
    started,
    done,
    stop() {
      // The run bounds itself: gracefulStop per scenario, then teardownTimeout.
      tell({ type: 'stop' });
      return done;
    },
    pauseScenario: (scenario) => tell({ type: 'pause', scenario }),
    resumeScenario: (scenario) => tell({ type: 'resume', scenario }),
    get pid() {
      return child.pid;
    },
  };
}
