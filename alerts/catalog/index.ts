// The alert catalogue: every alert's expression, labels, texts, runbook and promtool cases, one file per category
// (builders.ts holds the shapes they share). Numbers that are estimates come from alerts/thresholds.yaml;
// alerts/generate.ts renders everything else from here.
import type { AlertDef } from '../model.ts';
import { DATA_QUALITY } from './data-quality.ts';
import { PERFORMANCE } from './performance.ts';
import { SERVICE_HEALTH } from './service-health.ts';
import { TRADING } from './trading.ts';
import { ALERTING } from './alerting.ts';

/** Every alert, in the order the generated files list them. */
export const CATALOG: readonly AlertDef[] = [...SERVICE_HEALTH, ...TRADING, ...DATA_QUALITY, ...PERFORMANCE, ...ALERTING];

/** Names of the alerts that fire all the time (the Watchdog): what every "except the heartbeat" is derived from. */
export const ALWAYS_FIRING: readonly string[] = CATALOG.filter((d) => d.alwaysFiring).map((d) => d.name);
