// The runtime's 'k6' module: check, fail, group, sleep, with k6's semantics (sleep is a timer here; k6 blocks).
import { checkNode, childGroup, contextTags, Interrupted, iterationContext, refuse, testState } from '../state.ts';

type Checker = ((value: unknown) => unknown) | unknown;

/** Runs each check on value, records it in the `checks` rate and in its group; true when all passed. */
export function check(value: unknown, sets: Record<string, Checker>, tags?: Record<string, unknown>): boolean {
  const state = testState();
  const ctx = iterationContext.getStore();
  const group = ctx?.group ?? state.rootGroup;
  const extra = tags === undefined ? {} : Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, String(v)]));
  let all = true;
  for (const [name, checker] of Object.entries(sets)) {
    const result = typeof checker === 'function' ? (checker as (v: unknown) => unknown)(value) : checker;
    if (result instanceof Promise) refuse(`check '${name}' returned a Promise`, 'k6 does not await check functions: await the value first, then check it with a synchronous function');
    const ok = Boolean(result);
    const node = checkNode(group, name);
    if (ok) node.passes++;
    else node.fails++;
    state.registry.add(state.builtins.checks, ok ? 1 : 0, { ...contextTags(), ...extra, check: name });
    all &&= ok;
  }
  return all;
}

/** Throws, which ends the current iteration (k6's fail()). */
export function fail(err?: string): never {
  throw new Error(err ?? 'fail() called');
}

/** Runs a synchronous fn in a named group (checks and samples carry group tag ::name). */
export function group<T>(name: string, fn: () => T): T {
  if (fn.constructor.name === 'AsyncFunction') refuse(`group('${name}') with an async callback`, "k6 does not await it, so its requests would fall outside the group: tag the requests instead (params.tags) or split the flow into scenarios");
  const ctx = iterationContext.getStore();
  const state = testState();
  const parent = ctx?.group ?? state.rootGroup;
  const g = childGroup(parent, name);
  const base = ctx ?? { iterationInTest: 0, tags: state.options?.tags ?? {}, group: parent, signal: new AbortController().signal };
  const result = iterationContext.run({ ...base, group: g, tags: { ...base.tags, group: g.path } }, fn);
  if (result instanceof Promise) refuse(`group('${name}') whose callback returned a Promise`, "k6 does not await it: tag the requests instead (params.tags) or split the flow into scenarios");
  return result;
}

/** Resolves after t seconds; rejects with Interrupted when the iteration is stopped. Write `await sleep(t)` (a no-op await under k6). */
export function sleep(t: number): Promise<void> {
  const signal = iterationContext.getStore()?.signal;
  if (signal?.aborted) return Promise.reject(new Interrupted());
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Interrupted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, t * 1000));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function randomSeed(): never {
  return refuse('randomSeed()', 'Math.random is not seeded by this runtime; derive values from exec.scenario.iterationInTest for repeatable choices');
}

export default { check, fail, group, sleep, randomSeed };
