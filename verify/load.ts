// The k6-style baseline load (load/scenarios/baseline.ts) run underneath the control window and every fault.
import { startLoad, type Progress } from '../load/runner/engine.ts';
import type { Summary } from '../load/runner/summary.ts';
import { baseline } from '../load/scenarios/baseline.ts';
import { loadConfig, SERVICES, type ServiceUrls } from '../load/lib/config.ts';
import type { Stack } from './stack/index.ts';
import type { LoadControl } from './scenario.ts';

export interface BaselineLoad {
  control: LoadControl;
  /** The latest progress while running, the final summary once stopped. */
  summary(): Progress | Summary | undefined;
  stop(): Promise<void>;
}

/** Long enough for any matrix; stop() ends it early. */
const OPEN_ENDED_S = 6 * 3600;

export async function startBaselineLoad(stack: Stack, log: (line: string) => void): Promise<BaselineLoad> {
  const urls = {} as ServiceUrls;
  for (const name of SERVICES) {
    const svc = stack.services[name];
    if (!svc) throw new Error(`baseline load needs ${name}, which this stack did not start`);
    urls[name] = svc.url;
  }
  const cfg = loadConfig(process.env);
  let last: Progress | Summary | undefined;
  const run = startLoad(baseline(cfg), {
    urls,
    durationS: OPEN_ENDED_S,
    reportDir: null,
    progressIntervalMs: 30_000,
    onProgress: (p) => {
      last = p;
      const flows = Object.entries(p.flows).map(([name, f]) => `${name} ${f.requests} req/${f.failures} failed${f.paused ? ' (paused)' : ''}`);
      log(`  load: ${p.elapsedS.toFixed(0)} s: ${flows.join(', ')}`);
    },
  });
  await run.started;
  log(`baseline load running (${Object.entries(cfg.rates).map(([f, r]) => `${f} ${r}/s`).join(', ')})`);
  let stopped: Promise<void> | undefined;
  return {
    control: {
      pauseFlow: (n) => run.pauseFlow(n),
      resumeFlow: (n) => run.resumeFlow(n),
      untradedSymbols: cfg.symbols.filter((s) => !cfg.tradeSymbols.includes(s)),
    },
    summary: () => last,
    stop() {
      stopped ??= run.stop().then((s) => {
        last = s;
      });
      return stopped;
    },
  };
}
