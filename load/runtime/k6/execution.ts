// The runtime's 'k6/execution' module: what the running iteration, its VU, its scenario and the test know about themselves.
import { EXIT_SCRIPT_ABORTED, iterationContext, TestAbort, testState, type IterationContext } from '../state.ts';

function inVu(what: string): IterationContext & Required<Pick<IterationContext, 'vu' | 'scenario'>> {
  const ctx = iterationContext.getStore();
  if (!ctx?.vu || !ctx.scenario) throw new Error(`exec.${what} is only available inside an iteration (VU code), as in k6`);
  return ctx as IterationContext & Required<Pick<IterationContext, 'vu' | 'scenario'>>;
}

const scenario = {
  get name(): string {
    return inVu('scenario.name').scenario.name;
  },
  get executor(): string {
    return inVu('scenario.executor').scenario.executor;
  },
  get startTime(): number {
    return inVu('scenario.startTime').scenario.startTime;
  },
  get progress(): number {
    return inVu('scenario.progress').scenario.progress();
  },
  /** One instance runs the whole test here, so the instance's numbering is the test's. */
  get iterationInInstance(): number {
    return inVu('scenario.iterationInInstance').iterationInTest;
  },
  get iterationInTest(): number {
    return inVu('scenario.iterationInTest').iterationInTest;
  },
};

const vu = {
  get idInInstance(): number {
    return iterationContext.getStore()?.vu?.idInInstance ?? 0;
  },
  get idInTest(): number {
    return iterationContext.getStore()?.vu?.idInTest ?? 0;
  },
  get iterationInInstance(): number {
    return Math.max(0, inVu('vu.iterationInInstance').vu.iterations - 1);
  },
  get iterationInScenario(): number {
    return inVu('vu.iterationInScenario').vu.iterationInScenario;
  },
  get tags(): Record<string, string> {
    return inVu('vu.tags').vu.tags;
  },
  get metrics(): { tags: Record<string, string>; metadata: Record<string, string> } {
    return { tags: inVu('vu.metrics.tags').vu.tags, metadata: {} };
  },
};

const instance = {
  get iterationsCompleted(): number {
    return testState().instance.iterationsCompleted;
  },
  get iterationsInterrupted(): number {
    return testState().instance.iterationsInterrupted;
  },
  get vusActive(): number {
    return testState().instance.vusActive;
  },
  get vusInitialized(): number {
    return testState().instance.vusInitialized;
  },
  get currentTestRunDuration(): number {
    return Date.now() - testState().startedAt;
  },
};

const test = {
  /** Stops the test at once; the run exits 108, as k6 does. */
  abort(message?: string): never {
    const abort = new TestAbort(`test aborted by the script${message ? `: ${message}` : ''}`, EXIT_SCRIPT_ABORTED);
    testState().abort(abort);
    throw abort;
  },
  get options(): unknown {
    return testState().rawOptions;
  },
};

export default { scenario, vu, instance, test };
