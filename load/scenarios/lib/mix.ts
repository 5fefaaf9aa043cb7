// The realistic flow mix as k6 scenarios: one arrival-rate scenario per flow, the shape every load scenario starts from.
import type { ConstantArrivalRateScenario, RampingArrivalRateScenario, Stage } from 'k6/options';
import { FLOWS, type FlowName, type LoadConfig } from './config.ts';

/** The slowest timeUnit perTimeUnit uses; rates finer than 1/1000 per second are rounded to it. */
const MAX_TIME_UNIT_S = 1000;

/**
 * Rates per second -> whole iterations per one shared k6 timeUnit (k6 wants an integer rate): the smallest whole number
 * of seconds k in 1..1000 that makes every r*k whole, e.g. 0.2/s -> 1 per "5s", [2, 20] -> [2, 20] per "1s"; when none
 * does (0.3333/s), r*1000 rounded per "1000s".
 */
export function perTimeUnit(ratesPerS: readonly number[]): { timeUnit: string; rates: number[] } {
  const whole = (x: number): boolean => Math.abs(x - Math.round(x)) <= 1e-9 * Math.max(1, Math.abs(x));
  for (let k = 1; k <= MAX_TIME_UNIT_S; k++) {
    if (ratesPerS.every((r) => whole(r * k))) return { timeUnit: `${k}s`, rates: ratesPerS.map((r) => Math.round(r * k)) };
  }
  return { timeUnit: `${MAX_TIME_UNIT_S}s`, rates: ratesPerS.map((r) => Math.max(1, Math.round(r * MAX_TIME_UNIT_S))) };
}

/**
 * In-flight caps (k6 maxVUs) that reflect the services rather than the load generator: the orchestrator runs one run at
 * a time (a second gets 409), and churn iterations must not unsubscribe the same symbol concurrently.
 */
export function maxVUsOf(cfg: LoadConfig, flow: FlowName): number {
  if (flow === 'runs') return 1;
  if (flow === 'subscriptions') return Math.max(1, cfg.churnSymbols.length);
  return cfg.maxInFlight;
}

/** VUs ready at the start: enough for iterations of up to a second at the peak rate; k6 adds more up to maxVUs. */
function preAllocatedVUs(peakPerS: number, maxVUs: number): number {
  return Math.min(maxVUs, Math.max(1, Math.ceil(peakPerS)));
}

/** A ramp in the old runner's terms: per-second targets, each reached linearly over its duration. */
export interface RampSpec {
  startRatePerS: number;
  stages: { targetPerS: number; duration: string }[];
  maxVUs: number;
}

export interface MixShape {
  /** Length of every constant flow (a k6 duration). */
  duration: string;
  gracefulStop: string;
  /** Per second; default cfg.rates. */
  rates?: Readonly<Record<FlowName, number>>;
  /** Flows that ramp instead of holding their rate. */
  ramps?: Partial<Record<FlowName, RampSpec>>;
}

export type FlowScenario = ConstantArrivalRateScenario | RampingArrivalRateScenario;

function rampingScenario(flow: FlowName, ramp: RampSpec, gracefulStop: string): RampingArrivalRateScenario {
  const perUnit = perTimeUnit([ramp.startRatePerS, ...ramp.stages.map((s) => s.targetPerS)]);
  const stages: Stage[] = ramp.stages.map((s, i) => ({ target: perUnit.rates[i + 1]!, duration: s.duration }));
  return {
    executor: 'ramping-arrival-rate',
    exec: flow,
    tags: { flow },
    startRate: perUnit.rates[0]!,
    timeUnit: perUnit.timeUnit,
    stages,
    preAllocatedVUs: preAllocatedVUs(Math.max(ramp.startRatePerS, ...ramp.stages.map((s) => s.targetPerS)), ramp.maxVUs),
    maxVUs: ramp.maxVUs,
    gracefulStop,
  };
}

/** One k6 scenario per flow, named after it, running the flow's exported function, its samples tagged {flow}. */
export function flowScenarios(cfg: LoadConfig, shape: MixShape): Record<FlowName, FlowScenario> {
  const rates = shape.rates ?? cfg.rates;
  const scenarios = {} as Record<FlowName, FlowScenario>;
  for (const flow of FLOWS) {
    const ramp = shape.ramps?.[flow];
    if (ramp) {
      scenarios[flow] = rampingScenario(flow, ramp, shape.gracefulStop);
      continue;
    }
    const perUnit = perTimeUnit([rates[flow]]);
    const maxVUs = maxVUsOf(cfg, flow);
    scenarios[flow] = {
      executor: 'constant-arrival-rate',
      exec: flow,
      tags: { flow },
      rate: perUnit.rates[0]!,
      timeUnit: perUnit.timeUnit,
      duration: shape.duration,
      preAllocatedVUs: preAllocatedVUs(rates[flow], maxVUs),
      maxVUs,
      gracefulStop: shape.gracefulStop,
    };
  }
  return scenarios;
}
