// market-data configuration from the environment (see docs/contracts.md "market-data").
import { z } from 'zod';
import { baseEnv, ConfigError, loadConfig, symbolList } from '../kit/config.ts';
import { DEFAULT_SYMBOLS, LINK_ENV } from '../kit/platform.ts';

export interface MarketDataConfig {
  host: string;
  port: number;
  logLevel: string;
  probeIntervalMs: number;
  redisUrl: string;
  dataWsUrl: string;
  keyId: string;
  secretKey: string;
  /** Absent: position sync is off (no gateway to follow). */
  gatewayUrl: string | undefined;
  symbols: string[];
  initialSubscriptions: string[];
  positionSyncMs: number;
  staleAfterMs: number;
  streamHealthyAfterMs: number;
  /** How long a subscribe/unsubscribe request waits for the stream's confirmation. */
  subscriptionTimeoutMs: number;
}

const schema = z.object({
  ...baseEnv,
  [LINK_ENV.redis]: z.string().url(),
  [LINK_ENV.brokerStream]: z.string().url().refine((u) => /^wss?:\/\//.test(u), 'must be a ws:// or wss:// URL'),
  ALPACA_KEY_ID: z.string().min(1).default('test-key'),
  ALPACA_SECRET_KEY: z.string().min(1).default('test-secret'),
  [LINK_ENV['execution-gateway']]: z.string().url().optional(),
  SYMBOLS: symbolList.default(DEFAULT_SYMBOLS),
  // Unset: the whole universe; empty string: start with no subscriptions.
  INITIAL_SUBSCRIPTIONS: z.string().optional(),
  POSITION_SYNC_MS: z.coerce.number().int().min(100).default(5000),
  STALE_AFTER_MS: z.coerce.number().int().min(200).default(5000),
  // Past the 5 s backoff cap: a feed that keeps dropping within seconds of each connect never resets the backoff.
  STREAM_HEALTHY_AFTER_MS: z.coerce.number().int().min(100).default(10_000),
  SUBSCRIPTION_TIMEOUT_MS: z.coerce.number().int().min(100).default(2000),
});

export function loadMarketDataConfig(env: NodeJS.ProcessEnv = process.env): MarketDataConfig {
  const e = loadConfig('market-data', schema, env);
  const initial = e.INITIAL_SUBSCRIPTIONS === undefined ? e.SYMBOLS : parseInitial(e.INITIAL_SUBSCRIPTIONS, e.SYMBOLS);
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    probeIntervalMs: e.PROBE_INTERVAL_MS,
    redisUrl: e.REDIS_URL,
    dataWsUrl: e.ALPACA_DATA_WS_URL,
    keyId: e.ALPACA_KEY_ID,
    secretKey: e.ALPACA_SECRET_KEY,
    gatewayUrl: e.EXECUTION_GATEWAY_URL,
    symbols: e.SYMBOLS,
    initialSubscriptions: initial,
    positionSyncMs: e.POSITION_SYNC_MS,
    staleAfterMs: e.STALE_AFTER_MS,
    streamHealthyAfterMs: e.STREAM_HEALTHY_AFTER_MS,
    subscriptionTimeoutMs: e.SUBSCRIPTION_TIMEOUT_MS,
  };
}

function parseInitial(raw: string, universe: string[]): string[] {
  const list = raw.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  const outside = list.filter((s) => !universe.includes(s));
  if (outside.length > 0) {
    throw new ConfigError(`market-data: invalid configuration from environment: INITIAL_SUBSCRIPTIONS: ${outside.join(',')} not in SYMBOLS; add them to SYMBOLS or drop them`);
  }
  return list;
}
