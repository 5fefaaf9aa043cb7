// `npm run bench:metrics`: per service, the series count of /metrics after baseline-like traffic and its render time (median of N), in one run.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { runScenario, scenarioConfig, stackUrls } from '../../load/scenario-run.ts';
import { Trend } from '../../load/runtime/stats.ts';
import { SERVICE_NAMES, startStack, type ServiceName, type LocalStack } from '../../stack/index.ts';
import { ProcessOwner } from '../../stack/processes.ts';
import { DEFAULT_REPORT_DIR, fmt, machineInfo, markdownTable, positive, writeReport, type MachineInfo } from './report.ts';

const USAGE = `usage: npm run bench:metrics -- [--traffic-seconds 20] [--renders 200] [--report-dir reports]
  Starts Postgres, Redis and the five services (stack/), runs the k6 baseline scenario (load/runtime) for
  --traffic-seconds, then for each service counts the series in /metrics and times --renders scrapes of it
  (interleaved with /health, the HTTP floor). Prints a markdown table and writes reports/bench-metrics-<timestamp>.json.`;

interface Timing {
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
}

export interface ServiceMetricsResult {
  service: ServiceName;
  metricsUrl: string;
  /** Sample lines before the traffic (right after start) and after it: what Prometheus would store per scrape. */
  seriesBefore: number;
  series: number;
  /** Metric families (# TYPE lines). */
  families: number;
  bytes: number;
  /** GET /metrics, request sent to body fully read, keep-alive, one at a time. */
  render: Timing;
  /** GET /health the same way: the HTTP round trip without rendering, so render - health ~ time spent rendering. */
  health: Timing;
}

export interface MetricsBenchReport {
  bench: 'metrics';
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  params: { trafficSeconds: number; renders: number };
  conditions: string;
  traffic: { scenario: string; rates: Record<string, number>; requests: number; failed: number; checksPassed: number; checksFailed: number };
  services: ServiceMetricsResult[];
}

function parseOptions(argv: string[]): { trafficSeconds: number; renders: number; reportDir: string } {
  const { values } = parseArgs({
    args: argv,
    options: { 'traffic-seconds': { type: 'string' }, renders: { type: 'string' }, 'report-dir': { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const opts = {
    trafficSeconds: positive('traffic-seconds', values['traffic-seconds'], 20),
    renders: positive('renders', values.renders, 200, true),
    reportDir: path.resolve(values['report-dir'] ?? DEFAULT_REPORT_DIR),
  };
  if (opts.trafficSeconds > 60) throw new Error(`--traffic-seconds ${opts.trafficSeconds} is over 60; baseline-like traffic needs no more and the machine is shared`);
  if (opts.renders > 2000) throw new Error(`--renders ${opts.renders} is over 2000; the median is stable long before`);
  return opts;
}

export function countSeries(text: string): { series: number; families: number } {
  let series = 0;
  let families = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) families++;
    else if (line !== '' && !line.startsWith('#')) series++;
  }
  return { series, families };
}

async function timedGet(pool: Pool, pathName: string): Promise<{ ms: number; text: string }> {
  const t0 = performance.now();
  const res = await pool.request({ method: 'GET', path: pathName, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await res.body.text();
  const ms = performance.now() - t0;
  if (res.statusCode !== 200) throw new Error(`GET ${pathName} answered ${res.statusCode}: ${text.slice(0, 200)}`);
  return { ms, text };
}

function timing(trend: Trend): Timing {
  const s = trend.stats();
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return { medianMs: r(s.med), p90Ms: r(s.p90), minMs: r(s.min), maxMs: r(s.max) };
}

/** fake-alpaca serves its /metrics on the admin listener; the others on their one listener. */
function metricsBase(stack: LocalStack, name: ServiceName): string {
  const h = stack.services[name]!;
  return h.adminUrl ?? h.url;
}

async function measure(base: string, renders: number): Promise<{ series: number; families: number; bytes: number; render: Timing; health: Timing }> {
  const pool = new Pool(base, { connections: 1, pipelining: 1 });
  try {
    const render = new Trend();
    const health = new Trend();
    // Interleaved so both see the same background work (probes, the market-data stream) at the same moments.
    let last = '';
    for (let i = 0; i < renders; i++) {
      const m = await timedGet(pool, '/metrics');
      render.add(m.ms);
      last = m.text;
      health.add((await timedGet(pool, '/health')).ms);
    }
    return { ...countSeries(last), bytes: Buffer.byteLength(last), render: timing(render), health: timing(health) };
  } finally {
    await pool.destroy();
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const loadStart = os.loadavg();
  const startedAt = new Date();
  const log = (line: string): void => void process.stderr.write(`bench:metrics ${line}\n`);
  const owner = new ProcessOwner();
  let stack: LocalStack | undefined;
  try {
    stack = await startStack({ owner, log: (l) => log(`stack: ${l}`) });
    const running = stack;
    const before = new Map<ServiceName, number>();
    for (const name of SERVICE_NAMES) {
      before.set(name, countSeries(await (await fetch(`${metricsBase(running, name)}/metrics`)).text()).series);
    }

    // The baseline scenario's mix, from defaults only (not this shell's LOAD_* variables), so runs compare.
    const urls = stackUrls(running.serviceUrls);
    const cfg = scenarioConfig(urls, {});
    log(`baseline traffic for ${opts.trafficSeconds} s`);
    const result = await runScenario('baseline', { urls, env: { LOAD_DURATION: `${opts.trafficSeconds}s` }, includeSystemEnv: false, handleSummary: false, onOutput: (l) => log(`load: ${l}`) }).done;
    const m = result.summary?.metrics;
    if (!m) throw new Error(`the baseline load failed (exit ${result.exitCode}): ${result.errorTail.slice(-3).join(' | ')}`);

    const services: ServiceMetricsResult[] = [];
    for (const name of SERVICE_NAMES) {
      const base = metricsBase(running, name);
      const m = await measure(base, opts.renders);
      services.push({ service: name, metricsUrl: `${base}/metrics`, seriesBefore: before.get(name)!, ...m });
      log(`${name}: ${m.series} series, render median ${fmt(m.render.medianMs, 3)} ms`);
    }
    const report: MetricsBenchReport = {
      bench: 'metrics',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: machineInfo(loadStart),
      params: { trafficSeconds: opts.trafficSeconds, renders: opts.renders },
      conditions:
        'whole stack (Postgres, Redis, five services; no Prometheus) on this machine; baseline k6 scenario (load/scenarios/baseline.ts, run by load/runtime) at its default rates ' +
        'for trafficSeconds, then renders timed one at a time over keep-alive HTTP from this process after the traffic stopped ' +
        '(background probes, market-data stream and gateway resubmit loop still running)',
      traffic: {
        scenario: 'baseline',
        rates: cfg.rates,
        requests: m.http_reqs?.values.count ?? 0,
        failed: m.http_req_failed?.values.passes ?? 0,
        checksPassed: m.checks?.values.passes ?? 0,
        checksFailed: m.checks?.values.fails ?? 0,
      },
      services,
    };
    const file = writeReport('metrics', report, opts.reportDir, startedAt);
    const rows = services.map((s) => [
      s.service,
      `${s.seriesBefore} -> ${s.series}`,
      s.families,
      s.bytes,
      fmt(s.render.medianMs, 3),
      fmt(s.render.p90Ms, 3),
      fmt(s.health.medianMs, 3),
    ]);
    process.stdout.write(
      `${markdownTable(['service', 'series (start -> after traffic)', 'families', 'bytes', '/metrics median ms', '/metrics p90 ms', '/health median ms'], rows)}\n\n` +
        `traffic: baseline for ${opts.trafficSeconds} s, ${report.traffic.requests} requests, ${report.traffic.failed} failed; ` +
        `${opts.renders} renders per service; load average ${report.machine.loadAvgStart[0]} -> ${report.machine.loadAvgEnd[0]} on ${report.machine.cpus} CPUs\n${file}\n`,
    );
  } finally {
    await stack?.stop();
    await owner.stopAll();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
