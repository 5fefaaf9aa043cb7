// A k6 script's `options`, checked against the profile this runtime runs: open-model scenarios only, with k6's defaults
// filled in. Anything k6 has but the profile leaves out stops the run here, with the k6 feature named and the alternative.

/** k6's exit code for invalid options. */
export const EXIT_INVALID_CONFIG = 104;

export class ProfileError extends Error {
  constructor(
    message: string,
    readonly exitCode = EXIT_INVALID_CONFIG,
  ) {
    super(message);
  }
}

/** Go-style durations as k6 takes them ('1h2m3s', '500ms', '1.5s'); a plain number is milliseconds. Returns ms. */
export function parseDurationMs(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value !== 'string' || value.trim() === '') throw new ProfileError(`${what}: ${JSON.stringify(value)} is not a duration like '30s', '1m30s' or '500ms'`);
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * unit[m[2]!]!;
    at = re.lastIndex;
  }
  if (at !== text.length) throw new ProfileError(`${what}: '${value}' is not a duration like '30s', '1m30s' or '500ms'`);
  return total;
}

export interface RampStage {
  /** Iterations per timeUnit reached at the end of the stage, changing linearly from the previous rate. */
  target: number;
  durationMs: number;
}

interface ScenarioBase {
  name: string;
  exec: string;
  startTimeMs: number;
  gracefulStopMs: number;
  preAllocatedVUs: number;
  maxVUs: number;
  timeUnitMs: number;
  tags: Record<string, string>;
}

export interface ConstantArrivalRate extends ScenarioBase {
  executor: 'constant-arrival-rate';
  rate: number;
  durationMs: number;
}

export interface RampingArrivalRate extends ScenarioBase {
  executor: 'ramping-arrival-rate';
  startRate: number;
  stages: RampStage[];
}

export type ScenarioSpec = ConstantArrivalRate | RampingArrivalRate;

export interface ThresholdSpec {
  threshold: string;
  abortOnFail: boolean;
  delayAbortEvalMs: number;
}

export interface TestOptions {
  scenarios: ScenarioSpec[];
  /** Metric key ('http_req_duration{flow:orders}') to its thresholds. */
  thresholds: Record<string, ThresholdSpec[]>;
  summaryTrendStats: string[];
  summaryTimeUnit: string;
  setupTimeoutMs: number;
  teardownTimeoutMs: number;
  /** options.tags: added to every sample. */
  tags: Record<string, string>;
  discardResponseBodies: boolean;
}

export const DEFAULT_SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'];
const DEFAULT_GRACEFUL_STOP_MS = 30_000;
const DEFAULT_SETUP_TIMEOUT_MS = 60_000;

const OPEN_MODEL = "use options.scenarios with executor 'constant-arrival-rate' (rate, timeUnit, duration, preAllocatedVUs, maxVUs) or 'ramping-arrival-rate' (startRate, timeUnit, stages, preAllocatedVUs, maxVUs)";

/** k6 options this runtime takes. */
const TOP_LEVEL = new Set(['scenarios', 'thresholds', 'summaryTrendStats', 'summaryTimeUnit', 'setupTimeout', 'teardownTimeout', 'tags', 'discardResponseBodies', 'noColor']);
const SHORTCUTS: Record<string, string> = {
  vus: 'options.vus is the shortcut for a closed-model scenario (VUs that loop, each arrival waiting for the last response)',
  duration: 'options.duration is the shortcut for a closed-model constant-vus scenario',
  iterations: 'options.iterations is the shortcut for a closed-model shared-iterations scenario',
  stages: 'options.stages is the shortcut for a closed-model ramping-vus scenario',
};
const CLOSED_EXECUTORS = new Set(['constant-vus', 'ramping-vus', 'shared-iterations', 'per-vu-iterations', 'externally-controlled']);
const SCENARIO_KEYS: Record<ScenarioSpec['executor'], Set<string>> = {
  'constant-arrival-rate': new Set(['executor', 'rate', 'timeUnit', 'duration', 'preAllocatedVUs', 'maxVUs', 'startTime', 'gracefulStop', 'exec', 'tags']),
  'ramping-arrival-rate': new Set(['executor', 'startRate', 'timeUnit', 'stages', 'preAllocatedVUs', 'maxVUs', 'startTime', 'gracefulStop', 'exec', 'tags']),
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function positiveInt(v: unknown, what: string, hint = ''): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ProfileError(`${what} must be a whole number >= 1 (got ${JSON.stringify(v)})${hint}`);
  return v;
}

function stringTags(v: unknown, what: string): Record<string, string> {
  if (v === undefined) return {};
  if (!isRecord(v)) throw new ProfileError(`${what} must be an object of string tags`);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
}

function scenario(name: string, raw: unknown): ScenarioSpec {
  const at = `options.scenarios.${name}`;
  if (!/^[0-9A-Za-z_-]+$/.test(name)) throw new ProfileError(`${at}: a scenario name may only hold letters, digits, '_' and '-'`);
  if (!isRecord(raw)) throw new ProfileError(`${at} must be an object`);
  const executor = raw.executor;
  if (typeof executor !== 'string') throw new ProfileError(`${at}.executor is missing; ${OPEN_MODEL}`);
  if (CLOSED_EXECUTORS.has(executor)) throw new ProfileError(`${at}: executor '${executor}' is a closed model, which this runtime does not run; ${OPEN_MODEL}`);
  if (executor !== 'constant-arrival-rate' && executor !== 'ramping-arrival-rate') throw new ProfileError(`${at}: unknown executor '${executor}'; ${OPEN_MODEL}`);
  for (const key of Object.keys(raw)) {
    if (!SCENARIO_KEYS[executor].has(key)) throw new ProfileError(`${at}.${key} is not an option this runtime takes for ${executor}; it takes ${[...SCENARIO_KEYS[executor]].join(', ')}`);
  }
  const preAllocatedVUs = positiveInt(raw.preAllocatedVUs, `${at}.preAllocatedVUs`, ' (k6 requires it for arrival-rate executors)');
  const maxVUs = raw.maxVUs === undefined ? preAllocatedVUs : positiveInt(raw.maxVUs, `${at}.maxVUs`);
  if (maxVUs < preAllocatedVUs) throw new ProfileError(`${at}.maxVUs (${maxVUs}) must be >= preAllocatedVUs (${preAllocatedVUs})`);
  const base: ScenarioBase = {
    name,
    exec: raw.exec === undefined ? 'default' : String(raw.exec),
    startTimeMs: raw.startTime === undefined ? 0 : parseDurationMs(raw.startTime, `${at}.startTime`),
    gracefulStopMs: raw.gracefulStop === undefined ? DEFAULT_GRACEFUL_STOP_MS : parseDurationMs(raw.gracefulStop, `${at}.gracefulStop`),
    preAllocatedVUs,
    maxVUs,
    timeUnitMs: raw.timeUnit === undefined ? 1000 : parseDurationMs(raw.timeUnit, `${at}.timeUnit`),
    tags: stringTags(raw.tags, `${at}.tags`),
  };
  if (!(base.timeUnitMs > 0)) throw new ProfileError(`${at}.timeUnit must be longer than 0`);
  if (executor === 'constant-arrival-rate') {
    const rate = positiveInt(raw.rate, `${at}.rate`, "; k6 counts whole iterations per timeUnit: for 0.2/s write rate: 1, timeUnit: '5s'");
    const durationMs = parseDurationMs(raw.duration, `${at}.duration`);
    if (!(durationMs > 0)) throw new ProfileError(`${at}.duration must be longer than 0`);
    return { ...base, executor, rate, durationMs };
  }
  const startRate = raw.startRate === undefined ? 0 : raw.startRate;
  if (typeof startRate !== 'number' || !(startRate >= 0)) throw new ProfileError(`${at}.startRate must be a number >= 0`);
  if (!Array.isArray(raw.stages) || raw.stages.length === 0) throw new ProfileError(`${at}.stages must be a non-empty list of { target, duration }`);
  const stages = raw.stages.map((s: unknown, i): RampStage => {
    if (!isRecord(s) || typeof s.target !== 'number' || !(s.target >= 0)) throw new ProfileError(`${at}.stages[${i}].target must be a number >= 0`);
    return { target: s.target, durationMs: parseDurationMs(s.duration, `${at}.stages[${i}].duration`) };
  });
  return { ...base, executor, startRate, stages };
}

function thresholdSpecs(key: string, raw: unknown): ThresholdSpec[] {
  const at = `options.thresholds['${key}']`;
  if (!Array.isArray(raw)) throw new ProfileError(`${at} must be a list, e.g. ['p(95)<250']`);
  return raw.map((t: unknown, i) => {
    if (typeof t === 'string') return { threshold: t, abortOnFail: false, delayAbortEvalMs: 0 };
    if (isRecord(t) && typeof t.threshold === 'string') {
      return {
        threshold: t.threshold,
        abortOnFail: t.abortOnFail === true,
        delayAbortEvalMs: t.delayAbortEval === undefined ? 0 : parseDurationMs(t.delayAbortEval, `${at}[${i}].delayAbortEval`),
      };
    }
    throw new ProfileError(`${at}[${i}] must be a string like 'p(95)<250' or { threshold, abortOnFail, delayAbortEval }`);
  });
}

/** The script's options with k6's defaults, or a ProfileError naming what is outside the profile. */
export function resolveOptions(raw: unknown): TestOptions {
  if (raw === undefined) throw new ProfileError(`the script exports no options, so k6 would run its closed-model default (1 VU, 1 iteration); ${OPEN_MODEL}`);
  if (!isRecord(raw)) throw new ProfileError('export const options must be an object');
  for (const key of Object.keys(raw)) {
    if (key in SHORTCUTS) throw new ProfileError(`${SHORTCUTS[key]}, which this runtime does not run; ${OPEN_MODEL}`);
    if (!TOP_LEVEL.has(key)) throw new ProfileError(`options.${key} is not an option this runtime takes; it takes ${[...TOP_LEVEL].join(', ')}`);
  }
  if (!isRecord(raw.scenarios) || Object.keys(raw.scenarios).length === 0) throw new ProfileError(`options.scenarios is missing or empty; ${OPEN_MODEL}`);
  const thresholds: Record<string, ThresholdSpec[]> = {};
  if (raw.thresholds !== undefined) {
    if (!isRecord(raw.thresholds)) throw new ProfileError("options.thresholds must map a metric to a list, e.g. { http_req_duration: ['p(95)<250'] }");
    for (const [key, list] of Object.entries(raw.thresholds)) thresholds[key] = thresholdSpecs(key, list);
  }
  const trendStats = raw.summaryTrendStats ?? DEFAULT_SUMMARY_TREND_STATS;
  if (!Array.isArray(trendStats) || !trendStats.every((s) => typeof s === 'string')) throw new ProfileError("options.summaryTrendStats must be a list like ['avg', 'p(95)']");
  return {
    scenarios: Object.entries(raw.scenarios).map(([name, s]) => scenario(name, s)),
    thresholds,
    summaryTrendStats: trendStats as string[],
    summaryTimeUnit: typeof raw.summaryTimeUnit === 'string' ? raw.summaryTimeUnit : '',
    setupTimeoutMs: raw.setupTimeout === undefined ? DEFAULT_SETUP_TIMEOUT_MS : parseDurationMs(raw.setupTimeout, 'options.setupTimeout'),
    teardownTimeoutMs: raw.teardownTimeout === undefined ? DEFAULT_SETUP_TIMEOUT_MS : parseDurationMs(raw.teardownTimeout, 'options.teardownTimeout'),
    tags: stringTags(raw.tags, 'options.tags'),
    discardResponseBodies: raw.discardResponseBodies === true,
  };
}

/** How long a scenario schedules arrivals (without startTime or gracefulStop). */
export function scheduleMs(s: ScenarioSpec): number {
  return s.executor === 'constant-arrival-rate' ? s.durationMs : s.stages.reduce((n, st) => n + st.durationMs, 0);
}
