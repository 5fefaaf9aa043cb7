// Runs a test's scenarios: each on its open-model schedule, with a pool of VUs (preAllocatedVUs up to maxVUs), an
// arrival with no free VU counted in dropped_iterations, and after the schedule gracefulStop for in-flight iterations
// before they are interrupted. Pause/resume of a scenario is ours, not k6's (the alert harness stops order flow).
import { setMaxListeners } from 'node:events';
import { scheduleMs, type ScenarioSpec, type TestOptions } from './options.ts';
import { arrivalOffsetsMs } from './schedule.ts';
import { Interrupted, iterationContext, TestAbort, type IterationContext, type ScenarioInfo, type TestState, type Vu } from './state.ts';

export type ExecFn = (data: unknown) => unknown;

export interface ScenarioProgress {
  started: number;
  completed: number;
  interrupted: number;
  dropped: number;
  activeVUs: number;
  paused: boolean;
}

/** Resolves true at `due` (performance.now() ms), false as soon as `signal` aborts. */
export function sleepUntil(due: number, signal: AbortSignal): Promise<boolean> {
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

/** Time a hard-stopped iteration gets to settle before the run stops waiting for it. */
const SETTLE_MS = 2000;

class ScenarioRun {
  readonly progress: ScenarioProgress = { started: 0, completed: 0, interrupted: 0, dropped: 0, activeVUs: 0, paused: false };
  readonly scheduling = new AbortController();
  readonly hard = new AbortController();
  private readonly free: Vu[] = [];
  private allocated = 0;
  private nextIteration = 0;
  /** Iterations running now, and who waits for that to reach 0 (drain). */
  private inFlight = 0;
  private onIdle: (() => void) | undefined;
  private readonly tags: Record<string, string>;
  private timer: NodeJS.Timeout | undefined;
  private wake: ((due: boolean) => void) | undefined;

  constructor(
    readonly spec: ScenarioSpec,
    private readonly test: TestRunner,
    private readonly fn: ExecFn,
  ) {
    // Every in-flight request listens on the hard-stop signal; at high rates far more than Node's warning limit of 10.
    setMaxListeners(0, this.hard.signal);
    this.tags = { ...test.options.tags, scenario: spec.name, group: '', ...spec.tags };
    for (let i = 0; i < spec.preAllocatedVUs; i++) this.free.push(this.allocate());
    // One listener for the whole schedule, not one per arrival: stop() wakes the waiting loop at once.
    this.scheduling.signal.addEventListener(
      'abort',
      () => {
        clearTimeout(this.timer);
        this.wake?.(false);
      },
      { once: true },
    );
  }

  /** Resolves true at `due` (performance.now() ms), false as soon as scheduling stops. */
  private waitUntil(due: number): Promise<boolean> {
    if (this.scheduling.signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => {
        this.wake = undefined;
        resolve(true);
      }, due - performance.now());
    });
  }

  private allocate(): Vu {
    this.allocated++;
    this.test.state.instance.vusInitialized++;
    return { idInTest: this.test.nextVuId(), idInInstance: this.test.state.instance.vusInitialized, iterations: 0, iterationInScenario: 0, tags: {} };
  }

  get vus(): number {
    return this.allocated;
  }

  /** What k6/execution tells about this scenario; made once it has started. */
  private info: ScenarioInfo | undefined;

  private iterate(vu: Vu): void {
    const state = this.test.state;
    vu.iterationInScenario = vu.iterations;
    vu.iterations++;
    this.progress.started++;
    this.progress.activeVUs++;
    state.instance.vusActive++;
    const ctx: IterationContext = { vu, scenario: this.info, iterationInTest: this.nextIteration++, tags: this.tags, group: state.rootGroup, signal: this.hard.signal };
    this.inFlight++;
    // runIteration settles every outcome itself and never rejects. No promise is chained onto it: on Node 20 each promise
    // made inside an iteration passes through AsyncLocalStorage's promise hooks, so fewer promises is less CPU per arrival.
    void iterationContext.run(ctx, () => this.runIteration(vu));
  }

  /** Resolves once no iteration of this scenario is running. */
  private idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.onIdle;
      this.onIdle = () => {
        previous?.();
        resolve();
      };
    });
  }

  private async runIteration(vu: Vu): Promise<void> {
    const state = this.test.state;
    const t0 = performance.now();
    try {
      await this.fn(this.test.data);
      this.finished(t0);
    } catch (err) {
      if (err instanceof Interrupted || err instanceof TestAbort || this.hard.signal.aborted) {
        this.progress.interrupted++;
        state.instance.iterationsInterrupted++;
      } else {
        // As in k6, an exception ends the iteration, is logged, and the iteration still counts as run.
        state.warn(`error in scenario ${this.spec.name}: ${err instanceof Error ? err.message : String(err)}`);
        this.finished(t0);
      }
    } finally {
      this.progress.activeVUs--;
      state.instance.vusActive--;
      if (!this.hard.signal.aborted) this.free.push(vu);
      if (--this.inFlight === 0 && this.onIdle !== undefined) {
        const wake = this.onIdle;
        this.onIdle = undefined;
        wake();
      }
    }
  }

  private finished(t0: number): void {
    const state = this.test.state;
    this.progress.completed++;
    state.instance.iterationsCompleted++;
    const now = Date.now();
    state.registry.add(state.builtins.iterations, 1, this.tags, now);
    state.registry.add(state.builtins.iteration_duration, performance.now() - t0, this.tags, now);
  }

  async run(testStart: number): Promise<void> {
    if (!(await this.waitUntil(testStart + this.spec.startTimeMs))) return;
    const startTime = Date.now();
    const spec = this.spec;
    this.info = { name: spec.name, executor: spec.executor, startTime, progress: () => Math.min(1, (Date.now() - startTime) / Math.max(1, scheduleMs(spec))) };
    const start = performance.now();
    let withoutWait = 0;
    for (const offset of arrivalOffsetsMs(this.spec)) {
      const due = start + offset;
      if (due > performance.now()) {
        withoutWait = 0;
        if (!(await this.waitUntil(due))) break;
      } else if (this.scheduling.signal.aborted) {
        break;
      } else if (++withoutWait % 256 === 0) {
        // Behind schedule, the due arrivals start back to back (as in k6); let I/O in now and then.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (this.progress.paused) continue;
      const vu = this.free.pop() ?? (this.allocated < this.spec.maxVUs ? this.allocate() : undefined);
      if (vu) {
        this.iterate(vu);
      } else {
        this.progress.dropped++;
        this.test.state.registry.add(this.test.state.builtins.dropped_iterations, 1, this.tags);
      }
    }
    // gracefulStop counts from the end of the scenario's duration, not from its last arrival.
    if (start + scheduleMs(this.spec) > performance.now()) await this.waitUntil(start + scheduleMs(this.spec));
    await this.drain();
  }

  /** gracefulStop for what is in flight, then interrupt it. */
  private async drain(): Promise<void> {
    const all = (): Promise<void> => this.idle();
    if (this.inFlight === 0) return;
    const grace = new AbortController();
    const graceful = this.hard.signal.aborted ? false : await Promise.race([all().then(() => true), sleepUntil(performance.now() + this.spec.gracefulStopMs, AbortSignal.any([grace.signal, this.hard.signal])).then(() => false)]);
    grace.abort();
    if (graceful) return;
    this.hard.abort();
    const settle = new AbortController();
    await Promise.race([all(), sleepUntil(performance.now() + SETTLE_MS, settle.signal)]);
    settle.abort();
  }
}

export class TestRunner {
  private readonly scenarios: ScenarioRun[];
  private vuIds = 0;
  data: unknown;

  constructor(
    readonly options: TestOptions,
    readonly state: TestState,
    exports: Record<string, unknown>,
  ) {
    this.scenarios = options.scenarios.map((spec) => {
      const fn = exports[spec.exec];
      if (typeof fn !== 'function') {
        throw new TestAbort(`options.scenarios.${spec.name}.exec is '${spec.exec}', but the script exports no function of that name${spec.exec === 'default' ? ' (export default async function)' : ''}`, 104);
      }
      return new ScenarioRun(spec, this, fn as ExecFn);
    });
  }

  nextVuId(): number {
    return ++this.vuIds;
  }

  get vusAllocated(): number {
    return this.scenarios.reduce((n, s) => n + s.vus, 0);
  }

  /** Runs every scenario to its end (schedule, then gracefulStop). */
  async run(data: unknown): Promise<void> {
    this.data = data;
    const start = performance.now();
    await Promise.all(this.scenarios.map((s) => s.run(start)));
  }

  /** No new arrivals; in-flight iterations get their gracefulStop. */
  stop(): void {
    for (const s of this.scenarios) s.scheduling.abort();
  }

  /** No new arrivals and every in-flight iteration interrupted now. */
  abortNow(): void {
    for (const s of this.scenarios) {
      s.scheduling.abort();
      s.hard.abort();
    }
  }

  private scenario(name: string): ScenarioRun {
    const s = this.scenarios.find((x) => x.spec.name === name);
    if (!s) throw new Error(`no scenario '${name}' in this test; it has ${this.scenarios.map((x) => x.spec.name).join(', ')}`);
    return s;
  }

  pause(name: string): void {
    this.scenario(name).progress.paused = true;
  }

  resume(name: string): void {
    this.scenario(name).progress.paused = false;
  }

  progress(): Record<string, ScenarioProgress> {
    return Object.fromEntries(this.scenarios.map((s) => [s.spec.name, { ...s.progress }]));
  }
}
