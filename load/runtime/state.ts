// The state the k6 modules (k6, k6/http, k6/metrics, k6/execution) read while a script runs: one test per process,
// as with `k6 run`, and per iteration an AsyncLocalStorage context that gives __VU, __ITER and k6/execution their values.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { Builtins, MetricRegistry, Tags } from './metrics.ts';
import type { TestOptions } from './options.ts';

/** k6's exit code for a script error (an exception in init, setup or teardown, or a refused API). */
export const EXIT_SCRIPT_ERROR = 107;
/** k6's exit code for exec.test.abort(). */
export const EXIT_SCRIPT_ABORTED = 108;

/** Thrown into an iteration that the run stopped (after gracefulStop, or on abort): it is counted as interrupted. */
export class Interrupted extends Error {
  constructor() {
    super('iteration interrupted: the test is stopping');
  }
}

/** Ends the whole test with a k6 exit code: a refused API (107) or exec.test.abort() (108). */
export class TestAbort extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface Vu {
  idInTest: number;
  idInInstance: number;
  /** __ITER: iterations this VU has started. */
  iterations: number;
  iterationInScenario: number;
  /** exec.vu.tags: tags the script may set, added to this VU's samples. */
  tags: Record<string, string>;
}

export interface ScenarioInfo {
  name: string;
  executor: string;
  /** Epoch ms when the scenario started. */
  startTime: number;
  progress(): number;
}

export interface IterationContext {
  vu?: Vu;
  scenario?: ScenarioInfo;
  iterationInTest: number;
  /** Tags every sample of this context carries: options.tags, scenario, the scenario's tags, group. */
  tags: Tags;
  group: GroupNode;
  /** Aborted when the iteration must stop (gracefulStop over, or the test aborted). */
  signal: AbortSignal;
}

export interface CheckNode {
  name: string;
  path: string;
  id: string;
  passes: number;
  fails: number;
}

export interface GroupNode {
  name: string;
  path: string;
  id: string;
  groups: Map<string, GroupNode>;
  checks: Map<string, CheckNode>;
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

export function newGroup(name: string, parent?: GroupNode): GroupNode {
  const path = parent === undefined ? '' : `${parent.path}::${name}`;
  return { name, path, id: md5(path), groups: new Map(), checks: new Map() };
}

export function childGroup(parent: GroupNode, name: string): GroupNode {
  let g = parent.groups.get(name);
  if (!g) parent.groups.set(name, (g = newGroup(name, parent)));
  return g;
}

export function checkNode(group: GroupNode, name: string): CheckNode {
  let c = group.checks.get(name);
  if (!c) {
    const path = `${group.path}::${name}`;
    group.checks.set(name, (c = { name, path, id: md5(path), passes: 0, fails: 0 }));
  }
  return c;
}

export type Phase = 'init' | 'setup' | 'vu' | 'teardown' | 'summary';

export interface InstanceCounters {
  iterationsCompleted: number;
  iterationsInterrupted: number;
  vusActive: number;
  vusInitialized: number;
}

export interface TestState {
  phase: Phase;
  env: Record<string, string>;
  registry: MetricRegistry;
  builtins: Builtins;
  rootGroup: GroupNode;
  /** Set once the options are resolved (after the init context). */
  options?: TestOptions;
  /** The options object as the script exported it, for exec.test.options. */
  rawOptions?: unknown;
  startedAt: number;
  instance: InstanceCounters;
  /** Ends the test: refused APIs and exec.test.abort() come through here. */
  abort(reason: TestAbort): void;
  /** A warning line on stderr, once per distinct text. */
  warn(line: string): void;
}

export const iterationContext = new AsyncLocalStorage<IterationContext>();

/** The tags a sample taken now carries, before its own: the context's, with the VU's exec.vu.tags over them. */
export function contextTags(): Tags {
  const ctx = iterationContext.getStore();
  if (!ctx) return current?.options?.tags ?? {};
  const vuTags = ctx.vu?.tags;
  if (vuTags === undefined) return ctx.tags;
  for (const _ in vuTags) return { ...ctx.tags, ...vuTags };
  return ctx.tags;
}

let current: TestState | undefined;

export function setTestState(state: TestState): void {
  current = state;
}

export function testState(): TestState {
  if (!current) throw new Error('the k6 modules only work inside a script run by the alertproof runtime (npm run load, or load/runtime/main.ts run <script>)');
  return current;
}

/** Refuses an API outside the profile: the test stops with exit 107 and this one line. */
export function refuse(feature: string, alternative: string): never {
  const abort = new TestAbort(`${feature} is outside the profile this runtime runs (see load/README.md); ${alternative}`, EXIT_SCRIPT_ERROR);
  current?.abort(abort);
  throw abort;
}

/** Defines __VU and __ITER on the global object, read from the running iteration as k6 gives them (0 outside). */
export function installGlobals(env: Record<string, string>): void {
  Object.defineProperties(globalThis, {
    __ENV: { value: env, configurable: true, writable: true },
    __VU: { get: () => iterationContext.getStore()?.vu?.idInTest ?? 0, configurable: true },
    __ITER: { get: () => Math.max(0, (iterationContext.getStore()?.vu?.iterations ?? 1) - 1), configurable: true },
  });
}
