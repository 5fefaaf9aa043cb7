// The realistic flow mix as executor specs: each flow at its own constant arrival rate, the shape every scenario starts from.
import type { FlowSpec } from '../runner/engine.ts';
import type { ExecutorSpec } from '../runner/executors.ts';
import { FLOWS, type FlowName, type LoadConfig, type LoadService } from './config.ts';
import { createFlows } from './flows.ts';

/**
 * In-flight caps that reflect the services rather than the runner: the orchestrator runs one run at a time (a second
 * gets 409), and churn iterations must not unsubscribe the same symbol concurrently.
 */
function maxInFlight(cfg: LoadConfig, flow: FlowName): number {
  if (flow === 'runs') return 1;
  if (flow === 'subscriptions') return Math.max(1, cfg.churnSymbols.length);
  return cfg.maxInFlight;
}

/** Every flow at `rates` (per second) for durationS; `override` replaces the executor of chosen flows. */
export function flowMix(
  cfg: LoadConfig,
  durationS: number,
  rates: Record<FlowName, number> = cfg.rates,
  override: Partial<Record<FlowName, ExecutorSpec>> = {},
): Record<FlowName, FlowSpec<LoadService>> {
  const flows = createFlows(cfg);
  return Object.fromEntries(
    FLOWS.map((name) => [
      name,
      {
        exec: flows[name],
        executor: override[name] ?? { executor: 'constant-arrival-rate', rate: rates[name], durationS, maxInFlight: maxInFlight(cfg, name) },
      },
    ]),
  ) as Record<FlowName, FlowSpec<LoadService>>;
}
