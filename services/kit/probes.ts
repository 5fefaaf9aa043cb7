// Periodic dependency probes that drive connection-status gauges (1 = reachable, 0 = not) within one probe interval.
import type { Gauge } from 'prom-client';
import { withTimeout } from './service.ts';

export interface Probe {
  gauge: Gauge<string>;
  labels?: Record<string, string>;
  check: () => Promise<unknown>;
}

export interface ProbeRunner {
  /** Runs every probe once now; resolves when all have settled. */
  runOnce(): Promise<void>;
  stop(): void;
}

export function startProbes(probes: Probe[], intervalMs: number): ProbeRunner {
  let running = false;
  const runOnce = async (): Promise<void> => {
    await Promise.all(
      probes.map(async (p) => {
        let up = 0;
        try {
          await withTimeout(p.check(), Math.max(100, Math.min(intervalMs, 2000)), 'probe timed out');
          up = 1;
        } catch {
          up = 0;
        }
        if (p.labels) p.gauge.set(p.labels, up);
        else p.gauge.set(up);
      }),
    );
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void runOnce().finally(() => {
      running = false;
    });
  }, intervalMs);
  timer.unref();
  return { runOnce, stop: () => clearInterval(timer) };
}
