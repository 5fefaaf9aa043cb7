// Open-model executors: when each iteration starts, computed from the arrival rate alone, never from how fast responses come back.

export interface ConstantArrivalRate {
  executor: 'constant-arrival-rate';
  /** Iterations started per second (fractions allowed: 0.2 = one every 5 s). */
  rate: number;
  durationS: number;
  /** Most iterations running at once (k6's maxVUs); an arrival beyond it is dropped and counted. */
  maxInFlight: number;
  /** Delay from the scenario start before this flow begins. */
  startTimeS?: number;
}

export interface RampStage {
  /** Rate (per second) reached at the end of the stage, changing linearly from the previous rate. */
  target: number;
  durationS: number;
}

export interface RampingArrivalRate {
  executor: 'ramping-arrival-rate';
  startRate: number;
  stages: readonly RampStage[];
  maxInFlight: number;
  startTimeS?: number;
}

export type ExecutorSpec = ConstantArrivalRate | RampingArrivalRate;

export function executorDurationS(spec: ExecutorSpec): number {
  return spec.executor === 'constant-arrival-rate' ? spec.durationS : spec.stages.reduce((s, st) => s + st.durationS, 0);
}

/** The same executor stretched or shrunk to last durationS (ramp stages keep their proportions). */
export function withDuration(spec: ExecutorSpec, durationS: number): ExecutorSpec {
  if (spec.executor === 'constant-arrival-rate') return { ...spec, durationS };
  const total = executorDurationS(spec);
  const scale = total > 0 ? durationS / total : 0;
  return { ...spec, stages: spec.stages.map((s) => ({ ...s, durationS: s.durationS * scale })) };
}

export function validateExecutor(flow: string, spec: ExecutorSpec): void {
  const bad = (msg: string): never => {
    throw new Error(`flow "${flow}": ${msg}`);
  };
  if (!(spec.maxInFlight >= 1)) bad(`maxInFlight must be >= 1 (got ${spec.maxInFlight})`);
  if ((spec.startTimeS ?? 0) < 0) bad('startTimeS must be >= 0');
  if (spec.executor === 'constant-arrival-rate') {
    if (!(spec.rate > 0)) bad(`rate must be > 0 per second (got ${spec.rate})`);
    if (!(spec.durationS > 0)) bad(`durationS must be > 0 (got ${spec.durationS})`);
  } else {
    if (!(spec.startRate >= 0)) bad('startRate must be >= 0');
    if (spec.stages.length === 0) bad('ramping-arrival-rate needs at least one stage');
    for (const s of spec.stages) if (!(s.target >= 0) || !(s.durationS >= 0)) bad('stage target and durationS must be >= 0');
  }
}

/**
 * Offsets (seconds from the flow's start) of successive iterations. Iteration i starts when the integral of the
 * rate reaches i, so iteration 0 starts at 0 and a rate of r yields r starts per second, as k6 does.
 */
export function* arrivalOffsets(spec: ExecutorSpec): Generator<number, void, void> {
  if (spec.executor === 'constant-arrival-rate') {
    for (let i = 0; ; i++) {
      const t = i / spec.rate;
      if (t >= spec.durationS) return;
      yield t;
    }
  }
  let segStart = 0;
  let startRate = spec.startRate;
  let cumulative = 0;
  let i = 0;
  for (const stage of spec.stages) {
    const d = stage.durationS;
    const r0 = startRate;
    const r1 = stage.target;
    const segCount = ((r0 + r1) / 2) * d;
    // Solve cumulative + r0*x + a*x^2 = i for x in [0, d); the rationalized root is stable for a = 0 and a < 0.
    const a = d > 0 ? (r1 - r0) / (2 * d) : 0;
    while (d > 0 && i < cumulative + segCount) {
      const need = Math.max(0, i - cumulative);
      const disc = r0 * r0 + 4 * a * need;
      const denom = r0 + Math.sqrt(Math.max(0, disc));
      const x = denom > 0 ? (2 * need) / denom : 0;
      if (x >= d) break;
      yield segStart + x;
      i++;
    }
    cumulative += segCount;
    segStart += d;
    startRate = r1;
  }
}
