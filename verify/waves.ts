// Plans the fault matrix into waves: scenarios that touch disjoint parts of the stack and can fire disjoint
// alerts run together, so the matrix finishes fast and no alert is claimed by two faults at once.
import type { ExpectedAlert } from './evaluate.ts';

export interface Plannable {
  id: string;
  /** Parts of the stack the fault touches, e.g. "postgres", "service:orchestrator", "broker", "load:orders". */
  touches: readonly string[];
  expect: readonly ExpectedAlert[];
  mayAlsoFire: readonly ExpectedAlert[];
}

const overlaps = (a: ExpectedAlert, b: ExpectedAlert): boolean =>
  a.alertname === b.alertname && (a.service === undefined || b.service === undefined || a.service === b.service);

export function conflicts(a: Plannable, b: Plannable): boolean {
  if (a.touches.some((t) => b.touches.includes(t))) return true;
  const alertsA = [...a.expect, ...a.mayAlsoFire];
  const alertsB = [...b.expect, ...b.mayAlsoFire];
  return alertsA.some((x) => alertsB.some((y) => overlaps(x, y)));
}

/** First-fit: each scenario joins the first wave it conflicts with nobody in, in declaration order. */
export function planWaves<T extends Plannable>(scenarios: readonly T[], maxPerWave = Infinity): T[][] {
  const waves: T[][] = [];
  for (const s of scenarios) {
    const wave = waves.find((w) => w.length < maxPerWave && w.every((o) => !conflicts(o, s)));
    if (wave) wave.push(s);
    else waves.push([s]);
  }
  return waves;
}
