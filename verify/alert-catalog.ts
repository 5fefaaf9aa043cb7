// What the harness reads from alerts/alerts.json (generated from the catalog): the flat budget, each alert's static
// worst case, and which alerts always fire.
import fs from 'node:fs';
import { z } from 'zod';
import { PROMETHEUS_MAJORS, type PrometheusMajor } from '../alerts/engine.ts';

/** Per Prometheus major: the budget models each version's range semantics (alerts/engine.ts). */
const worstCaseSchema = z.object(Object.fromEntries(PROMETHEUS_MAJORS.map((m) => [m, z.number().nonnegative()])) as Record<PrometheusMajor, z.ZodNumber>);

const alertsJsonSchema = z.object({
  budgetS: z.number().positive(),
  alerts: z.array(z.object({ name: z.string(), worstCaseS: worstCaseSchema, alwaysFiring: z.boolean() })),
});

export interface AlertCatalog {
  /** The flat fault-to-notification budget every alert is held to (60 s). */
  budgetS: number;
  /** Each alert's static worst case from alerts/budget.ts under the Prometheus being judged, by name. */
  worstCaseS: ReadonlyMap<string, number>;
  /** Alerts that fire all the time (the dead man's switch): exempt from precision and from panel checks. */
  alwaysFiring: readonly string[];
}

/** alerts.json, with the worst cases for Prometheus `major` (2, the larger, when the version is not one we model). */
export function loadAlertCatalog(file: string, major: PrometheusMajor = '2'): AlertCatalog {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the alert catalog ${file} (${(err as Error).message}); run npx tsx alerts/generate.ts`);
  }
  const parsed = alertsJsonSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join('.')}: ${issue.message}; regenerate it with npx tsx alerts/generate.ts`);
  }
  const { budgetS, alerts } = parsed.data;
  return { budgetS, worstCaseS: new Map(alerts.map((a) => [a.name, a.worstCaseS[major]])), alwaysFiring: alerts.filter((a) => a.alwaysFiring).map((a) => a.name) };
}
