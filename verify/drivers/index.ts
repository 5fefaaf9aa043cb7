// Injects one fault step through its driver; what it returns undoes it.
import { stepDriver, type FaultStep } from '../matrix.ts';
import type { FaultContext } from '../scenario.ts';
import { injectBroker } from './broker.ts';
import { injectConfig } from './config.ts';
import { injectHttp } from './http.ts';
import { injectLoad } from './load.ts';
import { injectProxy } from './proxy.ts';
import { injectSignal } from './signal.ts';
import { injectSql } from './sql.ts';
import { injectWebhook } from './webhook.ts';

export type Undo = () => Promise<void>;

export function injectStep(step: FaultStep, ctx: FaultContext): Promise<Undo> {
  if ('signal' in step) return injectSignal(step.signal, ctx);
  if ('proxy' in step) return injectProxy(step.proxy, ctx);
  if ('broker' in step) return injectBroker(step.broker, ctx);
  if ('http' in step) return injectHttp(step.http, ctx);
  if ('sql' in step) return injectSql(step.sql, ctx);
  if ('load' in step) return injectLoad(step.load, ctx);
  if ('config' in step) return injectConfig(step.config, ctx);
  if ('webhook' in step) return injectWebhook(step.webhook, ctx);
  throw new Error(`a fault step names no driver: ${JSON.stringify(step)}`);
}

/**
 * Injects the steps in order, stopping at the first that fails. The undo recovers what was injected, in reverse
 * order, each step attempted even if another fails.
 */
export async function injectFaults(steps: readonly FaultStep[], ctx: FaultContext): Promise<{ undo: Undo; error?: Error }> {
  const undos: Undo[] = [];
  const undo: Undo = async () => {
    const errors: string[] = [];
    for (const u of undos.splice(0).reverse()) await u().catch((err: Error) => errors.push(err.message));
    if (errors.length) throw new Error(errors.join('; '));
  };
  for (const [i, step] of steps.entries()) {
    try {
      undos.push(await injectStep(step, ctx));
    } catch (err) {
      return { undo, error: new Error(`faults.${i}.${stepDriver(step)}: ${(err as Error).message}`, { cause: err }) };
    }
  }
  return { undo };
}
