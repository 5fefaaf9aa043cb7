// Finds the binding a driver needs on a target, or says which part of the stack description lacks it.
import type { TargetBindings } from '../../stack/targets.ts';
import type { FaultContext } from '../scenario.ts';

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
