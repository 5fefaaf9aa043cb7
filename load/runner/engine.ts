// The load engine: runs a scenario's flows on open-model schedules and returns a summary; startLoad is the API the CLI and the alert harness share.
import { setMaxListeners } from 'node:events';
import { arrivalOffsets, executorDurationS, validateExecutor, withDuration, type ExecutorSpec } from './executors.ts';
import { createHttpClient, HttpTransport, type HttpClient } from './http.ts';
import { assertLoopbackUrl } from '../runtime/loopback.ts';
import { fanOut, RunMetrics, type IterationOutcome, type LoadSink } from './metrics.ts';
import { LoadPromExporter } from './prom.ts';
import { RawTimingsWriter } from './raw.ts';
import { buildSummary, writeSummary, type KneeCriteria, type Summary } from './summary.ts';
import { compileThresholds, evaluateThresholds, type Thresholds } from './thresholds.ts';

export interface FlowContext<S extends string> {
  flow: string;
  /** 0-based sequence number of this iteration within its flow. */
  iteration: number;
  /** A client for one service, tagged with this flow. */
  http(service: S): HttpClient;
  /** Records each named predicate as a pass or fail (a throwing predicate fails); true when all passed. */
  check<T>(value: T, checks: Record<string, (v: T) => boolean>): boolean;
  /** Aborted when the run is stopped hard (after the graceful stop period). */
  signal: AbortSignal;
}

export type FlowFn<S extends string> = (ctx: FlowContext<S>) => Promise<void>;

export interface FlowSpec<S extends string> {
  exec: FlowFn<S>;
  executor: ExecutorSpec;
}

export interface Scenario<S extends string = string> {
  name: string;
  description: string;
  flows: Record<string, FlowSpec<S>>;
  thresholds: Thresholds;
  /** How long in-flight iterations may finish after the schedule ends before they are aborted (default 10 s). */
  gracefulStopS?: number;
  /** When set, the summary reports the first window where latency or errors broke (the stress scenario's knee). */
  knee?: KneeCriteria;
  /** Runs once before the first iteration (k6's setup()), e.g. to make sure the stack has what the flows need; not measured. */
  setup?: (urls: Record<S, string>) => Promise<void>;
}

export interface FlowProgress {
  started: number;
  dropped: number;
  inFlight: number;
  requests: number;
  failures: number;
  paused: boolean;
}

export interface Progress {
  scenario: string;
  elapsedS: number;
  flows: Record<string, FlowProgress>;
}

export interface StartOptions<S extends string> {
  /** Base URL of each service the flows call; every one must be loopback. */
  urls: Record<S, string>;
  /** Aborting it stops the run (gracefully) like stop(). */
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  progressIntervalMs?: number;
  /** Stretches or shrinks the whole scenario (start times and durations alike) to this many seconds. */
  durationS?: number;
  /** NDJSON file for raw per-request timings. */
  rawFile?: string;
  /** Serve the runner's own Prometheus metrics on 127.0.0.1:port (0 = free port). */
  metricsPort?: number;
  /** Folder for the JSON summary; null writes none. */
  reportDir?: string | null;
  requestTimeoutMs?: number;
  /** Exact latency samples kept per series before percentiles fall back to the histogram. */
  sampleCap?: number;
}

export interface LoadRun {
  /** Resolves once the prom endpoint (if any) listens and the flows are scheduled. */
  started: Promise<{ metricsUrl?: string }>;
  /** Resolves with the summary when the schedule has run out (or the run was stopped). */
  done: Promise<Summary>;
  /** Stops scheduling, lets in-flight iterations finish within the graceful period, and resolves with the summary. */
  stop(): Promise<Summary>;
  /** No new iterations of this flow start until resumeFlow; in-flight ones finish. */
  pauseFlow(name: string): void;
  resumeFlow(name: string): void;
}

/** Resolves true at `due` (performance.now() ms), or false as soon as `signal` aborts. */
function sleepUntil(due: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  const delay = due - performance.now();
  if (delay <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, delay);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The scenario with each flow's start time and duration scaled so the whole lasts durationS. */
export function scaleScenario<S extends string>(scenario: Scenario<S>, durationS: number): Scenario<S> {
  if (!(durationS > 0)) throw new Error(`duration must be > 0 s (got ${durationS})`);
  const total = scenarioDurationS(scenario);
  const factor = total > 0 ? durationS / total : 1;
  const flows = Object.fromEntries(
    Object.entries(scenario.flows).map(([name, f]) => {
      const executor = withDuration(f.executor, executorDurationS(f.executor) * factor);
      return [name, { ...f, executor: { ...executor, startTimeS: (f.executor.startTimeS ?? 0) * factor } }];
    }),
  );
  return { ...scenario, flows };
}

export function scenarioDurationS(scenario: Scenario<string>): number {
  return Math.max(0, ...Object.values(scenario.flows).map((f) => (f.executor.startTimeS ?? 0) + executorDurationS(f.executor)));
}

export function startLoad<S extends string>(input: Scenario<S>, opts: StartOptions<S>): LoadRun {
  const scenario = opts.durationS === undefined ? input : scaleScenario(input, opts.durationS);
  const flowNames = Object.keys(scenario.flows);
  if (flowNames.length === 0) throw new Error(`scenario "${scenario.name}" has no flows`);
  for (const [name, f] of Object.entries(scenario.flows)) validateExecutor(name, f.executor);
  for (const [service, url] of Object.entries<string>(opts.urls)) assertLoopbackUrl(url, `URL of ${service}`);
  // Fail before sending anything when a threshold is malformed.
  const thresholds = compileThresholds(scenario.thresholds);

  const metrics = new RunMetrics(flowNames, opts.sampleCap);
  const raw = opts.rawFile ? new RawTimingsWriter(opts.rawFile) : undefined;
  const prom = opts.metricsPort === undefined ? undefined : new LoadPromExporter(flowNames);
  const sinks: LoadSink[] = [metrics];
  if (raw) sinks.push(raw);
  if (prom) sinks.push(prom);
  const sink = fanOut(sinks);
  const transport = new HttpTransport({ timeoutMs: opts.requestTimeoutMs });

  const scheduling = new AbortController();
  const hard = new AbortController();
  // Every in-flight request listens on the hard-stop signal; at high rates that is far more than Node's default warning limit of 10.
  setMaxListeners(0, hard.signal);
  const paused = new Set<string>();
  const inFlight = new Map<string, Set<Promise<void>>>(flowNames.map((n) => [n, new Set()]));
  let metricsUrl: string | undefined;

  const startIteration = (name: string, spec: FlowSpec<S>, iteration: number): void => {
    const clients = new Map<S, HttpClient>();
    const ctx: FlowContext<S> = {
      flow: name,
      iteration,
      signal: hard.signal,
      http(service) {
        let c = clients.get(service);
        if (!c) {
          const url = opts.urls[service];
          if (url === undefined) throw new Error(`flow "${name}" asked for service "${service}", which has no URL in this run`);
          c = createHttpClient(transport, url, name, sink, hard.signal);
          clients.set(service, c);
        }
        return c;
      },
      check(value, checks) {
        let all = true;
        for (const [check, predicate] of Object.entries(checks)) {
          let ok: boolean;
          try {
            ok = predicate(value) === true;
          } catch {
            ok = false;
          }
          sink.onCheck(name, check, ok);
          all &&= ok;
        }
        return all;
      },
    };
    sink.onIterationStart(name);
    const t0 = performance.now();
    const end = (outcome: IterationOutcome, error?: string): void => sink.onIterationEnd(name, outcome, performance.now() - t0, error);
    const running = Promise.resolve()
      .then(() => spec.exec(ctx))
      .then(
        () => end('completed'),
        (err: unknown) => (hard.signal.aborted ? end('interrupted') : end('failed', err instanceof Error ? err.message : String(err))),
      );
    const set = inFlight.get(name)!;
    set.add(running);
    void running.finally(() => set.delete(running));
  };

  const drive = async (name: string, spec: FlowSpec<S>, startAt: number): Promise<void> => {
    const offset0 = (spec.executor.startTimeS ?? 0) * 1000;
    let iteration = 0;
    for (const offset of arrivalOffsets(spec.executor)) {
      if (!(await sleepUntil(startAt + offset0 + offset * 1000, scheduling.signal))) return;
      if (paused.has(name)) continue;
      // Open model: an arrival never waits for a slot; when the flow is at its cap the arrival is dropped and counted.
      if (inFlight.get(name)!.size >= spec.executor.maxInFlight) sink.onDropped(name);
      else startIteration(name, spec, iteration++);
    }
  };

  const drainInFlight = async (): Promise<void> => {
    const all = (): Promise<unknown> => Promise.allSettled([...inFlight.values()].flatMap((s) => [...s]));
    const grace = new AbortController();
    const graceful = await Promise.race([all().then(() => true), sleepUntil(performance.now() + (scenario.gracefulStopS ?? 10) * 1000, grace.signal).then(() => false)]);
    grace.abort();
    if (graceful) return;
    hard.abort();
    // Aborted requests settle at once; a flow that ignores its signal is given a moment, then left behind.
    const settle = new AbortController();
    await Promise.race([all(), sleepUntil(performance.now() + 2000, settle.signal)]);
    settle.abort();
  };

  let progressTimer: NodeJS.Timeout | undefined;
  const progress = (): Progress => {
    const byFlow = new Map<string, { requests: number; failures: number }>();
    for (const s of metrics.requestSeries()) {
      const p = byFlow.get(s.flow) ?? { requests: 0, failures: 0 };
      p.requests += s.requests;
      p.failures += s.failures;
      byFlow.set(s.flow, p);
    }
    const flows: Record<string, FlowProgress> = {};
    for (const name of flowNames) {
      const c = metrics.flow(name);
      flows[name] = { started: c.started, dropped: c.dropped, inFlight: inFlight.get(name)!.size, ...(byFlow.get(name) ?? { requests: 0, failures: 0 }), paused: paused.has(name) };
    }
    return { scenario: scenario.name, elapsedS: metrics.elapsedS(), flows };
  };

  let startedResolve: (v: { metricsUrl?: string }) => void = () => undefined;
  const started = new Promise<{ metricsUrl?: string }>((resolve) => (startedResolve = resolve));
  const onExternalAbort = (): void => scheduling.abort();

  const run = async (): Promise<Summary> => {
    try {
      if (prom) metricsUrl = await prom.listen(opts.metricsPort!);
      if (scenario.setup) {
        try {
          await scenario.setup(opts.urls);
        } catch (err) {
          throw new Error(`scenario ${scenario.name}: setup failed, no load was sent: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
      }
      if (opts.signal?.aborted) scheduling.abort();
      opts.signal?.addEventListener('abort', onExternalAbort, { once: true });
      if (opts.onProgress) {
        const onProgress = opts.onProgress;
        progressTimer = setInterval(() => onProgress(progress()), opts.progressIntervalMs ?? 1000);
      }
      const startAt = performance.now();
      const drivers = Object.entries(scenario.flows).map(([name, spec]) => drive(name, spec, startAt));
      startedResolve({ metricsUrl });
      await Promise.all(drivers);
      await drainInFlight();
    } finally {
      clearInterval(progressTimer);
      opts.signal?.removeEventListener('abort', onExternalAbort);
      metrics.endedAt = Date.now();
      startedResolve({ metricsUrl });
      await Promise.allSettled([transport.close(), prom?.close()]);
      await raw?.close();
    }
    const summary = buildSummary({ scenario, metrics, thresholds: evaluateThresholds(thresholds, metrics), rawFile: raw?.file, metricsUrl });
    if (opts.reportDir !== null) summary.reportFile = writeSummary(summary, opts.reportDir);
    return summary;
  };

  const done = run();
  return {
    started,
    done,
    stop() {
      scheduling.abort();
      return done;
    },
    pauseFlow(name) {
      if (!scenario.flows[name]) throw new Error(`no flow "${name}" in scenario ${scenario.name}; flows: ${flowNames.join(', ')}`);
      paused.add(name);
    },
    resumeFlow(name) {
      if (!scenario.flows[name]) throw new Error(`no flow "${name}" in scenario ${scenario.name}; flows: ${flowNames.join(', ')}`);
      paused.delete(name);
    },
  };
}
