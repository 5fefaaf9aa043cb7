// The load driver: pauses flows (k6 scenarios) of the baseline load until recovery.
import type { LoadStep } from '../matrix.ts';
import type { FaultContext } from '../scenario.ts';
import type { Undo } from './index.ts';

export async function injectLoad(step: LoadStep, ctx: FaultContext): Promise<Undo> {
  const load = ctx.load;
  if (!load) throw new Error(`pausing ${step.pause.join(', ')} needs the baseline load running`);
  for (const flow of step.pause) load.pauseFlow(flow);
  return async () => {
    for (const flow of step.pause) load.resumeFlow(flow);
  };
}
