// Static one-minute budget check and metric cross-check for the alert rules: worst-case fault-to-notification time per
// alert from prometheus.yml, each rule's `for` and range windows and the Alertmanager route; and the metric names the
// rules reference vs. the names the services document and expose. Run: npx tsx alerts/budget.ts
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { CATALOG } from './catalog/index.ts';
import { ALERTS_DIR, ROOT_DIR, loadThresholds, seconds, type Tuning } from './model.ts';
import { metricsInExpr, rangeWindows } from './promql.ts';
import { BUDGET_S } from './settings.ts';
import { PROMETHEUS_MAJORS, RANGE_SEMANTICS, windowFillS, type RangeSemantics } from './engine.ts';

/** A local webhook answers in milliseconds; one second covers Alertmanager's dispatch and the HTTP round trip. */
export const DELIVERY_S = 1;
/** rate()/increase() need several samples in a window to be more than two points' difference. */
export const MIN_WINDOW_SCRAPES = 4;

export interface Timing {
  scrapeS: number;
  scrapeTimeoutS: number;
  evalS: number;
  /** How the Prometheus version evaluates range selectors (alerts/engine.ts); left-closed (2.x) when absent. */
  rangeSemantics?: RangeSemantics;
}

export interface RouteTiming {
  receiver: string;
  groupWaitS: number;
  groupIntervalS: number;
}

export interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface BudgetRow {
  alert: string;
  receiver: string;
  sourceDelayS: number;
  scrapeS: number;
  fillS: number;
  /** The range semantics fillS was computed under (alerts/engine.ts). */
  semantics: RangeSemantics;
  evalS: number;
  forS: number;
  notifyS: number;
  deliveryS: number;
  totalS: number;
  /** Latest evaluation time after the first bad sample at which the alert must fire to still meet the budget. */
  latestFiringS: number;
  windows: number[];
  problems: string[];
}

export function loadTiming(file = path.join(ALERTS_DIR, 'prometheus.yml')): Timing {
  return parseTiming(fs.readFileSync(file, 'utf8'));
}

/** Scrape and evaluation timing from a Prometheus config's text (a file, or what a running Prometheus reports). */
export function parseTiming(yamlText: string): Timing {
  const global = (parse(yamlText) as { global?: Record<string, string> } | null)?.global ?? {};
  // Prometheus' own defaults apply when a field is absent.
  return {
    scrapeS: seconds(global.scrape_interval ?? '1m'),
    scrapeTimeoutS: seconds(global.scrape_timeout ?? '10s'),
    evalS: seconds(global.evaluation_interval ?? '1m'),
  };
}

interface AmRoute {
  receiver?: string;
  matchers?: string[];
  continue?: boolean;
  group_wait?: string;
  group_interval?: string;
  routes?: AmRoute[];
}

const matcherRe = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$/;

/** Whether a label set satisfies one Alertmanager matcher string such as `severity=~"critical|high"`. */
export function matches(matcher: string, labels: Record<string, string>): boolean {
  const m = matcherRe.exec(matcher);
  if (!m) throw new Error(`cannot parse Alertmanager matcher '${matcher}'; use name="value", name!="value", name=~"re" or name!~"re"`);
  const [, name, op, value] = m as unknown as [string, string, string, string];
  const actual = labels[name] ?? '';
  switch (op) {
    case '=':
      return actual === value;
    case '!=':
      return actual !== value;
    case '=~':
      return new RegExp(`^(?:${value})$`).test(actual);
    default:
      return !new RegExp(`^(?:${value})$`).test(actual);
  }
}

/**
 * The route an alert with these labels is delivered through, like Alertmanager's tree walk: depth first, first match
 * wins unless `continue`; the timing comes from the matched route, inherited from its parents. Returns every route that
 * delivers (continue routes included).
 */
export function routesFor(labels: Record<string, string>, file = path.join(ALERTS_DIR, 'alertmanager.yml')): RouteTiming[] {
  return routesIn(labels, fs.readFileSync(file, 'utf8'));
}

/** routesFor over the text of an Alertmanager config (the generator's, before it is written). */
export function routesIn(labels: Record<string, string>, configText: string): RouteTiming[] {
  const root = (parse(configText) as { route: AmRoute }).route;
  const walk = (route: AmRoute, inherited: RouteTiming): RouteTiming[] => {
    const here: RouteTiming = {
      receiver: route.receiver ?? inherited.receiver,
      groupWaitS: route.group_wait ? seconds(route.group_wait) : inherited.groupWaitS,
      groupIntervalS: route.group_interval ? seconds(route.group_interval) : inherited.groupIntervalS,
    };
    const out: RouteTiming[] = [];
    for (const child of route.routes ?? []) {
      if (!(child.matchers ?? []).every((m) => matches(m, labels))) continue;
      out.push(...walk(child, here));
      if (!child.continue) return out;
    }
    return out.length > 0 ? out : [here];
  };
  // Alertmanager's defaults: group_wait 30s, group_interval 5m.
  return walk(root, { receiver: root.receiver ?? '', groupWaitS: 30, groupIntervalS: 300 });
}

/**
 * Worst case from fault to notification:
 *   source delay (the service's own metric catching up: probe period, the slow request completing)
 * + scrape interval (the fault lands just after a scrape)
 * + window fill (the longest range window must fill with bad samples; conservative for thresholds crossed earlier;
 *   one scrape shorter under Prometheus 3's left-open ranges: alerts/engine.ts; none for a single-event threshold)
 * + evaluation interval (the sample lands just after an evaluation)
 * + `for`, rounded up to evaluation ticks
 * + Alertmanager wait: group_wait for a new group, group_interval when the group has already notified; the larger
 * + delivery.
 */
export function budgetRow(rule: Rule, sourceDelayS: number, timing: Timing, route: RouteTiming, singleEvent = false): BudgetRow {
  const semantics = timing.rangeSemantics ?? RANGE_SEMANTICS['2'];
  const windows = rangeWindows(rule.expr);
  const fillS = windows.length && !singleEvent ? Math.max(...windows.map((w) => windowFillS(w, timing.scrapeS, semantics))) : 0;
  const forS = Math.ceil(seconds(rule.for ?? '0s') / timing.evalS) * timing.evalS;
  const notifyS = Math.max(route.groupWaitS, route.groupIntervalS);
  const totalS = sourceDelayS + timing.scrapeS + fillS + timing.evalS + forS + notifyS + DELIVERY_S;
  const problems: string[] = [];
  if (totalS > BUDGET_S) problems.push(`worst case ${totalS} s exceeds the ${BUDGET_S} s budget; shorten for/window in alerts/thresholds.yaml`);
  for (const w of windows) {
    if (w < MIN_WINDOW_SCRAPES * timing.scrapeS) {
      problems.push(`range window ${w} s is shorter than ${MIN_WINDOW_SCRAPES}x the ${timing.scrapeS} s scrape interval; lengthen it in alerts/thresholds.yaml`);
    }
  }
  // After the first bad sample is scraped, what remains for Prometheus to fire: the budget minus the parts before the
  // sample exists and after the alert fires, floored to an evaluation tick.
  const latestFiringS = Math.floor((BUDGET_S - sourceDelayS - timing.scrapeS - notifyS - DELIVERY_S) / timing.evalS) * timing.evalS;
  return {
    alert: rule.alert,
    receiver: route.receiver,
    sourceDelayS,
    scrapeS: timing.scrapeS,
    fillS,
    semantics,
    evalS: timing.evalS,
    forS,
    notifyS,
    deliveryS: DELIVERY_S,
    totalS,
    latestFiringS,
    windows,
    problems,
  };
}

/** The harness route: alerts carry run_id in verification runs, which keeps them off Slack/PagerDuty. */
export function harnessRoute(rule: Rule, amConfig?: string): RouteTiming {
  const labels = { ...rule.labels, alertname: rule.alert, run_id: 'budget' };
  const routes = amConfig === undefined ? routesFor(labels) : routesIn(labels, amConfig);
  const route = routes[routes.length - 1];
  if (!route) throw new Error(`no Alertmanager route delivers ${rule.alert}; check alerts/alertmanager.yml`);
  return route;
}

export function loadRules(dir = path.join(ALERTS_DIR, 'rules')): Rule[] {
  if (!fs.existsSync(dir)) throw new Error(`${dir} does not exist; run npx tsx alerts/generate.ts`);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .flatMap((f) => (parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules));
}

export function formatTable(rows: BudgetRow[]): string {
  const head = ['alert', 'receiver', 'source', 'scrape', 'fill', 'eval', 'for', 'am', 'deliver', 'total', 'ok'];
  const body = rows.map((r) => [r.alert, r.receiver, r.sourceDelayS, r.scrapeS, r.fillS, r.evalS, r.forS, r.notifyS, r.deliveryS, r.totalS, r.problems.length ? 'FAIL' : 'ok'].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Metric names: referenced by the rules vs. documented vs. exposed.

/** Every metric name the alert rules reference (for the harness pre-flight: each must be exposed by a running target). */
export function referencedMetrics(rules: Rule[] = loadRules()): Set<string> {
  const out = new Set<string>();
  for (const r of rules) for (const m of metricsInExpr(r.expr)) out.add(m);
  return out;
}

/** Series Prometheus makes itself for every target, so no service has to expose them. */
export const SYNTHETIC_METRICS = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/** The services' own prefixes, and Prometheus' and Alertmanager's for the alerting pipeline's alerts. */
const DOCUMENTED_PREFIXES = ['execution_gateway_', 'signal_service_', 'orchestrator_', 'market_data_', 'fake_alpaca_', 'prometheus_', 'alertmanager_'];

/** Metric names written in the project's docs (docs/contracts.md and DESIGN.md), the contract the services implement. */
export function documentedMetrics(files = docFiles()): Set<string> {
  const out = new Set<string>();
  for (const file of files) {
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/\b[a-z][a-z0-9_]*\b/g)) {
      if (DOCUMENTED_PREFIXES.some((p) => m[0].startsWith(p)) && !m[0].endsWith('_')) out.add(m[0]);
    }
  }
  return out;
}

/** docs/contracts.md plus DESIGN.md wherever the checkout keeps it (repo root, docs/, or the shared design folder). */
export function docFiles(): string[] {
  const contracts = path.join(ROOT_DIR, 'docs/contracts.md');
  const design = [path.join(ROOT_DIR, 'DESIGN.md'), path.join(ROOT_DIR, 'docs/DESIGN.md'), '/work/shared/DESIGN.md'].find((f) => fs.existsSync(f));
  if (!fs.existsSync(contracts)) throw new Error(`${contracts} not found; the metric cross-check needs the service contracts`);
  if (!design) throw new Error('DESIGN.md not found at the repo root, docs/ or /work/shared; the metric cross-check needs its "Metrics" section');
  return [contracts, design];
}

/** Names a family exposes: a histogram documented as X is scraped as X_bucket, X_count and X_sum. */
function familyNames(name: string): string[] {
  return [name, `${name}_bucket`, `${name}_count`, `${name}_sum`];
}

/** Referenced names that no documented/exposed family provides (Prometheus' synthetic series excluded). */
export function missingMetrics(referenced: Set<string>, provided: Set<string>): string[] {
  const all = new Set([...provided].flatMap(familyNames));
  return [...referenced].filter((m) => !SYNTHETIC_METRICS.has(m) && !all.has(m)).sort();
}

/**
 * Metric names in a Prometheus text exposition: sample names, and the families declared by # TYPE, because a
 * registered labelled metric with no series yet (no model loaded, no order placed) is still exposed by the service.
 */
export function exposedMetrics(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^(?:# TYPE )?([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{|\s)/.exec(line);
    if (m) out.add(m[1]!);
  }
  return out;
}

/** Scrapes each /metrics URL and returns every name exposed by at least one of them. */
export async function scrapeMetricNames(urls: string[], timeoutMs = 3000): Promise<Set<string>> {
  const out = new Set<string>();
  for (const url of urls) {
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new Error(`cannot scrape ${url} (${(err as Error).message}); is the service running?`);
    }
    if (!res.ok) throw new Error(`scraping ${url} answered ${res.status}; expected the Prometheus text format`);
    for (const m of exposedMetrics(await res.text())) out.add(m);
  }
  return out;
}

/** Budget rows for every generated rule, under the timing's range semantics (2.x when absent); source delays from the catalogue. */
export function budgetRows(rules: Rule[] = loadRules(), timing: Timing = loadTiming(), thresholds: Record<string, Tuning> = loadThresholds()): BudgetRow[] {
  return rules.map((rule) => {
    const def = CATALOG.find((d) => d.name === rule.alert);
    const tuning = thresholds[rule.alert];
    if (!def || !tuning) throw new Error(`rule ${rule.alert} is not in alerts/catalog/ and alerts/thresholds.yaml; regenerate the rules`);
    return budgetRow(rule, def.sourceDelayS(tuning), timing, harnessRoute(rule), def.singleEvent);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rules = loadRules();
  const problems: string[] = [];
  for (const major of PROMETHEUS_MAJORS) {
    const rows = budgetRows(rules, { ...loadTiming(), rangeSemantics: RANGE_SEMANTICS[major] });
    process.stdout.write(`Prometheus ${major} (${RANGE_SEMANTICS[major]} ranges)\n${formatTable(rows)}\n`);
    process.stdout.write(`${rows.length} alerts, worst case ${Math.max(...rows.map((r) => r.totalS))} s of ${BUDGET_S} s\n\n`);
    problems.push(...rows.flatMap((r) => r.problems.map((p) => `${r.alert} (Prometheus ${major}): ${p}`)));
  }
  const missing = missingMetrics(referencedMetrics(rules), documentedMetrics());
  problems.push(...missing.map((m) => `metric ${m} is referenced by a rule but documented nowhere (docs/contracts.md, DESIGN.md)`));
  if (problems.length) {
    process.stderr.write(`${problems.join('\n')}\n`);
    process.exit(1);
  }
}
