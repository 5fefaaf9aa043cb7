// orchestrator configuration from the environment (see docs/contracts.md "orchestrator").
import { z } from 'zod';
import { baseEnv, loadConfig, symbolList } from '../kit/config.ts';
import { DEFAULT_SYMBOLS, LINK_ENV } from '../kit/platform.ts';

export interface OrchestratorConfig {
  host: string;
  port: number;
  logLevel: string;
  probeIntervalMs: number;
  databaseUrl: string;
  /** Latest prices for sizing come from the quote:<SYM> hashes market-data writes. */
  redisUrl: string;
  signalServiceUrl: string;
  gatewayUrl: string;
  symbols: string[];
  /** Dollars a run sizes target positions against, unless the request names its own. */
  capital: number;
  /** 0 = no periodic runs. */
  runIntervalMs: number;
  /**
   * Per-request timeout for calls to the signal service and the gateway; above the gateway's slowest answer (its
   * placement deadline, or one Postgres query for GET /exposure), so the orchestrator never records as failed an
   * order the gateway took (tests/timeout-chain.test.ts derives both from the configs).
   */
  requestTimeoutMs: number;
}

const schema = z.object({
  ...baseEnv,
  [LINK_ENV.postgres]: z.string().url(),
  [LINK_ENV.redis]: z.string().url(),
  [LINK_ENV['signal-service']]: z.string().url(),
  [LINK_ENV['execution-gateway']]: z.string().url(),
  SYMBOLS: symbolList.default(DEFAULT_SYMBOLS),
  CAPITAL: z.coerce.number().positive().default(100_000),
  RUN_INTERVAL_MS: z.coerce.number().int().min(0).default(0),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(50).default(8000),
});

export function loadOrchestratorConfig(env: NodeJS.ProcessEnv = process.env): OrchestratorConfig {
  const e = loadConfig('orchestrator', schema, env);
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    probeIntervalMs: e.PROBE_INTERVAL_MS,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    signalServiceUrl: e.SIGNAL_SERVICE_URL.replace(/\/$/, ''),
    gatewayUrl: e.EXECUTION_GATEWAY_URL.replace(/\/$/, ''),
    symbols: e.SYMBOLS,
    capital: e.CAPITAL,
    runIntervalMs: e.RUN_INTERVAL_MS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
  };
}
