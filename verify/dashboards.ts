// Live check of the Grafana dashboards: every panel, variable and annotation query runs on Prometheus, parses and returns data.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrometheusApi, type RangeSeries } from './prometheus-api.ts';

export const DASHBOARDS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dashboards');

/** The parts of Grafana's dashboard JSON this check reads. */
export interface DashboardJson {
  uid: string;
  title: string;
  panels: Array<{ id: number; type: string; title: string; targets?: Array<{ refId: string; expr: string; legendFormat?: string }> }>;
  templating?: { list?: Array<{ name: string; query: string | { query: string } }> };
  annotations?: { list?: Array<{ name: string; expr?: string }> };
}

export interface DashboardQuery {
  dashboardUid: string;
  /** "panel 3 Circuit breaker A", "variable symbol", "annotation Firing alerts". */
  where: string;
  kind: 'panel' | 'variable' | 'annotation';
  panelId?: number;
  refId?: string;
  /** As written in the dashboard, Grafana variables included. */
  expr: string;
}

export function loadDashboards(dir = DASHBOARDS_DIR): DashboardJson[] {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`no dashboards in ${dir}; run npm run dashboards`);
  return files.map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as DashboardJson);
}

export function dashboardQueries(d: DashboardJson): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const p of d.panels) {
    for (const t of p.targets ?? []) out.push({ dashboardUid: d.uid, where: `panel ${p.id} "${p.title}" ${t.refId}`, kind: 'panel', panelId: p.id, refId: t.refId, expr: t.expr });
  }
  for (const v of d.templating?.list ?? []) {
    out.push({ dashboardUid: d.uid, where: `variable ${v.name}`, kind: 'variable', expr: typeof v.query === 'string' ? v.query : v.query.query });
  }
  for (const a of d.annotations?.list ?? []) {
    if (a.expr) out.push({ dashboardUid: d.uid, where: `annotation "${a.name}"`, kind: 'annotation', expr: a.expr });
  }
  return out;
}

export interface GrafanaValues {
  /** $__rate_interval: Grafana makes it at least 4x the datasource's scrape interval (5 s here), so 20s. */
  rateInterval: string;
  /** $__interval (the step Grafana would pick for the time range). */
  interval: string;
  /** $__range (the dashboard's time range). */
  range: string;
  /** Dashboard variables by name; a multi-value "All" is its regex allValue (".*"). */
  variables: Record<string, string>;
}

export const DEFAULT_VALUES: GrafanaValues = { rateInterval: '20s', interval: '5s', range: '5m', variables: { symbol: '.*' } };

/** The query Prometheus would receive from Grafana; throws on a variable it does not know, so a typo cannot hide. */
export function resolveGrafanaVariables(expr: string, values: GrafanaValues = DEFAULT_VALUES): string {
  const builtin: Record<string, string> = {
    __rate_interval: values.rateInterval,
    __interval: values.interval,
    __range: values.range,
    __range_s: String(rangeSeconds(values.range)),
  };
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a: string | undefined, b: string | undefined, c: string | undefined) => {
    const name = (a ?? b ?? c)!;
    const v = builtin[name] ?? values.variables[name];
    if (v === undefined) throw new Error(`unknown Grafana variable ${whole} in ${JSON.stringify(expr)}; give it a value in GrafanaValues.variables`);
    return v;
  });
}

function rangeSeconds(d: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(d);
  if (!m) throw new Error(`$__range "${d}" is not like 5m`);
  return Number(m[1]) * (m[2] === 's' ? 1 : m[2] === 'm' ? 60 : 3600);
}

/** label_values(metric, label) is a Grafana function, not PromQL: it becomes the query that lists those label values. */
export function variableToPromQL(query: string): { expr: string; label?: string } {
  const m = /^\s*label_values\(\s*(.+?)\s*,\s*(\w+)\s*\)\s*$/.exec(query);
  if (m) return { expr: `group by (${m[2]}) (${m[1]})`, label: m[2] };
  const q = /^\s*query_result\((.+)\)\s*$/.exec(query);
  return { expr: q ? q[1]! : query };
}

export interface QueryCheck {
  query: DashboardQuery;
  /** What was sent to Prometheus. */
  promql: string;
  parsed: boolean;
  /** Series with at least one finite sample in the window. */
  seriesWithData: number;
  /** Data was required of this query (false: annotations, which show only firing alerts; loadgen without a loadgen target). */
  dataRequired: boolean;
  ok: boolean;
  error?: string;
}

export interface DashboardCheckOptions {
  dashboards?: DashboardJson[];
  values?: GrafanaValues;
  /** Window the range queries cover, ending now (default 60 s). */
  lookbackS?: number;
  stepS?: number;
}

export interface DashboardCheckReport {
  checks: QueryCheck[];
  failures: QueryCheck[];
  /** Why some queries were not required to return data. */
  notes: string[];
}

const finite = (s: RangeSeries): boolean => s.values.some(([, v]) => Number.isFinite(Number(v)));

/**
 * Runs every query of the dashboards against Prometheus over the last lookbackS seconds. The verify-alerts harness can
 * call it with its stack's Prometheus URL once the baseline load has run for a rate window.
 */
export async function checkDashboards(prometheusUrl: string, opts: DashboardCheckOptions = {}): Promise<DashboardCheckReport> {
  const api = new PrometheusApi(prometheusUrl);
  const dashboards = opts.dashboards ?? loadDashboards();
  const values = opts.values ?? DEFAULT_VALUES;
  const lookbackS = opts.lookbackS ?? 60;
  const stepS = opts.stepS ?? 5;
  const jobs = new Set((await api.targets()).map((t) => t.labels.job ?? t.scrapePool));
  const notes: string[] = [];
  if (!jobs.has('loadgen')) notes.push('no loadgen scrape target: client-side (loadgen_*) queries must parse but may be empty');
  notes.push('annotation queries show firing alerts only, so they must parse but may be empty on a healthy stack');
  const end = Date.now() / 1000;
  const checks: QueryCheck[] = [];
  for (const query of dashboards.flatMap(dashboardQueries)) {
    const dataRequired = query.kind !== 'annotation' && (jobs.has('loadgen') || !/\bloadgen_/.test(query.expr));
    let promql = query.expr;
    let label: string | undefined;
    try {
      if (query.kind === 'variable') ({ expr: promql, label } = variableToPromQL(query.expr));
      promql = resolveGrafanaVariables(promql, values);
      const result = await api.queryRange(promql, end - lookbackS, end, stepS);
      const withData = result.filter((s) => finite(s) && (label === undefined || (s.metric[label] ?? '') !== ''));
      const ok = !dataRequired || withData.length > 0;
      checks.push({ query, promql, parsed: true, seriesWithData: withData.length, dataRequired, ok, ...(ok ? {} : { error: `no data in the last ${lookbackS} s` }) });
    } catch (err) {
      checks.push({ query, promql, parsed: false, seriesWithData: 0, dataRequired, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { checks, failures: checks.filter((c) => !c.ok), notes };
}

/** The panel an alert's dashboard_url (…/d/<uid>?viewPanel=<id>) points at, or undefined when there is none. */
export function panelForUrl(dashboards: DashboardJson[], dashboardUrl: string): { dashboard: DashboardJson; panel: DashboardJson['panels'][number] } | undefined {
  const m = /\/d\/([^/?#]+)[^?#]*\?(?:.*&)?viewPanel=(\d+)/.exec(dashboardUrl);
  if (!m) return undefined;
  const dashboard = dashboards.find((d) => d.uid === m[1]);
  const panel = dashboard?.panels.find((p) => p.id === Number(m[2]) && p.type !== 'row');
  return dashboard && panel ? { dashboard, panel } : undefined;
}

export interface PanelChange {
  where: string;
  promql: string;
  /** Series key (its labels) -> value at each time; NaN when the series was absent. */
  before: Record<string, number>;
  during: Record<string, number>;
  changed: boolean;
}

const seriesKey = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .filter(([k]) => k !== '__name__')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || '{}';

/**
 * Whether the panel an alert links to shows the fault: its first query's value at `before` (healthy) and at `during`
 * (the fault, e.g. when the alert fired) differ in some series. For the harness to call per scenario.
 */
export async function alertPanelChange(prometheusUrl: string, dashboardUrl: string, before: Date, during: Date, opts: { dashboards?: DashboardJson[]; values?: GrafanaValues } = {}): Promise<PanelChange> {
  const dashboards = opts.dashboards ?? loadDashboards();
  const found = panelForUrl(dashboards, dashboardUrl);
  if (!found) throw new Error(`dashboard_url ${dashboardUrl} points at no panel of dashboards/*.json; regenerate with npm run dashboards`);
  const target = found.panel.targets?.[0];
  if (!target) throw new Error(`panel ${found.panel.id} of ${found.dashboard.uid} has no query`);
  const api = new PrometheusApi(prometheusUrl);
  const promql = resolveGrafanaVariables(target.expr, opts.values);
  const at = async (t: Date): Promise<Record<string, number>> =>
    Object.fromEntries((await api.query(promql, t)).map((s) => [seriesKey(s.metric), Number(s.value[1])]));
  const [b, d] = await Promise.all([at(before), at(during)]);
  const keys = new Set([...Object.keys(b), ...Object.keys(d)]);
  const same = (x: number | undefined, y: number | undefined): boolean => (x === undefined && y === undefined) || (x !== undefined && y !== undefined && (x === y || (Number.isNaN(x) && Number.isNaN(y))));
  const changed = [...keys].some((k) => !same(b[k], d[k]));
  return { where: `${found.dashboard.uid} panel ${found.panel.id} "${found.panel.title}"`, promql, before: b, during: d, changed };
}

export function formatReport(r: DashboardCheckReport): string {
  const lines = r.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.query.dashboardUid} ${c.query.where}: ${c.parsed ? `${c.seriesWithData} series with data${c.dataRequired ? '' : ' (data not required)'}` : 'did not run'}${c.error ? ` — ${c.error}` : ''}`);
  return [...lines, ...r.notes.map((n) => `note: ${n}`), `${r.checks.length - r.failures.length}/${r.checks.length} dashboard queries ok`].join('\n');
}
