// `npm run verify-dashboards`: stack + short baseline load, every dashboard query checked live, then one fault shown on its panel.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScenario, stackUrls } from '../load/scenario-run.ts';
import { alertPanelChange, checkDashboards, formatReport, loadDashboards, resolveGrafanaVariables, type DashboardCheckReport, type PanelChange } from './dashboards.ts';
import { PrometheusApi } from './prometheus-api.ts';
import { freePort, sleep } from '../stack/ports.ts';
import { startStack, type LocalStack } from '../stack/index.ts';
import { ALERT_ANNOTATION_EXPR } from '../dashboards/src/common.ts';
import { dashboardUrl } from '../alerts/generate.ts';
import { CATALOG } from '../alerts/catalog/index.ts';
import { adminAuthHeaders } from './admin-auth.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhook.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface LiveDashboardResult {
  report: DashboardCheckReport;
  /** The circuit breaker tripped under load: its panel's value before and during the fault. */
  fault: PanelChange;
  /** Seconds from the trip until the alert-state annotation query showed CircuitBreakerTripped (undefined: not within 30 s). */
  annotationAfterS?: number;
}

export interface LiveDashboardOptions {
  /** Baseline load before the queries run; at least a 20 s rate window plus a few scrapes (default 25 s). */
  warmupS?: number;
  log?: (line: string) => void;
  /** Runs while the stack and load are still up, after the checks (tests use it to prove a broken query fails). */
  whileUp?: (prometheusUrl: string) => Promise<void>;
}

/** Polls until fn returns a value, or undefined after timeoutMs. */
async function poll<T>(timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(500);
  }
  return undefined;
}

export async function verifyDashboardsLive(opts: LiveDashboardOptions = {}): Promise<LiveDashboardResult> {
  const log = opts.log ?? (() => undefined);
  const warmupS = opts.warmupS ?? 25;
  const metricsPort = await freePort();
  let stack: LocalStack | undefined;
  let stopLoad: (() => Promise<unknown>) | undefined;
  let webhook: WebhookReceiver | undefined;
  try {
    // Alertmanager runs too (delivering to a receiver of ours), so the Alerting Pipeline dashboard has its data.
    webhook = await startWebhookReceiver();
    stack = await startStack({
      prometheus: { config: path.join(ROOT, 'alerts/prometheus.yml'), rulesDir: path.join(ROOT, 'alerts/rules') },
      alertmanager: { config: path.join(ROOT, 'alerts/alertmanager.yml'), webhookUrl: webhook.url },
      extraScrapeTargets: { loadgen: `127.0.0.1:${metricsPort}` },
      log: (l) => log(`stack: ${l}`),
    });
    const prom = stack.prometheus!;
    // Bounded: warm-up, the checks and the fault fit well inside it; stop() ends it as soon as we are done.
    const run = runScenario('baseline', { urls: stackUrls(stack.serviceUrls), env: { LOAD_DURATION: `${warmupS + 40}s` }, metricsPort, handleSummary: false, onOutput: (l) => log(`load: ${l}`) });
    stopLoad = () => run.stop();
    await run.started;
    log(`baseline load running, client metrics on 127.0.0.1:${metricsPort}; waiting ${warmupS} s for rate windows to fill`);
    await sleep(warmupS * 1000);

    const report = await checkDashboards(prom.url, { lookbackS: warmupS });
    await opts.whileUp?.(prom.url);

    const gateway = stack.services['execution-gateway']!.url;
    const alert = CATALOG.find((d) => d.name === 'CircuitBreakerTripped');
    if (!alert) throw new Error('alerts/catalog/ has no CircuitBreakerTripped; pick another fault for the panel check');
    const url = dashboardUrl(alert);
    const before = new Date();
    const tripped = await fetch(`${gateway}/circuit-breaker/trip`, { method: 'POST', headers: { ...adminAuthHeaders(), 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'verify-dashboards' }) });
    if (!tripped.ok) throw new Error(`POST ${gateway}/circuit-breaker/trip answered ${tripped.status}`);
    log(`circuit breaker tripped; watching ${url}`);
    try {
      const api = new PrometheusApi(prom.url);
      const fault = await poll(20_000, async () => {
        const c = await alertPanelChange(prom.url, url, before, new Date());
        return c.changed ? c : undefined;
      });
      const annotationExpr = resolveGrafanaVariables(ALERT_ANNOTATION_EXPR);
      const annotationAt = await poll(30_000, async () =>
        (await api.query(annotationExpr)).some((s) => s.metric.alertname === 'CircuitBreakerTripped') ? Date.now() : undefined,
      );
      return {
        report,
        fault: fault ?? (await alertPanelChange(prom.url, url, before, new Date())),
        annotationAfterS: annotationAt === undefined ? undefined : (annotationAt - before.getTime()) / 1000,
      };
    } finally {
      await fetch(`${gateway}/circuit-breaker/reset`, { method: 'POST', headers: adminAuthHeaders() }).catch(() => undefined);
    }
  } finally {
    await stopLoad?.().catch(() => undefined);
    await stack?.stop();
    await webhook?.close();
  }
}

async function main(): Promise<number> {
  const say = (line: string): void => void process.stderr.write(`verify-dashboards: ${line}\n`);
  const panels = loadDashboards().map((d) => `${d.title} ${d.panels.filter((p) => p.type !== 'row').length}`);
  say(`dashboards: ${panels.join(', ')} panels`);
  const t0 = Date.now();
  const r = await verifyDashboardsLive({ log: say });
  process.stdout.write(`${formatReport(r.report)}\n`);
  process.stdout.write(`fault: ${r.fault.where}: ${JSON.stringify(r.fault.before)} -> ${JSON.stringify(r.fault.during)} (${r.fault.changed ? 'changed' : 'NOT changed'})\n`);
  process.stdout.write(`annotation: CircuitBreakerTripped ${r.annotationAfterS === undefined ? 'NOT shown within 30 s' : `shown ${r.annotationAfterS.toFixed(1)} s after the trip`}\n`);
  const ok = r.report.failures.length === 0 && r.fault.changed && r.annotationAfterS !== undefined;
  process.stdout.write(`${ok ? 'PASS' : 'FAIL'} in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  return ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`verify-dashboards: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
