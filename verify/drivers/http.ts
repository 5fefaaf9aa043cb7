// The http driver: calls on a target's URL, once, a counted number of times, or every few seconds until recovery.
import { loadThresholds, numberOf, type Tuning } from '../../alerts/model.ts';
import { sleep } from '../../stack/ports.ts';
import { adminAuthHeaders } from '../admin-auth.ts';
import { requestJson } from '../http-json.ts';
import type { HttpCount, HttpStep } from '../matrix.ts';
import type { FaultContext } from '../scenario.ts';
import { binding } from './bindings.ts';
import type { Undo } from './index.ts';
import { expand, variablesFor } from './variables.ts';

/** How many calls a count asks for; a multiple of a threshold is rounded up. */
export function resolveCount(count: HttpCount | undefined, thresholds: Record<string, Tuning> = loadThresholds()): number {
  if (count === undefined) return 1;
  if (typeof count === 'number') return count;
  return Math.ceil(count.timesThreshold * numberOf(thresholds[count.of] ?? {}, 'threshold', count.of));
}

interface Call {
  method: string;
  path: string;
  body?: unknown;
}

function caller(base: string, target: string) {
  return (c: Call): Promise<unknown> =>
    requestJson({ what: target, method: c.method, url: `${base}${c.path}`, body: c.body, headers: adminAuthHeaders() });
}

export async function injectHttp(step: HttpStep, ctx: FaultContext): Promise<Undo> {
  const call = caller(binding(ctx, step.target, 'url'), step.target);
  const { count, expect, everyS, ...request } = step.inject;
  const vars = await variablesFor(request, ctx, ['i']);
  const recover = async (): Promise<void> => {
    if (step.recover) await call(expand(step.recover, await variablesFor(step.recover, ctx)));
  };
  if (everyS !== undefined) {
    const loop = { stop: false, done: Promise.resolve() };
    loop.done = (async () => {
      for (let i = 0; !loop.stop; i++) {
        await call(expand(request, { ...vars, i: String(i) })).catch((err: Error) => ctx.log(`  ${step.target}: ${err.message}`));
        const until = Date.now() + everyS * 1000;
        while (!loop.stop && Date.now() < until) await sleep(Math.min(200, until - Date.now()));
      }
    })();
    return async () => {
      loop.stop = true;
      await loop.done;
      await recover();
    };
  }
  const n = resolveCount(count);
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => call(expand(request, { ...vars, i: String(i) }))));
  if (expect) {
    const want = Object.entries(expect);
    const ok = answers.filter((a) => typeof a === 'object' && a !== null && want.every(([k, v]) => JSON.stringify((a as Record<string, unknown>)[k]) === JSON.stringify(v))).length;
    if (ok !== n) throw new Error(`${step.inject.method} ${step.target}${step.inject.path}: ${ok} of ${n} answers had ${JSON.stringify(expect)}`);
    ctx.log(`  ${n} calls ${step.inject.method} ${step.target}${step.inject.path}, every answer ${JSON.stringify(expect)}`);
  }
  return recover;
}
