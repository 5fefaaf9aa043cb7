// Reads the fault matrix (verify/matrix.yaml): fault scenarios as data, checked by a schema whose errors name the
// file, the fault scenario and the field. Code lives only in the drivers (verify/drivers/).
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { FAULT_SIGNALS } from '../stack/targets.ts';
import { brokerFaultsPatch } from './drivers/broker-faults.ts';
import { DELIVERIES, type FaultScenario } from './scenario.ts';
import { WEBHOOK_CHANNELS } from './webhook.ts';

export const DEFAULT_MATRIX = path.join(import.meta.dirname, 'matrix.yaml');

const target = z.string().min(1);

const signalStep = z.object({ target, send: z.enum(FAULT_SIGNALS) }).strict();

const proxyStep = z.discriminatedUnion('fault', [
  z.object({ fault: z.literal('latency'), target, latencyMs: z.number().positive() }).strict(),
  z.object({ fault: z.literal('timeout'), target }).strict(),
  z.object({ fault: z.literal('reset'), target }).strict(),
  z.object({ fault: z.literal('down'), target }).strict(),
]);

const brokerStep = z.object({ target: target.default('fake-alpaca'), set: brokerFaultsPatch }).strict();

const httpCall = z.object({ method: z.string().regex(/^[A-Z]+$/, 'an HTTP method in capitals, e.g. POST').default('POST'), path: z.string().startsWith('/'), body: z.unknown().optional() }).strict();

/** How many times an inject call is made: a number, or a multiple of an alert's threshold (alerts/thresholds.yaml). */
const count = z.union([z.number().int().positive(), z.object({ timesThreshold: z.number().positive(), of: z.string().min(1) }).strict()]);

const httpStep = z
  .object({
    target,
    inject: httpCall
      .extend({
        count: count.optional(),
        /** Fields every answer must have, e.g. {status: pending_submit}. */
        expect: z.record(z.unknown()).optional(),
        /** Repeat the call every so many seconds until recovery (a failed call is logged, not fatal). */
        everyS: z.number().positive().optional(),
      })
      .strict()
      .refine((c) => !(c.count && c.everyS), 'give count or everyS, not both'),
    recover: httpCall.optional(),
  })
  .strict();

const sqlStep = z.object({ target: target.default('postgres'), database: z.string().min(1), inject: z.string().min(1), recover: z.string().min(1) }).strict();

const loadStep = z.object({ pause: z.array(z.string().min(1)).min(1) }).strict();

/** A Prometheus duration, e.g. 30s, 1m30s. */
const duration = z.string().regex(/^(\d+(ms|s|m|h|d|w|y))+$/, 'a Prometheus duration, e.g. 30s or 1m30s');

/** One rule as Prometheus' rule files write it: a recording rule (record) or an alerting rule (alert). */
const ruleSpec = z
  .object({
    record: z.string().min(1).optional(),
    alert: z.string().min(1).optional(),
    expr: z.string().min(1),
    for: duration.optional(),
    labels: z.record(z.string()).optional(),
    annotations: z.record(z.string()).optional(),
  })
  .strict()
  .refine((r) => (r.record === undefined) !== (r.alert === undefined), 'give one of record and alert')
  .refine((r) => r.alert !== undefined || (r.for === undefined && r.annotations === undefined), 'for and annotations belong to an alert rule');

/** Exactly one edit of the config a daemon runs (verify/drivers/config.ts). */
const configEdit = z
  .object({
    /** Prometheus: one more rule group in a file of its own in the rules dir. */
    addRuleGroup: z.object({ name: z.string().min(1), interval: duration.optional(), rules: z.array(ruleSpec).min(1) }).strict().optional(),
    /** Prometheus: the scrape job of this name leaves the config. */
    removeScrapeJob: z.string().min(1).optional(),
    /** Prometheus: alerting.alertmanagers leaves the config (alerts are sent nowhere). */
    removeAlertmanagers: z.literal(true).optional(),
    /** Either daemon: the file becomes invalid, and the reload must be refused (the last good config keeps running). */
    break: z.literal(true).optional(),
  })
  .strict()
  .refine((e) => Object.keys(e).length === 1, 'name exactly one edit: addRuleGroup, removeScrapeJob, removeAlertmanagers, break');

const configStep = z.object({ target, edit: configEdit }).strict();

/** The harness's own receiver refuses a channel: the last hop of delivery fails. No target: the harness is not one. */
const webhookStep = z.object({ channel: z.enum(WEBHOOK_CHANNELS), status: z.number().int().min(400).max(599) }).strict();

const DRIVERS = { signal: signalStep, proxy: proxyStep, broker: brokerStep, http: httpStep, sql: sqlStep, load: loadStep, config: configStep, webhook: webhookStep } as const;
export type DriverName = keyof typeof DRIVERS;
const DRIVER_NAMES = Object.keys(DRIVERS) as DriverName[];

const faultStep = z
  .object({
    signal: signalStep.optional(),
    proxy: proxyStep.optional(),
    broker: brokerStep.optional(),
    http: httpStep.optional(),
    sql: sqlStep.optional(),
    load: loadStep.optional(),
    config: configStep.optional(),
    webhook: webhookStep.optional(),
  })
  .strict()
  .refine((s) => Object.keys(s).length === 1, `each step names exactly one driver: ${DRIVER_NAMES.join(', ')}`);

export type SignalStep = z.infer<typeof signalStep>;
export type ProxyStep = z.infer<typeof proxyStep>;
export type BrokerStep = z.infer<typeof brokerStep>;
export type HttpStep = z.infer<typeof httpStep>;
export type HttpCount = z.infer<typeof count>;
export type SqlStep = z.infer<typeof sqlStep>;
export type LoadStep = z.infer<typeof loadStep>;
export type RuleSpec = z.infer<typeof ruleSpec>;
export type ConfigEdit = z.infer<typeof configEdit>;
export type ConfigStep = z.infer<typeof configStep>;
export type WebhookStep = z.infer<typeof webhookStep>;
/** One driver and its parameters. */
export type FaultStep =
  | { signal: SignalStep }
  | { proxy: ProxyStep }
  | { broker: BrokerStep }
  | { http: HttpStep }
  | { sql: SqlStep }
  | { load: LoadStep }
  | { config: ConfigStep }
  | { webhook: WebhookStep };

const alertRef = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*(\/[a-z0-9-]+)?$/, 'an alert name, or AlertName/service');

const scenarioSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case words joined by hyphens'),
    description: z.string().min(1),
    touches: z.array(z.string().min(1)).min(1),
    excludes: z.array(z.string().min(1)).default([]),
    expect: z.array(alertRef).default([]),
    delivery: z.record(alertRef, z.enum(DELIVERIES)).default({}),
    heartbeat: z.enum(['stops', 'may-stop']).optional(),
    alone: z.boolean().default(false),
    mayAlsoFire: z.array(alertRef).default([]),
    deadlineS: z.number().positive().optional(),
    resetS: z.number().positive().optional(),
    faults: z.array(faultStep).min(1),
  })
  .strict();

const matrixSchema = z.object({ scenarios: z.array(z.unknown()).min(1) }).strict();

export class MatrixError extends Error {}

/** The driver a step names, and its parameters. */
export function stepDriver(step: FaultStep): DriverName {
  return Object.keys(step)[0] as DriverName;
}

/** Parses a matrix document; `file` only names it in errors. */
export function parseMatrix(text: string, file: string): FaultScenario[] {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new MatrixError(`${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  const top = matrixSchema.safeParse(doc);
  if (!top.success) {
    const issue = top.error.issues[0]!;
    throw new MatrixError(`${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  const seen = new Set<string>();
  return top.data.scenarios.map((raw, index) => {
    const rawId = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : undefined;
    const where = `${file}: fault scenario ${rawId ?? `#${index + 1}`}`;
    const parsed = scenarioSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new MatrixError(`${where}: ${issue.path.join('.') || '(the scenario)'}: ${issue.message}`);
    }
    const s = parsed.data;
    if (seen.has(s.id)) throw new MatrixError(`${where}: id: another fault scenario has this id`);
    if (s.expect.length === 0 && s.heartbeat !== 'stops') throw new MatrixError(`${where}: expect: name at least one alert, or heartbeat: stops`);
    const stray = Object.keys(s.delivery).find((a) => !s.expect.includes(a));
    if (stray) throw new MatrixError(`${where}: delivery.${stray}: not one of this scenario's expect`);
    seen.add(s.id);
    return { ...s, faults: s.faults as FaultStep[] };
  });
}

export function loadMatrix(file = DEFAULT_MATRIX): FaultScenario[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new MatrixError(`${file}: cannot read the fault matrix (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseMatrix(text, path.relative(process.cwd(), file) || file);
}
