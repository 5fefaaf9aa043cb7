// Finds the binding a driver needs on a target, or says which part of the stack description lacks it.
import type { TargetBindings } from '../../stack/targets.ts';
import type { FaultContext, FaultScenario } from '../scenario.ts';
import { stepDriver } from '../matrix.ts';

/** Which attach-file field provides each binding, for error messages. */
const FIELD: Record<keyof TargetBindings, string> = {
  url: 'url',
  process: 'signal (or compose)',
  proxy: 'proxy',
  brokerAdmin: 'brokerAdmin',
  databases: 'databases',
  config: 'config file (only a Prometheus or Alertmanager the harness starts has one; attach files bind none)',
};

export function binding<K extends keyof TargetBindings>(ctx: FaultContext, target: string, key: K): NonNullable<TargetBindings[K]> {
  const t = ctx.targets[target];
  if (!t) throw new Error(`no target "${target}" in this stack (targets: ${Object.keys(ctx.targets).sort().join(', ')})`);
  const b = t[key];
  if (b === undefined) throw new Error(`target "${target}" has no ${FIELD[key]}, which this fault needs`);
  return b as NonNullable<TargetBindings[K]>;
}

/** The binding key each driver reads on its target; the planner checks them all before anything is injected. */
export const BINDING_OF = { signal: 'process', proxy: 'proxy', broker: 'brokerAdmin', http: 'url', sql: 'databases', config: 'config' } as const;

/**
 * Drivers only a stack the harness started can take: a config fault rewrites the file a daemon runs, and only a
 * started stack runs a copy of its own (an attached one runs the operator's files, e.g. the repository's, mounted).
 */
export const STARTED_STACK_ONLY: readonly string[] = ['config'];

/** Whether a fault scenario can run against an attached stack at all. */
export function attachable(s: FaultScenario): boolean {
  return !s.faults.some((f) => STARTED_STACK_ONLY.includes(stepDriver(f)));
}
