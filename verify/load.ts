// The baseline load (the k6 script load/scenarios/baseline.ts, run by load/runtime) underneath the control window and every fault.
import type { RunProgress, RunResult } from '../load/runtime/client.ts';
import { runScenario, scenarioConfig, stackUrls } from '../load/scenario-run.ts';
import type { Stack } from '../stack/index.ts';
import { startAlone } from '../stack/start-gate.ts';
import type { LoadControl } from './scenario.ts';

/** What the report keeps of the load: the latest progress while running, then the run's end. */
export interface LoadStatus {
  progress?: RunProgress;
  exitCode?: number;
  httpReqs?: number;
  httpReqFailedRate?: number;
  checksRate?: number;
}

export interface LoadCrash {
  code: number;
  at: number;
  tail: string[];
}

export interface BaselineLoad {
  control: LoadControl;
  summary(): LoadStatus;
  /** Set when the load ended before stop(): every verdict after it was judged without load. */
  crash(): LoadCrash | undefined;
  stop(): Promise<void>;
}

/** Long enough for any matrix; stop() ends it early. */
const OPEN_ENDED = '6h';

function status(r: RunResult, last: RunProgress | undefined): LoadStatus {
  const m = r.summary?.metrics;
  return { progress: last, exitCode: r.exitCode, httpReqs: m?.http_reqs?.values.count, httpReqFailedRate: m?.http_req_failed?.values.rate, checksRate: m?.checks?.values.rate };
}

export async function startBaselineLoad(stack: Stack, log: (line: string) => void): Promise<BaselineLoad> {
  const urls = stackUrls(stack.serviceUrls);
  const cfg = scenarioConfig(urls);
  let state: LoadStatus = {};
  // A load runtime's start is CPU-heavy; the shards' stacks start theirs one at a time (stack/start-gate.ts).
  const run = await startAlone(async () => {
    const r = runScenario('baseline', {
      urls,
      env: { LOAD_DURATION: OPEN_ENDED },
      handleSummary: false,
      progressIntervalMs: 30_000,
      onOutput: (line) => log(`  load: ${line}`),
      onProgress: (p) => {
        state = { progress: p };
        const flows = Object.entries(p.scenarios).map(([name, s]) => `${name} ${s.completed}${s.dropped ? ` (${s.dropped} dropped)` : ''}${s.paused ? ' (paused)' : ''}`);
        log(`  load: ${p.elapsedS.toFixed(0)} s: ${p.httpReqs} requests, ${p.httpReqsFailed} failed; iterations ${flows.join(', ')}`);
      },
    });
    await r.started;
    return r;
  });
  let stopped: Promise<void> | undefined;
  let crash: LoadCrash | undefined;
  void run.done.then((r) => {
    if (stopped) return;
    crash = { code: r.exitCode, at: Date.now(), tail: r.errorTail };
    log(`baseline load ENDED on its own (exit ${r.exitCode}); verdicts from here on are without load: ${r.errorTail.slice(-3).join(' | ')}`);
  });
  log(`baseline load running (${Object.entries(cfg.rates).map(([f, r]) => `${f} ${r}/s`).join(', ')})`);
  return {
    control: {
      pauseFlow: (n) => run.pauseScenario(n),
      resumeFlow: (n) => run.resumeScenario(n),
      untradedSymbols: cfg.symbols.filter((s) => !cfg.tradeSymbols.includes(s)),
    },
    summary: () => state,
    crash: () => crash,
    stop() {
      stopped ??= run.stop().then((r) => {
        state = status(r, state.progress);
      });
      return stopped;
    },
  };
}
