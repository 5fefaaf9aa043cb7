// The proxy driver: a network fault on the hop in front of a target, through toxiproxy's HTTP API (real toxiproxy,
// or the one our fault proxies serve).
import type { ProxyStep } from '../matrix.ts';
import type { FaultContext } from '../scenario.ts';
import { binding } from './bindings.ts';
import type { Undo } from './index.ts';
import { toxiproxyClient } from './toxiproxy.ts';

export async function injectProxy(step: ProxyStep, ctx: FaultContext): Promise<Undo> {
  const b = binding(ctx, step.target, 'proxy');
  const client = toxiproxyClient(b.api);
  await client.setFault(b.name, step.fault === 'latency' ? { kind: 'latency', ms: step.latencyMs } : { kind: step.fault });
  return () => client.clear(b.name);
}
