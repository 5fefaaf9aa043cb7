// What the harness reads from alerts/alerts.json (generated from the catalog): the flat budget, each alert's static
// worst case, and which alerts always fire.
import fs from 'node:fs';
import { z } from 'zod';

const alertsJsonSchema = z.object({
  budgetS: z.number().positive(),
  alerts: z.array(z.object({ name: z.string(), worstCaseS: z.number().nonnegative(), alwaysFiring: z.boolean() })),
});

export interface AlertCatalog {
  /** The flat fault-to-notification budget every alert is held to (60 s). */
  budgetS: number;
  /** Each alert's static worst case from alerts/budget.ts, by name. */
  worstCaseS: ReadonlyMap<string, number>;
  /** Alerts that fire all the time (the dead man's switch): exempt from precision and from panel checks. */
  alwaysFiring: readonly string[];
}

export function loadAlertCatalog(file: string): AlertCatalog {
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
  return { budgetS, worstCaseS: new Map(alerts.map((a) => [a.name, a.worstCaseS])), alwaysFiring: alerts.filter((a) => a.alwaysFiring).map((a) => a.name) };
}
