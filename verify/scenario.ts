// What a fault scenario is, what it may touch, and the building blocks scenarios are made of.
import type { Stack, ServiceName } from '../stack/index.ts';
import type { FaultProxy, ProxyMode } from './faults/proxy.ts';
import type { BrokerFaults } from './faults/broker.ts';
import { BUDGET_S } from '../alerts/budget.ts';

/** Every hop the harness routes through a fault proxy: the data stores, the broker, and two service-to-service links. */
export type Dependency = 'postgres' | 'redis' | 'broker' | 'execution-gateway' | 'signal-service';

/** What the load generator offers the harness while the baseline runs underneath the faults. */
export interface LoadControl {
  pauseFlow(name: string): void;
  resumeFlow(name: string): void;
  /** Symbols of the universe the load never orders (neither direct orders nor orchestration runs trade them). */
  untradedSymbols: readonly string[];
}

export interface FaultContext {
  stack: Stack;
  proxies: Record<Dependency, FaultProxy>;
  broker: BrokerFaults;
  load?: LoadControl;
  /** JSON call to a running service; throws with status and body on a non-2xx answer. */
  call(service: ServiceName, method: string, path: string, body?: unknown): Promise<unknown>;
  log(line: string): void;
}

export interface Scenario {
  id: string;
  description: string;
  /** Parts of the stack the fault touches; scenarios with a common part never share a wave. */
  touches: string[];
  /** Parts no concurrent scenario may touch (a service that is down inhibits alerts about it: "alerts:<service>"). */
  excludes?: string[];
  /** Alerts that must fire ("AlertName" or "AlertName/service"). */
  expect: string[];
  /** Collateral alerts this fault may also fire without being a false positive. */
  mayAlsoFire?: string[];
  /** Fault-to-notification deadline, seconds. */
  deadlineS?: number;
  /** Recovery-to-resolution budget, seconds. */
  resetS?: number;
  inject(ctx: FaultContext): Promise<void>;
  recover(ctx: FaultContext): Promise<void>;
}

export const DEFAULT_DEADLINE_S = BUDGET_S;
export const DEFAULT_RESET_S = 60;

export function service(ctx: FaultContext, name: ServiceName) {
  const svc = ctx.stack.services[name];
  if (!svc) throw new Error(`scenario needs ${name}, which this stack did not start`);
  return svc;
}

export const setProxy = (dep: Dependency, mode: ProxyMode) => (ctx: FaultContext) => ctx.proxies[dep].set(mode);
export const passProxy = (dep: Dependency) => setProxy(dep, { kind: 'pass' });
