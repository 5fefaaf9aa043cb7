// fake-alpaca options from the environment (HOST, PORT, ADMIN_PORT, SYMBOLS, SEED, TICK_MS, ALPACA_KEY_ID, ALPACA_SECRET_KEY, LOG_LEVEL).
import { z } from 'zod';
import { baseEnv, DEFAULT_SYMBOLS, loadConfig, symbolList } from '../kit/config.ts';
import type { FakeAlpacaOptions } from './server.ts';

const schema = z.object({
  HOST: baseEnv.HOST,
  PORT: baseEnv.PORT,
  LOG_LEVEL: baseEnv.LOG_LEVEL,
  ADMIN_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  SYMBOLS: symbolList.default(DEFAULT_SYMBOLS),
  SEED: z.coerce.number().int().min(0).max(0xffffffff).default(1),
  TICK_MS: z.coerce.number().int().min(10).max(60_000).default(200),
  ALPACA_KEY_ID: z.string().min(1).default('test-key'),
  ALPACA_SECRET_KEY: z.string().min(1).default('test-secret'),
});

export function loadFakeAlpacaConfig(env: NodeJS.ProcessEnv): FakeAlpacaOptions {
  const c = loadConfig('fake-alpaca', schema, env);
  return {
    host: c.HOST,
    port: c.PORT,
    adminPort: c.ADMIN_PORT,
    symbols: c.SYMBOLS,
    seed: c.SEED,
    tickMs: c.TICK_MS,
    keyId: c.ALPACA_KEY_ID,
    secretKey: c.ALPACA_SECRET_KEY,
    logLevel: c.LOG_LEVEL,
  };
}
