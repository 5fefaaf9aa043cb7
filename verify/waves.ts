// Plans the fault matrix into waves: scenarios that touch disjoint parts of the stack and can fire disjoint
// alerts run together, so the matrix finishes fast and no alert is claimed by two faults at once.
import type { ExpectedAlert } from './evaluate.ts';

export interface Plannable {
  id: string;
  /** Parts of the stack the fault touches, e.g. "postgres", "service:orchestrator", "broker", "load:orders". */
  touches: readonly string[];
  /** Parts no concurrent scenario may touch or be tagged with, e.g. "alerts:orchestrator" while the orchestrator is down. */
  excludes?: readonly string[];
  /** Shareable marks that only excludes act on (e.g. "alerts:<service>" for the services an expected alert names). */
  tags?: readonly string[];
  expect: readonly ExpectedAlert[];
  mayAlsoFire: readonly ExpectedAlert[];
  /** Shares its wave with nobody (it takes Prometheus, Alertmanager or delivery away from every other scenario). */
  alone?: boolean;
}

const overlaps = (a: ExpectedAlert, b: ExpectedAlert): boolean =>
  a.alertname === b.alertname && (a.service === undefined || b.service === undefined || a.service === b.service);

/**
 * Two scenarios conflict when either runs alone, when they touch a common part, when one excludes what the other touches, or when an alert
 * one expects may be fired by the other (its detection could not be attributed). Shared collateral is fine: an
 * alert either fault may cause is explained by both.
 */
export function conflicts(a: Plannable, b: Plannable): boolean {
  if (a.alone || b.alone) return true;
  if (a.touches.some((t) => b.touches.includes(t))) return true;
  const excluded = (x: Plannable, y: Plannable): boolean => (x.excludes ?? []).some((t) => y.touches.includes(t) || (y.tags ?? []).includes(t));
  if (excluded(a, b) || excluded(b, a)) return true;
  const expectedBy = (x: Plannable, y: Plannable): boolean => x.expect.some((e) => [...y.expect, ...y.mayAlsoFire].some((o) => overlaps(e, o)));
  return expectedBy(a, b) || expectedBy(b, a);
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
