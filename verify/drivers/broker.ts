// The broker driver: fake-alpaca's fault admin API. Recovery puts back what the changed keys held before.
import type { BrokerStep } from '../matrix.ts';
import type { FaultContext } from '../scenario.ts';
import { binding } from './bindings.ts';
import { brokerFaults, type Faults } from './broker-faults.ts';
import type { Undo } from './index.ts';
import { expand, variablesFor } from './variables.ts';

export async function injectBroker(step: BrokerStep, ctx: FaultContext): Promise<Undo> {
  const broker = brokerFaults(binding(ctx, step.target, 'brokerAdmin'));
  const patch = expand(step.set, await variablesFor(step.set, ctx)) as Partial<Faults>;
  const before = await broker.get();
  const restore = Object.fromEntries(Object.keys(patch).map((k) => [k, before[k as keyof Faults]])) as Partial<Faults>;
  await broker.set(patch);
  return async () => {
    await broker.set(restore);
  };
}
