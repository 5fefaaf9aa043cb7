// Load configuration from the environment: service base URLs, per-flow rates, durations, outputs. One parse, one clear error.
import { z } from 'zod';
import { DEFAULT_SYMBOLS, symbolList } from '../../services/kit/config.ts';

export const SERVICES = ['execution-gateway', 'signal-service', 'orchestrator', 'market-data'] as const;
export type LoadService = (typeof SERVICES)[number];
export type ServiceUrls = Record<LoadService, string>;

/** Env var holding each service's base URL. */
export const URL_ENV: Record<LoadService, string> = {
  'execution-gateway': 'EXECUTION_GATEWAY_URL',
  'signal-service': 'SIGNAL_SERVICE_URL',
  orchestrator: 'ORCHESTRATOR_URL',
  'market-data': 'MARKET_DATA_URL',
};

export const FLOWS = ['runs', 'orders', 'signals', 'subscriptions', 'positions', 'pnl'] as const;
export type FlowName = (typeof FLOWS)[number];

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
export const BASELINE_RATES: Record<FlowName, number> = { runs: 0.2, orders: 2, signals: 1, subscriptions: 0.1, positions: 1, pnl: 1 };

const rate = z.coerce.number().positive().finite();

export class LoadConfigError extends Error {}

/** "30s", "5m", "1h", "250ms" or plain seconds -> seconds. */
export function parseDurationS(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new LoadConfigError(`duration "${text}" is not like 30s, 5m, 1h or 250ms`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const s = unit === 'ms' ? n / 1000 : unit === 'm' ? n * 60 : unit === 'h' ? n * 3600 : n;
  if (!(s > 0)) throw new LoadConfigError(`duration "${text}" must be greater than zero`);
  return s;
}

const duration = z.string().transform((s, ctx) => {
  try {
    return parseDurationS(s);
  } catch (err) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
    return z.NEVER;
  }
});

const schema = z.object({
  EXECUTION_GATEWAY_URL: z.string().optional(),
  SIGNAL_SERVICE_URL: z.string().optional(),
  ORCHESTRATOR_URL: z.string().optional(),
  MARKET_DATA_URL: z.string().optional(),
  SYMBOLS: symbolList.default(DEFAULT_SYMBOLS),
  LOAD_RATE_RUNS: rate.default(BASELINE_RATES.runs),
  LOAD_RATE_ORDERS: rate.default(BASELINE_RATES.orders),
  LOAD_RATE_SIGNALS: rate.default(BASELINE_RATES.signals),
  LOAD_RATE_SUBSCRIPTIONS: rate.default(BASELINE_RATES.subscriptions),
  LOAD_RATE_POSITIONS: rate.default(BASELINE_RATES.positions),
  LOAD_RATE_PNL: rate.default(BASELINE_RATES.pnl),
  /** Multiplies every rate: 0.5 halves the baseline, 2 doubles it. */
  LOAD_RATE_SCALE: rate.default(1),
  /** Scenario length override (soak's length); the CLI's --duration wins over it. */
  LOAD_DURATION: duration.optional(),
  LOAD_RAW_FILE: z.string().min(1).optional(),
  LOAD_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  LOAD_REPORT_DIR: z.string().min(1).optional(),
  LOAD_MAX_IN_FLIGHT: z.coerce.number().int().min(1).default(50),
  LOAD_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** The services' ADMIN_TOKEN, sent by setup when it activates a model; unset against a loopback stack without one. */
  ADMIN_TOKEN: z.string().optional(),
});

export interface LoadConfig {
  /** Only the URLs set in the environment; the CLI fills the rest from a running or started stack. */
  urls: Partial<ServiceUrls>;
  symbols: string[];
  /** Symbols the order, run and signal flows trade. */
  tradeSymbols: string[];
  /** Symbols the subscription flow unsubscribes and resubscribes; disjoint from tradeSymbols so quotes that P&L and signals read never pause. */
  churnSymbols: string[];
  rates: Record<FlowName, number>;
  durationS?: number;
  rawFile?: string;
  metricsPort?: number;
  reportDir?: string;
  maxInFlight: number;
  requestTimeoutMs: number;
  adminToken?: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): LoadConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new LoadConfigError(`load: invalid configuration from environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
  const urls: Partial<ServiceUrls> = {};
  for (const service of SERVICES) {
    const value = e[URL_ENV[service] as keyof typeof e];
    if (typeof value === 'string' && value !== '') urls[service] = value;
  }
  // Trade on most of the universe, keep at least one symbol to churn.
  const tradeCount = e.SYMBOLS.length > 1 ? Math.max(1, Math.ceil(e.SYMBOLS.length * 0.6)) : 1;
  const tradeSymbols = e.SYMBOLS.slice(0, tradeCount);
  const churnSymbols = e.SYMBOLS.length > 1 ? e.SYMBOLS.slice(tradeCount) : e.SYMBOLS;
  const scale = e.LOAD_RATE_SCALE;
  return {
    urls,
    symbols: e.SYMBOLS,
    tradeSymbols,
    churnSymbols,
    rates: {
      runs: e.LOAD_RATE_RUNS * scale,
      orders: e.LOAD_RATE_ORDERS * scale,
      signals: e.LOAD_RATE_SIGNALS * scale,
      subscriptions: e.LOAD_RATE_SUBSCRIPTIONS * scale,
      positions: e.LOAD_RATE_POSITIONS * scale,
      pnl: e.LOAD_RATE_PNL * scale,
    },
    durationS: e.LOAD_DURATION,
    rawFile: e.LOAD_RAW_FILE,
    metricsPort: e.LOAD_METRICS_PORT,
    reportDir: e.LOAD_REPORT_DIR,
    maxInFlight: e.LOAD_MAX_IN_FLIGHT,
    requestTimeoutMs: e.LOAD_REQUEST_TIMEOUT_MS,
    ...(e.ADMIN_TOKEN ? { adminToken: e.ADMIN_TOKEN } : {}),
  };
}
