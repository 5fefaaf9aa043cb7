// The messages between load/runtime/client.ts (the parent) and a run (load/runtime/main.ts, the child) over Node's IPC channel.
import type { ScenarioProgress } from './engine.ts';
import type { SummaryData } from './summary-data.ts';

export type { ScenarioProgress };

export interface RunProgress {
  elapsedS: number;
  scenarios: Record<string, ScenarioProgress>;
  httpReqs: number;
  httpReqsFailed: number;
}

export interface RunResult {
  /** k6's exit codes: 0 ok, 99 thresholds failed (also when one aborted the test), 100 setup timeout, 104 invalid
   *  options (anything outside the profile there too), 105 stopped by a signal, 107 script error (an exception in init,
   *  setup or teardown, or a refused API such as sync http.get), 108 exec.test.abort(). */
  exitCode: number;
  /** What handleSummary receives; undefined when the run failed before the test could start. */
  summary?: SummaryData;
  /** JSON-serializable named exports other than options and functions (stress's `knee`); k6 ignores them. */
  exports: Record<string, unknown>;
  /** CPU the run's process used. */
  cpu: { userMs: number; systemMs: number };
  /** The run's last stderr lines, to explain an exit other than 0 or 99. */
  errorTail: string[];
}

export type ParentMessage = { type: 'stop' } | { type: 'pause'; scenario: string } | { type: 'resume'; scenario: string };

export type ChildMessage = { type: 'started'; metricsUrl?: string } | { type: 'progress'; progress: RunProgress } | { type: 'result'; result: RunResult };
