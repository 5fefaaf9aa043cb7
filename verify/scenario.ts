// What a fault scenario is once the matrix (verify/matrix.yaml) is read, and what its drivers get to act on.
import type { Targets } from '../stack/targets.ts';
import type { FaultStep } from './matrix.ts';

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
  log(line: string): void;
}

export interface FaultScenario {
  id: string;
  description: string;
  /** Parts of the stack the fault touches; fault scenarios with a common part never share a wave. */
  touches: string[];
  /** Parts no concurrent fault scenario may touch (a service that is down inhibits alerts about it: "alerts:<service>"). */
  excludes: string[];
  /** Alerts that must fire ("AlertName" or "AlertName/service"). */
  expect: string[];
  /** Collateral alerts this fault may also fire without being a false positive. */
  mayAlsoFire: string[];
  /** Fault-to-notification deadline, seconds. */
  deadlineS?: number;
  /** Recovery-to-resolution budget, seconds. */
  resetS?: number;
  /** Injected in order, recovered in reverse order. */
  faults: FaultStep[];
}

export const DEFAULT_RESET_S = 60;
