// Execution gateway configuration from the environment (see docs/contracts.md "execution-gateway").
import { z } from 'zod';
import { adminTokenEnv, requireAdminTokenBeyondLoopback } from '../kit/admin.ts';
import { baseEnv, ConfigError, loadConfig, symbolList, TEST_KEYS } from '../kit/config.ts';
import { DEFAULT_SYMBOLS, LINK_ENV } from '../kit/platform.ts';
import { isLoopbackHost } from '../kit/loopback.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .default('false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z.object({
  ...baseEnv,
  ...adminTokenEnv,
  [LINK_ENV.postgres]: z.string().url(),
  [LINK_ENV.redis]: z.string().url(),
  [LINK_ENV.broker]: z.string().url(),
  ALPACA_KEY_ID: z.string().min(1).default(TEST_KEYS.keyId),
  ALPACA_SECRET_KEY: z.string().min(1).default(TEST_KEYS.secretKey),
  SYMBOLS: symbolList.default(DEFAULT_SYMBOLS),
  DRY_RUN: bool,
  /** Largest absolute position per symbol, counting open orders, that risk checks allow. */
  MAX_POSITION_QTY: z.coerce.number().positive().default(1000),
  /** Per-request timeout towards the broker; one placement may take (retries + 1) of these. */
  ALPACA_TIMEOUT_MS: z.coerce.number().int().min(10).default(1000),
  ALPACA_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  /**
   * Longest POST /orders takes to answer: a recorded order still waiting on the broker is answered 202 by then (its
   * submit goes on), one not yet recorded 503. Callers' timeouts must exceed it (tests/timeout-chain.test.ts).
   */
  PLACEMENT_DEADLINE_MS: z.coerce.number().int().min(100).default(2000),
  /** How often pending_submit orders are retried and open orders synced with the broker. */
  RESUBMIT_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
});

export type GatewayConfig = z.infer<typeof schema>;

export function loadGatewayConfig(env: NodeJS.ProcessEnv): GatewayConfig {
  const config = loadConfig('execution-gateway', schema, env);
  requireAdminTokenBeyondLoopback('execution-gateway', config.HOST, config.ADMIN_TOKEN, 'POST /circuit-breaker/trip and /circuit-breaker/reset');
  const broker = new URL(config.ALPACA_BASE_URL);
  if (!isLoopbackHost(broker.hostname) && (config.ALPACA_KEY_ID === TEST_KEYS.keyId || config.ALPACA_SECRET_KEY === TEST_KEYS.secretKey)) {
    throw new ConfigError(
      `execution-gateway: ALPACA_BASE_URL ${broker.origin} is not loopback, so it is not fake-alpaca, yet ALPACA_KEY_ID/ALPACA_SECRET_KEY are fake-alpaca's test keys; set the broker's real ALPACA_KEY_ID and ALPACA_SECRET_KEY`,
    );
  }
  return config;
}
