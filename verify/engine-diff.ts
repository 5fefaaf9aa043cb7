// The recorded promtool input (alerts/tests/*.yml) run through both rule engines alertproof proves on, Prometheus 2.42
// and 3.x, and compared per alert: the expression's condition at every evaluation step, the value it compares with its
// threshold, and the first step the condition holds in each firing case. `npx tsx verify/engine-diff.ts [--out dir]`.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { PROMETHEUS_MAJORS, type PrometheusMajor } from '../alerts/engine.ts';
import { ALERTS_DIR, ROOT_DIR, seconds } from '../alerts/model.ts';
import { thresholdOf, type Threshold } from '../alerts/promql.ts';
import { expandValues, seriesLabels, type Slot } from '../alerts/promtool-series.ts';
import { startHttpDaemon } from '../stack/http-daemon.ts';
import { ProcessOwner } from '../stack/processes.ts';
import { PROMETHEUS_3_VERSION, ensurePrometheusTools, missingBinaries, prometheusBuild, prometheusTools, type PrometheusTools } from '../stack/prometheus-version.ts';
import { writeEngineDiffReport, summaryLines } from './engine-diff-report.ts';
import { PrometheusApi, type Labels, type RangeSeries } from './prometheus-api.ts';
import { loadRules, type RuleInfo } from './rules.ts';

// tests/engine-diff.test.ts reads the threshold parser from here; it lives in alerts/promql.ts.
export { thresholdOf, type Threshold };

/** Passed to both engines (it is also both defaults and promtool's): how long an instant selector sees a sample. */
const LOOKBACK_S = 300;
/** Cases start on 5-minute boundaries, so every sample and evaluation lies on the 5 s grid of every case. */
const ALIGN_S = 300;
/** The newest sample is this old when the run starts: backfilled blocks lie wholly before the head Prometheus opens. */
const DATA_AGE_S = 3 * 3600;
const QUERIES_IN_FLIGHT = 8;

/**
 * A synthetic series that tells the engines apart: counted over 20 s at a step that falls on a sample, 2.x's
 * left-closed window holds 5 samples, 3.x's left-open one 4. If both answer alike, the harness cannot see a difference.
 */
export const PROBE = { series: 'alertproof_engine_diff_probe', values: '0+1x11', query: 'count_over_time(alertproof_engine_diff_probe[20s])', atS: 40, intervalS: 5 } as const;

export interface CaseSeries {
  labels: Labels;
  slots: Slot[];
}

/** One promtool test case, its input expanded. */
export interface EngineCase {
  file: string;
  name: string;
  /** Seconds between input samples. */
  intervalS: number;
  /** Seconds between evaluations (the file's evaluation_interval). */
  stepS: number;
  series: CaseSeries[];
  /** Alerts its alert_rule_test entries check, in file order. */
  alertnames: string[];
  /** For each alert the case expects to fire: the first eval_time (s) at which it expects it. */
  firingCheckS: Record<string, number>;
  /** Last evaluation, in seconds after the first sample: the later of the last checked eval_time and the last sample. */
  endS: number;
}

interface TestFile {
  evaluation_interval?: string;
  tests?: {
    name?: string;
    interval?: string;
    input_series?: { series: string; values: string | number }[];
    alert_rule_test?: { eval_time: string; alertname: string; exp_alerts?: unknown[] | null }[];
  }[];
}

/** Every test case of the promtool test files in dir (*.yml, sorted). */
export function loadCases(dir: string): EngineCase[] {
  const out: EngineCase[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const doc = YAML.parse(fs.readFileSync(path.join(dir, file), 'utf8'), { maxAliasCount: -1 }) as TestFile | null;
    const stepS = seconds(doc?.evaluation_interval ?? '1m');
    (doc?.tests ?? []).forEach((t, i) => {
      const intervalS = t.interval ? seconds(t.interval) : stepS;
      const series = (t.input_series ?? []).map((s) => ({ labels: seriesLabels(s.series), slots: expandValues(String(s.values)) }));
      const checks = t.alert_rule_test ?? [];
      const alertnames = [...new Set(checks.map((c) => c.alertname))];
      const firingCheckS: Record<string, number> = {};
      for (const c of checks) {
        if ((c.exp_alerts?.length ?? 0) === 0) continue;
        const atS = seconds(c.eval_time);
        firingCheckS[c.alertname] = Math.min(firingCheckS[c.alertname] ?? Infinity, atS);
      }
      const lastSampleS = Math.max(0, ...series.map((s) => (s.slots.length - 1) * intervalS));
      const endS = Math.max(lastSampleS, ...checks.map((c) => seconds(c.eval_time)));
      out.push({ file, name: t.name ?? `test ${i + 1}`, intervalS, stepS, series, alertnames, firingCheckS, endS: Math.ceil(endS / stepS) * stepS });
    });
  }
  if (out.length === 0) throw new Error(`no promtool test cases in ${dir}`);
  return out;
}

export interface PlacedCase {
  case: EngineCase;
  /** Unix seconds of the case's first sample (and first evaluation). */
  startS: number;
}

export interface Layout {
  cases: PlacedCase[];
  probeStartS: number;
  fromS: number;
  toS: number;
  /** Least time between one case's last evaluation and the next case's first sample. */
  separationS: number;
}

const ceilTo = (v: number, unit: number): number => Math.ceil(v / unit) * unit;

/**
 * Every case (and the probe) in its own stretch of time, one Prometheus per version for all of them: the stretches lie
 * further apart than the lookback plus the longest range window, so no case sees another's samples (they share series).
 */
export function layOut(cases: readonly EngineCase[], opts: { nowS: number; longestRangeS: number }): Layout {
  const separationS = LOOKBACK_S + opts.longestRangeS + Math.max(...cases.map((c) => c.stepS));
  const probeEndS = (expandValues(PROBE.values).length - 1) * PROBE.intervalS;
  const slotS = (endS: number): number => ceilTo(endS + separationS + 1, ALIGN_S);
  const totalS = slotS(probeEndS) + cases.reduce((n, c) => n + slotS(c.endS), 0);
  const fromS = Math.floor((opts.nowS - DATA_AGE_S - totalS) / ALIGN_S) * ALIGN_S;
  let at = fromS + slotS(probeEndS);
  const placed = cases.map((c) => {
    const p = { case: c, startS: at };
    at += slotS(c.endS);
    return p;
  });
  return { cases: placed, probeStartS: fromS, fromS, toS: at, separationS };
}

export interface BackfillInput {
  text: string;
  series: number;
  samples: number;
  /** Stale markers the input holds, left out: OpenMetrics text has no way to write one. */
  staleOmitted: number;
  casesWithStale: string[];
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const formatValue = (v: number): string => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));

export function labelsKey(labels: Labels): string {
  const { __name__: name, ...rest } = labels;
  const body = Object.keys(rest)
    .sort()
    .map((k) => `${k}="${escapeLabel(rest[k]!)}"`)
    .join(',');
  return `${name ?? ''}{${body}}`;
}

/**
 * The layout as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`: untyped samples with timestamps in
 * seconds, in time order (the block writer refuses a sample far older than the newest it has taken).
 */
export function backfillInput(layout: Layout): BackfillInput {
  const lines: { t: number; line: string }[] = [];
  const keys = new Set<string>();
  let staleOmitted = 0;
  const casesWithStale: string[] = [];
  const add = (labels: Labels, slots: readonly Slot[], startS: number, intervalS: number): number => {
    const key = labelsKey(labels);
    let stale = 0;
    slots.forEach((slot, i) => {
      if (slot === 'stale') stale++;
      if (typeof slot !== 'number') return;
      const t = startS + i * intervalS;
      keys.add(key);
      lines.push({ t, line: `${key} ${formatValue(slot)} ${t}` });
    });
    return stale;
  };
  add({ __name__: PROBE.series }, expandValues(PROBE.values), layout.probeStartS, PROBE.intervalS);
  for (const p of layout.cases) {
    const stale = p.case.series.reduce((n, s) => n + add(s.labels, s.slots, p.startS, p.case.intervalS), 0);
    if (stale > 0) casesWithStale.push(`${p.case.file}: ${p.case.name}`);
    staleOmitted += stale;
  }
  lines.sort((a, b) => a.t - b.t);
  return { text: `${lines.map((l) => l.line).join('\n')}\n# EOF\n`, series: keys.size, samples: lines.length, staleOmitted, casesWithStale };
}

/** One engine on the backfilled input: its API and what it says it is. */
interface Engine {
  major: PrometheusMajor;
  tools: PrometheusTools;
  api: PrometheusApi;
  version: string;
}

async function startEngine(owner: ProcessOwner, tools: PrometheusTools, inputFile: string): Promise<Engine> {
  const what = `Prometheus ${tools.major}`;
  const dir = owner.tempDir(`prometheus${tools.major}`);
  const data = path.join(dir, 'data');
  const backfill = owner.spawn({ name: `promtool${tools.major}-backfill`, command: tools.promtool, args: ['tsdb', 'create-blocks-from', 'openmetrics', inputFile, data] });
  const code = await backfill.exited();
  if (backfill.wasStopped) throw new Error(`${what}: the run was interrupted while ${tools.promtool} was backfilling`);
  if (code !== 0) throw new Error(`${tools.promtool} tsdb create-blocks-from openmetrics ${inputFile} exited with ${code}:\n${backfill.tail()}`);
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(config, '# No scrape targets and no rules: engine-diff only queries the backfilled blocks.\nscrape_configs: []\n');
  const { url } = await startHttpDaemon(owner, {
    what: `prometheus${tools.major}`,
    command: tools.prometheus,
    configFile: config,
    dataDir: data,
    timeoutMs: 30_000,
    args: ({ dataDir, listenAddress }) => [
      `--config.file=${config}`,
      `--storage.tsdb.path=${dataDir}`,
      // The input is hours to days old; the default 15 d would keep it too, this says it must stay.
      '--storage.tsdb.retention.time=10y',
      `--query.lookback-delta=${LOOKBACK_S}s`,
      `--web.listen-address=${listenAddress}`,
    ],
  });
  return { major: tools.major, tools, api: new PrometheusApi(url, { timeoutMs: 30_000 }), version: (await prometheusBuild(url)).version };
}

function parseSampleValue(v: string): number {
  if (v === '+Inf' || v === 'Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}

/** An expression's answer at each step of one case: series (by labels key) and their values, by seconds after the start. */
type Trace = Map<number, Map<string, number>>;

function traceOf(result: RangeSeries[], startS: number): Trace {
  const trace: Trace = new Map();
  for (const s of result) {
    const key = labelsKey(s.metric);
    for (const [t, v] of s.values) {
      const atS = Math.round(t - startS);
      if (!trace.has(atS)) trace.set(atS, new Map());
      trace.get(atS)!.set(key, parseSampleValue(v));
    }
  }
  return trace;
}

export type ByVersion<T> = Record<PrometheusMajor, T>;

export interface StepDifference {
  /** Seconds after the case's first sample. */
  atS: number;
  /** A stale marker left out of the backfill would have hidden a series from instant selectors at this step. */
  staleShadowed?: true;
  condition: ByVersion<boolean>;
  /** Series the full expression returned. */
  series: ByVersion<string[]>;
  /** The compared value by series, when the expression has a threshold. */
  values?: ByVersion<Record<string, number>>;
}

export interface ValueDifference {
  atS: number;
  series: string;
  values: ByVersion<number>;
  diff: number;
}

/** One alert over one test case. */
export interface CaseComparison {
  file: string;
  case: string;
  steps: number;
  conditionDiffs: StepDifference[];
  /** Steps at which each version's condition held. */
  trueSteps: ByVersion<number>;
  /** In a case that expects the alert to fire: the first eval_time at which it expects it (s after the start). */
  firingCheckS?: number;
  /**
   * With firingCheckS: the step at which the condition became true for the stretch that still holds at that check,
   * which is what starts the alert's `for` and so moves detection time; null when it does not hold at the check.
   */
  becameTrueS?: ByVersion<number | null>;
  /** Largest absolute difference of the compared value where both versions have a number for a series. */
  largestValueDiff?: ValueDifference;
  /** Steps at which a series' compared value is a number under one version only (absent or NaN under the other). */
  valueOnOneSide: number;
}

export interface AlertComparison {
  alertname: string;
  file: string;
  expr: string;
  threshold?: Threshold;
  cases: CaseComparison[];
  conditionDiffers: boolean;
  conditionDiffSteps: number;
  largestValueDiff?: ValueDifference & { case: string };
}

export interface EngineRun {
  major: PrometheusMajor;
  version: string;
  prometheus: string;
  /** The promtool that wrote this engine's blocks: each version's own. */
  promtool: string;
  /** Series the engine holds over the whole input, from count(last_over_time({__name__=~".+"}[...])). */
  seriesLoaded: number;
}

export interface EngineDiffReport {
  startedAt: string;
  wallS: number;
  testsDir: string;
  rulesDir: string;
  engines: EngineRun[];
  input: { cases: number; series: number; samples: number; staleOmitted: number; casesWithStale: string[]; fromS: number; toS: number; separationS: number };
  probe: { query: string; atS: number; values: ByVersion<number | null> };
  alerts: AlertComparison[];
  /** Alerts whose condition differs at some step of some case. */
  versionDependent: string[];
  /** Alert rules no test case checks, so not compared. */
  unchecked: string[];
}

function largest(a: ValueDifference | undefined, b: ValueDifference | undefined): ValueDifference | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.diff > a.diff ? b : a;
}

/**
 * Where, in seconds after the case starts, a stale marker left out of the backfill would have hidden a series from
 * instant selectors: from the marker until the series' next sample, at most as long as the sample before it stays
 * within the lookback.
 */
export function staleShadows(c: EngineCase): { fromS: number; toS: number }[] {
  const out: { fromS: number; toS: number }[] = [];
  for (const s of c.series) {
    s.slots.forEach((slot, i) => {
      if (slot !== 'stale') return;
      let prev = i - 1;
      while (prev >= 0 && typeof s.slots[prev] !== 'number') prev--;
      if (prev < 0) return;
      const next = s.slots.findIndex((v, k) => k > i && typeof v === 'number');
      const fromS = i * c.intervalS;
      const toS = Math.min(next < 0 ? Infinity : next * c.intervalS, prev * c.intervalS + LOOKBACK_S + c.intervalS);
      if (toS > fromS) out.push({ fromS, toS });
    });
  }
  return out;
}

/** One value per version. */
export function byVersion<T>(f: (major: PrometheusMajor) => T): ByVersion<T> {
  return Object.fromEntries(PROMETHEUS_MAJORS.map((m) => [m, f(m)])) as ByVersion<T>;
}

/** Compares the engines' traces of one alert over one case: the full expression's, and the compared value's. */
export function compareCase(c: EngineCase, alertname: string, condition: ByVersion<Trace>, value: ByVersion<Trace> | undefined): CaseComparison {
  const [a, b] = PROMETHEUS_MAJORS;
  const conditionDiffs: StepDifference[] = [];
  const trueSteps = byVersion(() => 0);
  const heldAt = byVersion(() => new Set<number>());
  let largestValueDiff: ValueDifference | undefined;
  let valueOnOneSide = 0;
  let steps = 0;
  const shadows = staleShadows(c);
  for (let atS = 0; atS <= c.endS; atS += c.stepS) {
    steps++;
    const held = byVersion((m) => [...(condition[m].get(atS)?.keys() ?? [])].sort());
    for (const m of PROMETHEUS_MAJORS) {
      if (held[m].length === 0) continue;
      trueSteps[m]++;
      heldAt[m].add(atS);
    }
    const values = value && byVersion((m) => Object.fromEntries(value[m].get(atS) ?? []));
    if (values) {
      let oneSided = false;
      for (const key of new Set([...Object.keys(values[a]), ...Object.keys(values[b])])) {
        const va = values[a][key];
        const vb = values[b][key];
        const numA = va !== undefined && !Number.isNaN(va);
        const numB = vb !== undefined && !Number.isNaN(vb);
        if (numA !== numB) oneSided = true;
        if (!numA || !numB || va === vb) continue;
        largestValueDiff = largest(largestValueDiff, { atS, series: key, values: byVersion((m) => (m === a ? va : vb)), diff: Math.abs(va - vb) });
      }
      if (oneSided) valueOnOneSide++;
    }
    if (held[a].join('\n') !== held[b].join('\n')) {
      const staleShadowed = shadows.some((w) => atS >= w.fromS && atS < w.toS);
      conditionDiffs.push({ atS, ...(staleShadowed ? { staleShadowed } : {}), condition: byVersion((m) => held[m].length > 0), series: held, ...(values ? { values } : {}) });
    }
  }
  const checkS = c.firingCheckS[alertname];
  const becameTrueS = (m: PrometheusMajor, atS: number): number | null => {
    if (!heldAt[m].has(atS)) return null;
    let from = atS;
    while (heldAt[m].has(from - c.stepS)) from -= c.stepS;
    return from;
  };
  return {
    file: c.file,
    case: c.name,
    steps,
    conditionDiffs,
    trueSteps,
    ...(checkS === undefined ? {} : { firingCheckS: checkS, becameTrueS: byVersion((m) => becameTrueS(m, checkS)) }),
    ...(largestValueDiff ? { largestValueDiff } : {}),
    valueOnOneSide,
  };
}

/** Runs fn over items with at most `limit` in flight, results in item order. */
async function inFlight<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export interface EngineDiffOptions {
  testsDir?: string;
  rulesDir?: string;
  /** The binaries per version; default prometheusTools() of each, which must exist. */
  tools?: ByVersion<PrometheusTools>;
  /** Unix seconds the input is placed before; default now. */
  nowS?: number;
  log?: (line: string) => void;
}

/** What runEngineDiff needs that may be missing: the Prometheus 3 build (ensure-tools makes it). */
export function missingTools(tools: ByVersion<PrometheusTools> = defaultTools()): string[] {
  return PROMETHEUS_MAJORS.flatMap((m) => missingBinaries(tools[m]));
}

function defaultTools(): ByVersion<PrometheusTools> {
  return { '2': prometheusTools('2'), '3': prometheusTools('3') };
}

/** Loads the recorded input into one Prometheus per version, queries every checked alert over every case, compares. */
export async function runEngineDiff(opts: EngineDiffOptions = {}): Promise<EngineDiffReport> {
  const started = Date.now();
  const log = opts.log ?? (() => undefined);
  const testsDir = opts.testsDir ?? path.join(ALERTS_DIR, 'tests');
  const rulesDir = opts.rulesDir ?? path.join(ALERTS_DIR, 'rules');
  const tools = opts.tools ?? defaultTools();
  const missing = missingTools(tools);
  if (missing.length > 0) throw new Error(`${missing.join(' and ')} missing; scripts/ensure-tools --prometheus 3 builds Prometheus ${PROMETHEUS_3_VERSION}`);

  const rules = new Map<string, RuleInfo>(loadRules(rulesDir).map((r) => [r.alertname, r]));
  const cases = loadCases(testsDir);
  for (const c of cases) {
    const unknown = c.alertnames.filter((a) => !rules.has(a));
    if (unknown.length > 0) throw new Error(`${c.file}: "${c.name}" checks ${unknown.join(', ')}, which no rule in ${rulesDir} defines; regenerate the tests`);
  }
  const layout = layOut(cases, { nowS: opts.nowS ?? Math.floor(Date.now() / 1000), longestRangeS: Math.max(...[...rules.values()].map((r) => r.longestRangeS)) });
  const input = backfillInput(layout);
  log(`input: ${cases.length} cases, ${input.series} series, ${input.samples} samples, ${input.staleOmitted} stale markers left out`);

  const owner = new ProcessOwner();
  try {
    const inputFile = path.join(owner.tempDir('input'), 'input.om');
    fs.writeFileSync(inputFile, input.text);
    const engines = await Promise.all(PROMETHEUS_MAJORS.map((m) => startEngine(owner, tools[m], inputFile)));

    const runs: EngineRun[] = [];
    for (const e of engines) {
      const rangeS = layout.toS - layout.fromS + LOOKBACK_S;
      const answer = await e.api.query(`count(last_over_time({__name__=~".+"}[${rangeS}s]))`, layout.toS);
      const seriesLoaded = Number(answer[0]?.value[1] ?? 0);
      if (seriesLoaded !== input.series) {
        throw new Error(`Prometheus ${e.version} holds ${seriesLoaded} series of the ${input.series} backfilled by ${e.tools.promtool}; its blocks were not loaded (is the input older than --storage.tsdb.retention.time?)`);
      }
      runs.push({ major: e.major, version: e.version, prometheus: e.tools.prometheus, promtool: e.tools.promtool, seriesLoaded });
    }
    const probeAnswers = await Promise.all(engines.map((e) => e.api.query(PROBE.query, layout.probeStartS + PROBE.atS)));
    const probeValues = byVersion((m) => {
      const sample = probeAnswers[engines.findIndex((e) => e.major === m)]![0];
      return sample ? parseSampleValue(sample.value[1]) : null;
    });

    interface Job {
      placed: PlacedCase;
      rule: RuleInfo;
      threshold?: Threshold;
    }
    const jobs: Job[] = layout.cases.flatMap((placed) =>
      placed.case.alertnames.map((a) => {
        const rule = rules.get(a)!;
        const threshold = thresholdOf(rule.expr);
        return { placed, rule, ...(threshold ? { threshold } : {}) };
      }),
    );
    const traces = async (e: Engine, expr: string, p: PlacedCase): Promise<Trace> =>
      traceOf(await e.api.queryRange(expr, p.startS, p.startS + p.case.endS, p.case.stepS), p.startS);
    const answered = await Promise.all(
      engines.map((e) =>
        inFlight(jobs, QUERIES_IN_FLIGHT, async (j) => ({
          condition: await traces(e, j.rule.expr, j.placed),
          value: j.threshold ? await traces(e, j.threshold.lhs, j.placed) : undefined,
        })),
      ),
    );
    const answerOf = (m: PrometheusMajor, i: number): { condition: Trace; value: Trace | undefined } => answered[engines.findIndex((e) => e.major === m)]![i]!;

    const alerts = new Map<string, AlertComparison>();
    jobs.forEach((j, i) => {
      const condition = byVersion((m) => answerOf(m, i).condition);
      const value = j.threshold ? byVersion((m) => answerOf(m, i).value!) : undefined;
      const cmp = compareCase(j.placed.case, j.rule.alertname, condition, value);
      if (!alerts.has(j.rule.alertname)) {
        alerts.set(j.rule.alertname, { alertname: j.rule.alertname, file: j.rule.file, expr: j.rule.expr, ...(j.threshold ? { threshold: j.threshold } : {}), cases: [], conditionDiffers: false, conditionDiffSteps: 0 });
      }
      const alert = alerts.get(j.rule.alertname)!;
      alert.cases.push(cmp);
      alert.conditionDiffSteps += cmp.conditionDiffs.length;
      alert.conditionDiffers = alert.conditionDiffSteps > 0;
      const widest = largest(alert.largestValueDiff, cmp.largestValueDiff);
      if (widest && widest !== alert.largestValueDiff) alert.largestValueDiff = { ...widest, case: cmp.case };
    });
    const compared = [...alerts.values()].sort((x, y) => x.alertname.localeCompare(y.alertname));
    return {
      startedAt: new Date(started).toISOString(),
      wallS: (Date.now() - started) / 1000,
      testsDir: path.relative(ROOT_DIR, testsDir),
      rulesDir: path.relative(ROOT_DIR, rulesDir),
      engines: runs,
      input: { cases: cases.length, series: input.series, samples: input.samples, staleOmitted: input.staleOmitted, casesWithStale: input.casesWithStale, fromS: layout.fromS, toS: layout.toS, separationS: layout.separationS },
      probe: { query: PROBE.query, atS: PROBE.atS, values: probeValues },
      alerts: compared,
      versionDependent: compared.filter((a) => a.conditionDiffers).map((a) => a.alertname),
      unchecked: [...rules.keys()].filter((a) => !alerts.has(a)).sort(),
    };
  } finally {
    await owner.stopAll();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const outDir = path.resolve(values.out ?? path.join(ROOT_DIR, 'reports', `engine-diff-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  const tools = { '2': ensurePrometheusTools('2'), '3': ensurePrometheusTools('3') };
  const report = await runEngineDiff({ tools, log });
  const files = writeEngineDiffReport(outDir, report);
  for (const line of summaryLines(report)) log(line);
  log(`report: ${files.md}\n        ${files.json}`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`engine-diff: ${err instanceof Error ? err.message : String(err)}\n`);
      // No process.exit: on Ctrl-C the ProcessOwner's handler is still stopping the engines, and exits when done.
      process.exitCode = 1;
    },
  );
}
