// The alert builders: one function per shape of alert (a target down, a probe gauge at 0, a bad share of events, a
// count of events, a slow p95) and the promtool case layout they share; the category files define the alerts with them.
import { numberOf, scrapeIntervalS, windowOf, seconds, type AlertDef, type DashboardKey, type Runbook, type SeriesInput, type Severity } from '../model.ts';
import { histogram, samples, series, type HistogramPhase } from '../series.ts';
import { PORTS } from '../../services/kit/platform.ts';

/** Every case puts the fault at 60 s (sample 12) and runs 36 samples (0..175 s). */
export const FAULT_S = 60;
export const BEFORE = 12;
export const AFTER = 24;
export const TOTAL = BEFORE + AFTER;

/** A scrape target's labels as alerts/prometheus.yml gives them (the compose host name and port). */
const target = (job: string, port: number): Record<string, string> => ({ job, instance: `${job}:${port}` });
export const GW = target('execution-gateway', PORTS['execution-gateway']);
export const SS = target('signal-service', PORTS['signal-service']);
export const OR = target('orchestrator', PORTS.orchestrator);
export const MD = target('market-data', PORTS['market-data']);
export const FA = target('fake-alpaca', PORTS['fake-alpaca-admin']);
export const PROM = target('prometheus', PORTS.prometheus);
export const AM = target('alertmanager', PORTS.alertmanager);

export const upSeries = (labels: Record<string, string>): SeriesInput => series('up', labels, samples().hold(TOTAL, 1));

/**
 * The gate of an absence alert: the job was scraped throughout the window, and up the whole time. An absence is only
 * evidence when the window holds a full window of scrapes: after a Prometheus restart (or any gap in scraping) the
 * counters' first samples would read as "nothing happened", while instant selectors still see the last values from
 * before the gap. A restart of the job itself empties its counters; its Down alert covers the outage.
 */
export function scrapedThroughout(job: string, window: string): string[] {
  const scrapes = seconds(window) / scrapeIntervalS();
  return [`and on() min(count_over_time(up{job="${job}"}[${window}])) >= ${scrapes}`, `unless on() min(min_over_time(up{job="${job}"}[${window}])) == 0`];
}

/** The gauge the gateway exposes for the market clock; absence alerts are gated on it. */
export const MARKET_OPEN = 'execution_gateway_market_open';

// ---------------------------------------------------------------------------------------------------------------
// Service health: targets and dependency probes.

export interface TargetDownSpec {
  name: string;
  /** Default service-health, on the Service Health dashboard. */
  category?: AlertDef['category'];
  dashboard?: DashboardKey;
  labels: Record<string, string>;
  severity: Severity;
  panel: number;
  what: string;
  impact: string;
  diagnosis: string[];
  mitigation: string[];
}

export function targetDown(s: TargetDownSpec): AlertDef {
  const job = s.labels.job!;
  return {
    name: s.name,
    category: s.category ?? 'service-health',
    severity: s.severity,
    service: job,
    serviceDown: true,
    panel: { dashboard: s.dashboard ?? 'health', id: s.panel },
    expr: () => `up{job="${job}"} == 0`,
    // A SIGSTOPped process fails its scrape only when the scrape times out (scrape_timeout 4 s).
    sourceDelayS: () => 4,
    summary: `${s.what} is down`,
    description: `Prometheus cannot scrape ${job} at {{ $labels.instance }} (up = {{ $value }}); ${s.impact}`,
    runbook: {
      meaning: `Prometheus could not scrape the ${job} /metrics endpoint on consecutive scrapes: the process is dead, stopped (SIGSTOP), or not listening.`,
      impact: s.impact,
      diagnosis: [
        `Check the target on the Prometheus targets page (job "${job}"): the last scrape error says whether the connection was refused (process gone) or timed out (process hung or stopped).`,
        `Look at the process: \`ps -o pid,stat,cmd -C node | grep ${job}\`; state T means stopped, no line means it exited. Its log (the stack keeps one per process) shows the last words.`,
        ...s.diagnosis,
      ],
      mitigation: [
        `Restart the service (\`npm run stack\` restarts the whole stack; a stopped process continues with SIGCONT).`,
        ...s.mitigation,
        'Dependency and latency alerts for this service are inhibited while this alert fires; check them again once it resolves.',
      ],
    },
    firing: () => [
      {
        name: `${job} stops answering scrapes`,
        series: [series('up', s.labels, samples().hold(BEFORE, 1).hold(AFTER, 0))],
        faultAtS: FAULT_S,
        expect: [{ labels: s.labels, value: 0 }],
      },
    ],
    quiet: () => [
      { name: `${job} scraped on every interval`, series: [upSeries(s.labels)], evalAtS: [60, 120, 175] },
      {
        name: `${job} misses one scrape (a blip, not an outage)`,
        series: [series('up', s.labels, samples().hold(BEFORE, 1).hold(1, 0).hold(AFTER - 1, 1))],
        evalAtS: [65, 70, 80],
      },
    ],
  };
}

export interface ProbeSpec {
  name: string;
  metric: string;
  labels: Record<string, string>;
  severity: Severity;
  dependency?: string;
  panel: number;
  dependsOn: string;
  summary: string;
  impact: string;
  diagnosis: string[];
  mitigation: string[];
  faults: string;
}

/** A dependency probe gauge (1 reachable, 0 not) that the service refreshes every PROBE_INTERVAL_MS (1 s). */
export function probeDown(s: ProbeSpec): AlertDef {
  const job = s.labels.job!;
  return {
    name: s.name,
    category: 'service-health',
    severity: s.severity,
    service: job,
    ...(s.dependency ? { dependency: s.dependency } : {}),
    panel: { dashboard: 'health', id: s.panel },
    expr: () => `${s.metric} == 0`,
    // One probe period (1 s) plus the probe's own timeout (1 s) before the gauge drops to 0.
    sourceDelayS: () => 2,
    summary: s.summary,
    description: `${job} at {{ $labels.instance }} reports ${s.metric} = {{ $value }}: its probe of ${s.dependsOn} is failing. ${s.impact}`,
    runbook: {
      meaning: `The ${job} probe of ${s.dependsOn} has failed for consecutive probe rounds (\`${s.metric}\` is 0). Typical causes: ${s.faults}.`,
      impact: s.impact,
      diagnosis: [
        `Confirm on the Service Health dashboard that \`${s.metric}\` dropped and when; \`/ready\` on ${job} names the failing check and its error.`,
        ...s.diagnosis,
      ],
      mitigation: s.mitigation,
    },
    firing: () => [
      {
        name: `${s.dependsOn} becomes unreachable from ${job}`,
        series: [series(s.metric, s.labels, samples().hold(BEFORE, 1).hold(AFTER, 0))],
        faultAtS: FAULT_S,
        expect: [{ labels: s.labels, value: 0 }],
      },
    ],
    quiet: () => [
      { name: `${s.dependsOn} reachable throughout`, series: [series(s.metric, s.labels, samples().hold(TOTAL, 1))], evalAtS: [60, 120, 175] },
      {
        name: `one failed probe round`,
        series: [series(s.metric, s.labels, samples().hold(BEFORE, 1).hold(1, 0).hold(AFTER - 1, 1))],
        evalAtS: [65, 70],
      },
      {
        name: `${job} itself is down (its gauges vanish; ServiceDown covers it)`,
        series: [series(s.metric, s.labels, samples().hold(BEFORE, 1).gap(AFTER))],
        evalAtS: [70, 120],
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Trading operations.

export interface RatioSpec {
  name: string;
  metric: string;
  labels: Record<string, string>;
  badStatus: string;
  goodStatus: string;
  service: string;
  severity: Severity;
  category: AlertDef['category'];
  dependency?: string;
  panel: { dashboard: DashboardKey; id: number };
  what: string;
  summary: string;
  runbook: Runbook;
}

/** Share of `metric` with status in badStatus over the window, once enough events happen for a share to mean anything. */
export function ratioAlert(s: RatioSpec): AlertDef {
  const bad = s.badStatus.includes('|') ? `status=~"${s.badStatus}"` : `status="${s.badStatus}"`;
  return {
    name: s.name,
    category: s.category,
    severity: s.severity,
    service: s.service,
    ...(s.dependency ? { dependency: s.dependency } : {}),
    panel: s.panel,
    thresholdUnit: 'ratio',
    expr: (t) => {
      const w = windowOf(t, s.name);
      return [
        `sum(rate(${s.metric}{${bad}}[${w}])) / sum(rate(${s.metric}[${w}])) > ${numberOf(t, 'threshold', s.name)}`,
        `and on() sum(rate(${s.metric}[${w}])) > ${numberOf(t, 'minRate', s.name)}`,
      ].join('\n');
    },
    sourceDelayS: () => 0,
    summary: s.summary,
    description: `{{ printf "%.2f" $value }} of ${s.what} over the last window were ${s.badStatus.replaceAll('|', '/')}.`,
    runbook: s.runbook,
    firing: (t) => {
      const good = { ...s.labels, status: s.goodStatus };
      const badLabels = { ...s.labels, status: s.badStatus.split('|')[0]! };
      // 6 of every 10 events go bad from the fault on.
      const badShare = 6 / 10;
      if (badShare <= numberOf(t, 'threshold', s.name)) throw new Error(`${s.name}: the case's bad share ${badShare} no longer crosses the threshold; raise it`);
      return [
        {
          name: `60% of ${s.what} go ${badLabels.status}`,
          series: [
            series(s.metric, good, samples().grow(10, BEFORE).grow(4, AFTER)),
            series(s.metric, badLabels, samples().hold(BEFORE, 0).grow(6, AFTER)),
          ],
          faultAtS: FAULT_S,
          expect: [{ labels: {}, value: badShare }],
        },
      ];
    },
    quiet: () => {
      const good = { ...s.labels, status: s.goodStatus };
      const badLabels = { ...s.labels, status: s.badStatus.split('|')[0]! };
      return [
        {
          name: `all ${s.what} succeed`,
          series: [series(s.metric, good, samples().grow(10, TOTAL)), series(s.metric, badLabels, samples().hold(TOTAL, 0))],
          evalAtS: [60, 120, 175],
        },
        {
          // One event per window is a rate of 1/window, which minRate must not undercut: one event is not a rate.
          name: `a single bad event while traffic is below minRate`,
          series: [
            series(s.metric, good, samples().hold(BEFORE, 0).hold(AFTER, 0)),
            series(s.metric, badLabels, samples().hold(BEFORE, 0).grow(1, 1).hold(AFTER - 1)),
          ],
          evalAtS: [60, 65, 80],
        },
      ];
    },
  };
}

export interface CounterSpec {
  name: string;
  metric: string;
  labels: Record<string, string>;
  op: '>' | '>=';
  service: string;
  severity: Severity;
  dependency?: string;
  panel: number;
  sourceDelayS: number;
  perSample: number;
  summary: string;
  what: string;
  runbook: Runbook;
}

/** Events counted within the window crossing a threshold. */
export function counterIncrease(s: CounterSpec): AlertDef {
  const matcher = Object.entries(s.labels)
    .filter(([k]) => k !== 'job' && k !== 'instance')
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const selector = matcher ? `${s.metric}{${matcher}}` : s.metric;
  return {
    name: s.name,
    category: 'data-quality',
    severity: s.severity,
    service: s.service,
    ...(s.dependency ? { dependency: s.dependency } : {}),
    panel: { dashboard: 'health', id: s.panel },
    thresholdUnit: 'count',
    expr: (t) => `sum(increase(${selector}[${windowOf(t, s.name)}])) ${s.op} ${numberOf(t, 'threshold', s.name)}`,
    sourceDelayS: () => s.sourceDelayS,
    summary: s.summary,
    description: `{{ $value }} ${s.what} in the last window.`,
    runbook: s.runbook,
    firing: (t) => {
      const windowSamples = seconds(windowOf(t, s.name)) / 5;
      const value = s.perSample * windowSamples;
      const threshold = numberOf(t, 'threshold', s.name);
      if (s.op === '>' ? value <= threshold : value < threshold) throw new Error(`${s.name}: the case's ${value} events per window no longer cross the threshold; raise perSample`);
      return [{ name: `${s.perSample} ${s.what} per scrape`, series: [series(s.metric, s.labels, samples().hold(BEFORE, 0).grow(s.perSample, AFTER))], faultAtS: FAULT_S, expect: [{ labels: {}, value }] }];
    },
    quiet: (t) => {
      const threshold = numberOf(t, 'threshold', s.name);
      // Just below the threshold within any window: a single event (or none, for a ">" 0 threshold).
      const below = s.op === '>' ? threshold : threshold - 1;
      return [
        { name: `no ${s.what}`, series: [series(s.metric, s.labels, samples().hold(TOTAL, 0))], evalAtS: [60, 120, 175] },
        ...(below > 0
          ? [{ name: `${below} ${s.what} (not above the threshold)`, series: [series(s.metric, s.labels, samples().hold(BEFORE, 0).grow(below, 1).hold(AFTER - 1))], evalAtS: [60, 65, 80] }]
          : []),
      ];
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Performance: p95 latency from histograms.

export interface LatencySpec {
  name: string;
  metric: string;
  labels: Record<string, string>;
  service: string;
  severity: Severity;
  dependency?: string;
  panel: number;
  summary: string;
  what: string;
  runbook: Runbook;
}

/** Upper-bound multipliers for the case's slow bucket; the first whose p95 does not sit on a %.2f rounding tie is used. */
const SLOW_MULTIPLIERS = [2, 3, 4, 1.5];

function slowBucket(threshold: number): { upper: number; p95: number } {
  for (const m of SLOW_MULTIPLIERS) {
    const upper = threshold * m;
    const p95 = threshold + (upper - threshold) * 0.95;
    const frac = Math.abs(((p95 * 1000) % 10) - 5);
    if (frac > 0.01) return { upper, p95 };
  }
  throw new Error(`no slow bucket for threshold ${threshold} avoids a rounding tie; add a multiplier to SLOW_MULTIPLIERS`);
}

export function latencyAlert(s: LatencySpec): AlertDef {
  return {
    name: s.name,
    category: 'performance',
    severity: s.severity,
    service: s.service,
    ...(s.dependency ? { dependency: s.dependency } : {}),
    panel: { dashboard: 'performance', id: s.panel },
    thresholdUnit: 'seconds',
    expr: (t) => {
      const w = windowOf(t, s.name);
      return [
        `histogram_quantile(0.95, sum by (le) (rate(${s.metric}_bucket[${w}]))) > ${numberOf(t, 'threshold', s.name)}`,
        `and on() sum(rate(${s.metric}_count[${w}])) > ${numberOf(t, 'minRate', s.name)}`,
      ].join('\n');
    },
    // A slow operation is observed only when it completes, i.e. at least `threshold` seconds after it started.
    sourceDelayS: (t) => numberOf(t, 'threshold', s.name),
    summary: s.summary,
    description: `p95 ${s.what} is {{ printf "%.2f" $value }} s over the last window.`,
    runbook: s.runbook,
    firing: (t) => {
      const thr = numberOf(t, 'threshold', s.name);
      const bounds = [thr / 8, thr / 4, thr / 2, thr];
      const slow = slowBucket(thr);
      bounds.push(slow.upper, Math.max(slow.upper, thr * 4) * 2);
      const phases: HistogramPhase[] = [
        { samples: BEFORE, observations: [[thr / 8, 10]] },
        { samples: AFTER, observations: [[slow.upper, 10]] },
      ];
      return [{ name: `every ${s.what.split(' ')[0]} lands above the threshold`, series: histogram(s.metric, s.labels, bounds, phases), faultAtS: FAULT_S, expect: [{ labels: {}, value: slow.p95 }] }];
    },
    quiet: (t) => {
      const thr = numberOf(t, 'threshold', s.name);
      const bounds = [thr / 8, thr / 4, thr / 2, thr, thr * 2, thr * 8];
      return [
        { name: 'fast throughout', series: histogram(s.metric, s.labels, bounds, [{ samples: TOTAL, observations: [[thr / 4, 10]] }]), evalAtS: [60, 120, 175] },
        {
          name: 'a few slow outliers (below 5%)',
          series: histogram(s.metric, s.labels, bounds, [
            { samples: BEFORE, observations: [[thr / 4, 40]] },
            { samples: AFTER, observations: [[thr / 4, 39], [thr * 2, 1]] },
          ]),
          evalAtS: [120, 175],
        },
        {
          name: 'slow but nearly idle (below minRate)',
          series: histogram(s.metric, s.labels, bounds, [
            { samples: BEFORE, observations: [] },
            { samples: 1, observations: [[thr * 2, 1]] },
            { samples: AFTER - 1, observations: [] },
          ]),
          evalAtS: [60, 65, 80],
        },
      ];
    },
  };
}
