// Open-model arrival schedules: when each iteration of a scenario starts, from its rate alone, never from how fast
// responses come back. Iteration i starts when the integral of the rate reaches i, so iteration 0 starts at 0 and
// `rate` per `timeUnit` yields exactly that many starts per timeUnit (k6's arrival-rate executors).
import type { ScenarioSpec } from './options.ts';

/** Offsets in ms from the scenario's start (after its startTime) of successive iterations. */
export function* arrivalOffsetsMs(spec: ScenarioSpec): Generator<number, void, void> {
  if (spec.executor === 'constant-arrival-rate') {
    const gap = spec.timeUnitMs / spec.rate;
    for (let i = 0; ; i++) {
      const t = i * gap;
      if (t >= spec.durationMs - 1e-9) return;
      yield t;
    }
  }
  let segStart = 0;
  let r0 = spec.startRate / spec.timeUnitMs;
  let cumulative = 0;
  let i = 0;
  for (const stage of spec.stages) {
    const d = stage.durationMs;
    const r1 = stage.target / spec.timeUnitMs;
    const segCount = ((r0 + r1) / 2) * d;
    // Solve cumulative + r0*x + a*x^2 = i for x in [0, d); the rationalized root is stable for a = 0 and a < 0.
    const a = d > 0 ? (r1 - r0) / (2 * d) : 0;
    while (d > 0 && i < cumulative + segCount - 1e-9) {
      const need = Math.max(0, i - cumulative);
      const denom = r0 + Math.sqrt(Math.max(0, r0 * r0 + 4 * a * need));
      const x = denom > 0 ? (2 * need) / denom : 0;
      if (x >= d) break;
      yield segStart + x;
      i++;
    }
    cumulative += segCount;
    segStart += d;
    r0 = r1;
  }
}
