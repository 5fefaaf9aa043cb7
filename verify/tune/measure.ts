// Baseline measurement: a stack in tuning mode, the baseline load for a bounded time, then the exact samples (GET /tuning),
// the client's raw timings, and what Prometheus saw over the same interval (bucket counts, quantile estimates, alert peaks).
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { runScenario, scenarioConfig, stackUrls } from '../../load/scenario-run.ts';
import { CATALOG } from '../../alerts/catalog/index.ts';
import { SHARED_ENTRY_PREFIX } from '../../services/kit/buckets.ts';
import { metricPrefix } from '../../services/kit/http-metrics.ts';
import { ROOT_DIR, type Tuning } from '../../alerts/model.ts';
import { PrometheusApi, type Labels } from '../prometheus-api.ts';
import { startStack, type ServiceName, type LocalStack } from '../../stack/index.ts';
import type { PrometheusBuild, PrometheusMajor } from '../../stack/prometheus-version.ts';
import { QUANTILES, exactQuantile } from './fit.ts';
import { tunableAlerts } from './thresholds.ts';

export const BUCKETS_JSON = path.join(ROOT_DIR, 'services', 'buckets.json');
/** Services whose histograms the tuner reads (fake-alpaca has none). */
const TUNED_SERVICES: ServiceName[] = ['execution-gateway', 'signal-service', 'orchestrator', 'market-data'];

export interface SeriesSlice {
  labels: Labels;
  /** Observations inside the measured interval (the histogram's _count grew by exactly this many). */
  n: number;
}

export interface HistogramMeasurement {
  /** The services/buckets.json entry: a histogram's name, or a shared `*_<suffix>` entry measured over every tuned service. */
  metric: string;
  /** Prometheus job(s) of its series, comma-separated. */
  service: string;
  /** Finite bucket bounds the running service exposes. */
  bounds: number[];
  series: SeriesSlice[];
  /** Every series' exact observations in the interval, merged (what `sum by (le)` aggregates). */
  values: number[];
  times: number[];
  /** histogram_quantile over the interval's bucket increase, as Prometheus computes it, per quantile. */
  promEstimates: Array<{ q: number; value: number }>;
}

export interface ClientTiming {
  name: string;
  flow: string;
  n: number;
  failures: number;
  /** Milliseconds, client side (network and queueing included). */
  quantiles: Array<{ q: number; ms: number }>;
}

export interface Measurement {
  startedAt: string;
  durationS: number;
  /** Unix seconds of the two Prometheus samples bracketing the interval. */
  fromS: number;
  toS: number;
  rates: Record<string, number>;
  histograms: HistogramMeasurement[];
  /** Largest value each rate/count alert's expression took over the interval (0 when it never yielded a series). */
  alertPeaks: Record<string, number>;
  client: ClientTiming[];
  rawFile: string;
  /** The Prometheus the baseline ran on (buildinfo); its range semantics set the detection estimates. */
  prometheus?: PrometheusBuild;
}

export interface MeasureOptions {
  durationS: number;
  /** Where the client's raw NDJSON goes. */
  outDir: string;
  thresholds: Record<string, Tuning>;
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Which Prometheus runs the baseline; default ALERTPROOF_PROMETHEUS or 2. */
  prometheusMajor?: PrometheusMajor;
}

/** Histogram names the services define, from services/buckets.json (the one place for bucket bounds). */
export function histogramNames(file = BUCKETS_JSON): string[] {
  return Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>);
}

/** PromQL selector of an entry's `_count` or `_bucket` series; a shared `*_<suffix>` entry reads every tuned service's `<prefix>_<suffix>`. */
function entrySelector(entry: string, series: '_count' | '_bucket'): string {
  if (!entry.startsWith(SHARED_ENTRY_PREFIX)) return `${entry}${series}`;
  const names = TUNED_SERVICES.map((s) => `${metricPrefix(s)}_${entry.slice(SHARED_ENTRY_PREFIX.length)}${series}`);
  return `{__name__=~"${names.join('|')}"}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function key(labels: Labels): string {
  const { job: _job, instance: _instance, __name__: _name, le: _le, ...rest } = labels;
  return JSON.stringify(Object.fromEntries(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b))));
}

interface ExactSeries {
  name: string;
  labels: Record<string, string>;
  values: number[];
  times: number[];
  dropped: number;
}

async function exactSeries(url: string, service: string): Promise<ExactSeries[]> {
  const res = await fetch(`${url}/tuning`, { signal: AbortSignal.timeout(10_000) });
  if (res.status === 404) throw new Error(`${service} at ${url} has no /tuning endpoint; it must run with TUNING_EXACT=1`);
  if (!res.ok) throw new Error(`${service} GET /tuning answered ${res.status}`);
  return ((await res.json()) as { histograms: ExactSeries[] }).histograms;
}

export async function measureBaseline(opts: MeasureOptions): Promise<Measurement> {
  const log = opts.log ?? (() => undefined);
  const names = histogramNames();
  const serviceEnv = Object.fromEntries(TUNED_SERVICES.map((s) => [s, { TUNING_EXACT: '1' }]));
  const stack: LocalStack = await startStack({ prometheus: { config: path.join(ROOT_DIR, 'alerts', 'prometheus.yml'), major: opts.prometheusMajor }, serviceEnv, log });
  try {
    const prom = new PrometheusApi(stack.prometheus!.url);
    const scrapeS = 5;
    // Every histogram series must be in Prometheus before the interval starts, or its start count would be missing.
    await prom.waitUntil(async () => {
      const found = await Promise.all(names.map(async (m) => (await prom.query(entrySelector(m, '_count'))).length > 0));
      return found.every(Boolean);
    }, 60_000, 'every histogram scraped once');

    const urls = stackUrls(stack.serviceUrls);
    const cfg = scenarioConfig(urls, opts.env ?? process.env);
    fs.mkdirSync(opts.outDir, { recursive: true });
    // k6's JSON output: every request's http_req_duration point, the client side's ground truth.
    const rawFile = path.join(opts.outDir, 'load-points.ndjson');
    const startedAt = new Date().toISOString();
    const run = runScenario('baseline', { urls, env: { ...(opts.env as Record<string, string> | undefined), LOAD_DURATION: `${opts.durationS}s` }, out: [`json=${rawFile}`], handleSummary: false });
    await run.started;
    const fromS = Date.now() / 1000;
    log(`baseline load for ${opts.durationS} s (${Object.entries(cfg.rates).map(([f, r]) => `${f} ${r}/s`).join(', ')})`);
    const result = await run.done;
    const m = result.summary?.metrics;
    if (!m) throw new Error(`the baseline load failed (exit ${result.exitCode}): ${result.errorTail.slice(-3).join(' | ')}`);
    log(`load done (${m.http_reqs?.values.count ?? 0} requests, ${m.http_req_failed?.values.passes ?? 0} failed); waiting one scrape so Prometheus holds the final counts`);
    await sleep((scrapeS + 1.5) * 1000);
    const toS = Date.now() / 1000;

    const exact = new Map<string, ExactSeries>();
    for (const service of TUNED_SERVICES) {
      for (const s of await exactSeries(stack.services[service]!.url, service)) exact.set(`${s.name}${key(s.labels)}`, { ...s, name: `${service}:${s.name}` });
    }

    const histograms: HistogramMeasurement[] = [];
    for (const metric of names) {
      const shared = metric.startsWith(SHARED_ENTRY_PREFIX);
      const countSelector = entrySelector(metric, '_count');
      const [before, after] = await Promise.all([prom.query(countSelector, fromS), prom.query(countSelector, toS)]);
      // The histogram a series belongs to, by name: a shared entry's series come from several services' histograms.
      const histogramOf = (labels: Labels): string => (labels.__name__ ?? `${metric}_count`).replace(/_count$/, '');
      const startCount = new Map(before.map((s) => [`${histogramOf(s.metric)}${key(s.metric)}`, Number(s.value[1])]));
      const series: SeriesSlice[] = [];
      const values: number[] = [];
      const times: number[] = [];
      const jobs = new Set<string>();
      for (const s of after) {
        const name = histogramOf(s.metric);
        const k = key(s.metric);
        const from = startCount.get(`${name}${k}`) ?? 0;
        const to = Number(s.value[1]);
        const e = exact.get(`${name}${k}`);
        if (to > from && !e) throw new Error(`${name}${k}: Prometheus counted ${to - from} observations but /tuning has no such series`);
        if (s.metric.job) jobs.add(s.metric.job);
        if (!e) continue;
        if (e.values.length < to) throw new Error(`${name}${k}: /tuning holds ${e.values.length} observations, Prometheus counted ${to}${e.dropped ? ` (${e.dropped} dropped over the cap)` : ''}`);
        values.push(...e.values.slice(from, to));
        times.push(...e.times.slice(from, to));
        const labels = JSON.parse(k) as Labels;
        series.push({ labels: shared && s.metric.job ? { ...labels, job: s.metric.job } : labels, n: to - from });
      }
      const bucketSelector = entrySelector(metric, '_bucket');
      const boundsSamples = await prom.query(`sum by (le) (${bucketSelector})`, toS);
      const bounds = boundsSamples.map((s) => Number(s.metric.le)).filter((b) => Number.isFinite(b)).sort((a, b) => a - b);
      const promEstimates = await Promise.all(
        QUANTILES.map(async (q) => {
          const r = await prom.query(`histogram_quantile(${q}, sum by (le) (${bucketSelector} - ${bucketSelector} @ ${fromS.toFixed(3)}))`, toS);
          return { q, value: r.length ? Number(r[0]!.value[1]) : NaN };
        }),
      );
      histograms.push({ metric, service: [...jobs].sort().join(','), bounds, series, values, times, promEstimates });
      log(`${metric}: ${values.length} observations`);
    }

    // Peaks of each rate/count alert's own expression with its threshold at 0 (the value it compares is returned).
    const alertPeaks: Record<string, number> = {};
    const rangeS = Math.max(scrapeS, Math.round(toS - fromS));
    for (const a of tunableAlerts(opts.thresholds).filter((x) => x.kind !== 'latency')) {
      const def = CATALOG.find((d) => d.name === a.name)!;
      const expr = def.expr({ ...a.tuning, threshold: 0 });
      const r = await prom.query(`max(max_over_time((${expr})[${rangeS}s:${scrapeS}s]))`, toS);
      alertPeaks[a.name] = r.length ? Number(r[0]!.value[1]) : 0;
    }

    return { startedAt, durationS: opts.durationS, fromS, toS, rates: cfg.rates, histograms, alertPeaks, client: await clientTimings(rawFile), rawFile, prometheus: stack.prometheus!.build };
  } finally {
    await stack.stop();
  }
}

interface JsonPoint {
  type: string;
  metric: string;
  data: { value: number; tags?: Record<string, string> };
}

/** Per request name: client-side quantiles from the http_req_duration points of k6's JSON output (setup's requests, without a flow, left out). */
export async function clientTimings(jsonOutput: string): Promise<ClientTiming[]> {
  const byName = new Map<string, { flow: string; ms: number[]; failures: number }>();
  const lines = readline.createInterface({ input: fs.createReadStream(jsonOutput), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.includes('"http_req_duration"')) continue;
    const p = JSON.parse(line) as JsonPoint;
    const tags = p.data.tags;
    if (p.type !== 'Point' || p.metric !== 'http_req_duration' || !tags?.flow || !tags.name) continue;
    let g = byName.get(tags.name);
    if (!g) byName.set(tags.name, (g = { flow: tags.flow, ms: [], failures: 0 }));
    g.ms.push(p.data.value);
    if (tags.expected_response === 'false') g.failures++;
  }
  return [...byName.entries()]
    .map(([name, g]) => {
      const sorted = g.ms.sort((a, b) => a - b);
      return { name, flow: g.flow, n: sorted.length, failures: g.failures, quantiles: QUANTILES.map((q) => ({ q, ms: exactQuantile(sorted, q) })) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

const SAMPLES_FILE = 'samples.json';

/** Every exact observation of a measurement, so the analysis can be redone (other bucket budget, new rule) without a new baseline. */
export function writeSamples(dir: string, m: Measurement): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, SAMPLES_FILE);
  fs.writeFileSync(file, JSON.stringify(m));
  return file;
}

/** The measurement an earlier tune-thresholds run saved in `dir` (its report folder). */
export function readSamples(dir: string): Measurement {
  const file = path.join(dir, SAMPLES_FILE);
  if (!fs.existsSync(file)) throw new Error(`--from ${dir}: no ${SAMPLES_FILE} there; point it at the report folder of an earlier tune-thresholds run`);
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Measurement;
  if (!Array.isArray(m.histograms) || !m.histograms.every((h) => Array.isArray(h.values) && Array.isArray(h.times) && h.values.length === h.times.length)) {
    throw new Error(`--from ${dir}: ${SAMPLES_FILE} holds no exact histogram samples`);
  }
  return m;
}
