// Load configuration from the environment: service base URLs, symbols, per-flow rates, lengths and limits. One parse, one
// clear error. Pure, so Node code that starts the scripts can read the same configuration; lib/env.ts applies it to __ENV.
import { DEFAULT_SYMBOLS, LINK_ENV, PORTS, TICKER } from './platform.ts';

export const FLOWS = ['runs', 'orders', 'signals', 'subscriptions', 'positions', 'pnl'] as const;
export type FlowName = (typeof FLOWS)[number];

export const SERVICES = ['execution-gateway', 'signal-service', 'orchestrator', 'market-data'] as const;
export type LoadService = (typeof SERVICES)[number];
export type ServiceUrls = Record<LoadService, string>;

/** Env var holding each service's base URL, and an example value for the error that names a missing one. */
export const URL_ENV = Object.fromEntries(SERVICES.map((s) => [s, { name: LINK_ENV[s], example: `http://127.0.0.1:${PORTS[s]}` }])) as Record<LoadService, { name: string; example: string }>;

/** Env var of each flow's rate override (per second). */
const RATE_ENV: Record<FlowName, string> = {
  runs: 'LOAD_RATE_RUNS',
  orders: 'LOAD_RATE_ORDERS',
  signals: 'LOAD_RATE_SIGNALS',
  subscriptions: 'LOAD_RATE_SUBSCRIPTIONS',
  positions: 'LOAD_RATE_POSITIONS',
  pnl: 'LOAD_RATE_PNL',
};

/**
 * Baseline arrival rates per second. The machine has 2 cores that also run Postgres, Redis, Prometheus, Alertmanager
 * and five Node services, so the mix is sized to use a modest share of it (about 8 client requests/s, roughly 25
 * service-side requests/s including the orchestrator's fan-out), while still giving every rate-based alert enough
 * events: 2 orders/s is 40 orders in a 20 s window, so a 5% error ratio is 2 failed orders, not noise.
 * - runs 0.2/s: each run calls the signal service, reads positions and places up to ~6 orders, the heaviest flow.
 * - orders 2/s: the order path is what most trading alerts watch (placement latency, rejects, "no orders").
 * - signals 1/s, positions 1/s, pnl 1/s: cheap reads that keep request-rate and Redis/Postgres gauges meaningful.
 * - subscriptions 0.1/s: three market-data calls each; subscription churn is rare in production.
 */
export const BASELINE_RATES: Readonly<Record<FlowName, number>> = { runs: 0.2, orders: 2, signals: 1, subscriptions: 0.1, positions: 1, pnl: 1 };

/**
 * Where the stress ramp of orders ends by default (LOAD_STRESS_PEAK overrides it). Measured on the 2-core machine with
 * the whole stack on it (2026-12-01, two runs): the order path held p99 < 500 ms up to ~425-575 orders/s offered and
 * broke at ~475-625/s, so a ramp to 1200/s over 120 s crosses the knee 45-60 s in; the earlier 80/s never reached it.
 */
const STRESS_PEAK_ORDERS_PER_S = 1200;

/** The slowest rate k6 can be given exactly enough here: 1 iteration per 1000 s (see perTimeUnit in mix.ts). */
const MIN_RATE_PER_S = 0.001;

export interface LoadConfig {
  urls: ServiceUrls;
  symbols: string[];
  /** Symbols the order, run and signal flows trade. */
  tradeSymbols: string[];
  /** Symbols the subscription flow unsubscribes and resubscribes; disjoint from tradeSymbols so quotes that P&L and signals read never pause. */
  churnSymbols: string[];
  /** Per second, LOAD_RATE_SCALE applied. */
  rates: Record<FlowName, number>;
  /** LOAD_DURATION as given (a k6 duration); each scenario has its own default. */
  duration?: string;
  /** In-flight cap (k6 maxVUs) of the flows the services do not cap themselves. */
  maxInFlight: number;
  requestTimeoutMs: number;
  /** LOAD_STRESS_PEAK: the order rate (per second) the stress ramp ends at. */
  stressPeakOrdersPerS: number;
  /** The services' ADMIN_TOKEN, sent by setup when it activates a model; unset against a loopback stack without one. */
  adminToken?: string;
  reportDir: string;
}

export class LoadConfigError extends Error {}

const GO_DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/;
const UNIT_S: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** A k6 (Go) duration such as "30s", "10m", "6h", "1m30s" or "250ms" -> seconds; undefined when it is not one or not above zero. */
export function durationSeconds(text: string): number | undefined {
  if (!/^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(text)) return undefined;
  const part = new RegExp(GO_DURATION_PART.source, 'g');
  let s = 0;
  for (let m = part.exec(text); m !== null; m = part.exec(text)) s += Number(m[1]) * UNIT_S[m[2]!]!;
  return s > 0 ? s : undefined;
}

type Env = Record<string, string | undefined>;

/** Parses the environment; every bad or missing value is collected, so one error names them all. */
export function loadConfig(env: Env): LoadConfig {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const bad = (name: string, v: string, want: string): void => {
    problems.push(`${name}="${v}" is not ${want}`);
  };
  const number = (name: string, fallback: number, ok: (n: number) => boolean, want: string): number => {
    const v = value(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!ok(n)) bad(name, v, want);
    return n;
  };

  const urls = {} as ServiceUrls;
  const missing: string[] = [];
  for (const service of SERVICES) {
    const { name, example } = URL_ENV[service];
    const v = value(name);
    if (v === undefined) missing.push(`${name} (e.g. ${example})`);
    else if (!/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(v)) bad(name, v, `an http(s) base URL like ${example}`);
    else urls[service] = v.replace(/\/+$/, '');
  }
  if (missing.length > 0) problems.unshift(`missing ${missing.join(', ')}: the base URL of each service the load drives (k6 run -e NAME=URL, or the environment)`);

  const symbolsText = value('SYMBOLS') ?? DEFAULT_SYMBOLS;
  const symbols = symbolsText.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== '');
  if (symbols.length === 0 || !symbols.every((s) => TICKER.test(s))) bad('SYMBOLS', symbolsText, 'a comma-separated list of tickers like AAPL,MSFT');

  const positive = (n: number): boolean => Number.isFinite(n) && n > 0;
  const scale = number('LOAD_RATE_SCALE', 1, positive, 'a positive number');
  const rates = {} as Record<FlowName, number>;
  for (const flow of FLOWS) {
    const name = RATE_ENV[flow];
    rates[flow] = number(name, BASELINE_RATES[flow], positive, 'a positive number (iterations per second)') * scale;
    if (positive(rates[flow]) && positive(scale) && rates[flow] < MIN_RATE_PER_S) {
      problems.push(`${name} x LOAD_RATE_SCALE = ${rates[flow]}/s is below ${MIN_RATE_PER_S}/s (1 iteration per 1000 s)`);
    }
  }

  const duration = value('LOAD_DURATION');
  if (duration !== undefined && durationSeconds(duration) === undefined) bad('LOAD_DURATION', duration, 'a k6 duration above zero like 30s, 10m, 6h or 1m30s');

  const maxInFlight = number('LOAD_MAX_IN_FLIGHT', 50, (n) => Number.isInteger(n) && n >= 1, 'a whole number of at least 1');
  const requestTimeoutMs = number('LOAD_REQUEST_TIMEOUT_MS', 10_000, (n) => Number.isInteger(n) && n >= 100, 'a whole number of milliseconds of at least 100');

  const stressPeakOrdersPerS = number('LOAD_STRESS_PEAK', STRESS_PEAK_ORDERS_PER_S, (n) => Number.isInteger(n) && n >= 1, 'a whole number of orders per second of at least 1');

  if (problems.length > 0) throw new LoadConfigError(`load: invalid configuration from environment: ${problems.join('; ')}`);

  // Trade on the first 60% of the universe, keep at least one symbol to churn (a lone symbol is both).
  const tradeCount = symbols.length > 1 ? Math.min(symbols.length - 1, Math.ceil(symbols.length * 0.6)) : 1;
  const tradeSymbols = symbols.slice(0, tradeCount);
  const churnSymbols = symbols.length > 1 ? symbols.slice(tradeCount) : symbols;
  const adminToken = value('ADMIN_TOKEN');
  return {
    urls,
    symbols,
    tradeSymbols,
    churnSymbols,
    rates,
    ...(duration === undefined ? {} : { duration }),
    maxInFlight,
    requestTimeoutMs,
    stressPeakOrdersPerS,
    ...(adminToken === undefined ? {} : { adminToken }),
    reportDir: value('LOAD_REPORT_DIR') ?? 'reports/load',
  };
}
