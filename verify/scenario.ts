// What a fault scenario is once the matrix (verify/matrix.yaml) is read, and what its drivers get to act on.
import type { Targets } from '../stack/targets.ts';
import type { FaultStep } from './matrix.ts';
import type { WebhookReceiver } from './webhook.ts';

/** What the baseline load offers the fault drivers while it runs underneath the faults. */
export interface LoadControl {
  pauseFlow(name: string): void;
  resumeFlow(name: string): void;
  /** Symbols of the universe the load never orders (neither direct orders nor orchestration runs trade them). */
  untradedSymbols: readonly string[];
}

export interface FaultContext {
  targets: Targets;
  load?: LoadControl;
  /** The harness's own notification receiver, when notifications come to it (the webhook driver refuses its channels). */
  webhook?: Pick<WebhookReceiver, 'failWith' | 'refused'>;
  log(line: string): void;
}

export interface FaultScenario {
  id: string;
  description: string;
  /** Parts of the stack the fault touches; fault scenarios with a common part never share a wave. */
  touches: string[];
  /** Parts no concurrent fault scenario may touch (a service that is down inhibits alerts about it: "alerts:<service>"). */
  excludes: string[];
  /** Alerts that must fire ("AlertName" or "AlertName/service"); may be empty when the heartbeat is expected to stop. */
  expect: string[];
  /**
   * How an expected alert's delivery is judged when the fault takes the delivery path itself away (default "during":
   * notified within the deadline). "after-recovery": firing within the deadline, and notified once the fault is undone,
   * within the reset budget (Prometheus re-sends what it holds). "none": firing within the deadline; nothing can deliver it.
   */
  delivery: Record<string, Delivery>;
  /**
   * "stops": the dead man's switch must notice the missing heartbeat within the deadline, and see it resume after
   * recovery. "may-stop": the fault can lapse the heartbeat as a side effect (a live Prometheus reload skips a resend,
   * prometheus/prometheus#5277), so an alarm during it is explained, not a false alarm; none is required.
   */
  heartbeat?: 'stops' | 'may-stop';
  /** Runs in a wave of its own (it takes away what every other fault scenario needs: Prometheus, Alertmanager, delivery). */
  alone: boolean;
  /** Collateral alerts this fault may also fire without being a false positive. */
  mayAlsoFire: string[];
  /** Fault-to-notification deadline, seconds. */
  deadlineS?: number;
  /** Recovery-to-resolution budget, seconds. */
  resetS?: number;
  /** Injected in order, recovered in reverse order. */
  faults: FaultStep[];
}

export const DELIVERIES = ['during', 'after-recovery', 'none'] as const;
export type Delivery = (typeof DELIVERIES)[number];

export const DEFAULT_RESET_S = 60;
