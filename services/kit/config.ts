// Service configuration from the environment, validated with zod; a bad value stops startup with one clear line.
import { z } from 'zod';
import { TICKER } from './platform.ts';

export class ConfigError extends Error {}

export function loadConfig<S extends z.ZodTypeAny>(service: string, schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  throw new ConfigError(`${service}: invalid configuration from environment: ${lines.join('; ')}`);
}

/** Fields every service shares. */
export const baseEnv = {
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How often connection-status gauges are re-probed; must be well under the scrape interval. */
  PROBE_INTERVAL_MS: z.coerce.number().int().min(100).default(1000),
};

export const symbolList = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim().toUpperCase()).filter(Boolean))
  .pipe(z.array(z.string().regex(TICKER)).min(1));

/** fake-alpaca's keys, the defaults wherever Alpaca keys are read; never valid at a real broker. */
export const TEST_KEYS = { keyId: 'test-key', secretKey: 'test-secret' } as const;
