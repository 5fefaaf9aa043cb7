// fake-alpaca options from the environment (HOST, PORT, ADMIN_PORT, ADMIN_TOKEN, SYMBOLS, SEED, TICK_MS, ALPACA_KEY_ID, ALPACA_SECRET_KEY, LOG_LEVEL).
import { z } from 'zod';
import { adminTokenEnv } from '../kit/admin.ts';
import { baseEnv, loadConfig, symbolList, TEST_KEYS } from '../kit/config.ts';
import { DEFAULT_SYMBOLS } from '../kit/platform.ts';
import type { FakeAlpacaOptions } from './server.ts';

const schema = z.object({
  HOST: baseEnv.HOST,
  PORT: baseEnv.PORT,
  LOG_LEVEL: baseEnv.LOG_LEVEL,
  ADMIN_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  ...adminTokenEnv,
  SYMBOLS: symbolList.default(DEFAULT_SYMBOLS),
  SEED: z.coerce.number().int().min(0).max(0xffffffff).default(1),
  TICK_MS: z.coerce.number().int().min(10).max(60_000).default(200),
  ALPACA_KEY_ID: z.string().min(1).default(TEST_KEYS.keyId),
  ALPACA_SECRET_KEY: z.string().min(1).default(TEST_KEYS.secretKey),
});

export function loadFakeAlpacaConfig(env: NodeJS.ProcessEnv): FakeAlpacaOptions {
  const c = loadConfig('fake-alpaca', schema, env);
  return {
    host: c.HOST,
    port: c.PORT,
    adminPort: c.ADMIN_PORT,
    adminToken: c.ADMIN_TOKEN,
    symbols: c.SYMBOLS,
    seed: c.SEED,
    tickMs: c.TICK_MS,
    keyId: c.ALPACA_KEY_ID,
    secretKey: c.ALPACA_SECRET_KEY,
    logLevel: c.LOG_LEVEL,
  };
}
