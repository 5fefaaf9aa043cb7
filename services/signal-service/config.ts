// Signal-service configuration from the environment (kit base fields plus its database, Redis, universe and poll interval).
import { z } from 'zod';
import { adminTokenEnv, requireAdminTokenBeyondLoopback } from '../kit/admin.ts';
import { baseEnv, loadConfig, symbolList } from '../kit/config.ts';
import { DEFAULT_SYMBOLS, LINK_ENV } from '../kit/platform.ts';

const signalEnv = z.object({
  ...baseEnv,
  ...adminTokenEnv,
  [LINK_ENV.postgres]: z.string().url(),
  [LINK_ENV.redis]: z.string().url(),
  SYMBOLS: symbolList.default(DEFAULT_SYMBOLS),
  /** How often the registry is polled for a newly activated model. */
  MODEL_POLL_MS: z.coerce.number().int().min(50).default(2000),
});

export type SignalConfig = z.infer<typeof signalEnv>;

export function loadSignalConfig(env: NodeJS.ProcessEnv): SignalConfig {
  const config = loadConfig('signal-service', signalEnv, env);
  requireAdminTokenBeyondLoopback('signal-service', config.HOST, config.ADMIN_TOKEN, 'POST /models/:id/activate and /models/reload');
  return config;
}
