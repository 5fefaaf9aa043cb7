// Model kinds, validation of registry rows into loadable models, and the scoring math of each kind.
import { z } from 'zod';
import { plainText } from '../kit/validate.ts';

export const MODEL_KINDS = ['momentum', 'mean_reversion'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** market-data keeps 500 prices per symbol (LTRIM), so a longer lookback could never be satisfied. */
export const MAX_LOOKBACK = 500;
export const MAX_TOP_N = 100;

export const modelParamsSchema = z
  .object({
    lookback: z.number().int().min(2).max(MAX_LOOKBACK),
    topN: z.number().int().min(1).max(MAX_TOP_N),
  })
  .strict();
export type ModelParams = z.infer<typeof modelParamsSchema>;

/** Body of POST /models. */
export const newModelSchema = z
  .object({
    name: z.string().trim().pipe(plainText({ max: 100 })),
    version: z.number().int().min(1).max(2_147_483_647),
    kind: z.enum(MODEL_KINDS),
    params: modelParamsSchema,
  })
  .strict();
export type NewModel = z.infer<typeof newModelSchema>;

/** A model that passed validation and can score prices. */
export interface LoadedModel {
  id: number;
  name: string;
  version: number;
  kind: ModelKind;
  params: ModelParams;
}

/** What the registry stores; kind and params are unchecked because rows can be edited outside the API. */
export interface StoredModel {
  id: number;
  name: string;
  version: number;
  kind: string;
  params: unknown;
}

export type Validation = { ok: true; model: LoadedModel } | { ok: false; problems: string[] };

export function validateModel(row: StoredModel): Validation {
  const problems: string[] = [];
  const kind = z.enum(MODEL_KINDS).safeParse(row.kind);
  if (!kind.success) problems.push(`kind: "${row.kind}" is not one of ${MODEL_KINDS.join(', ')}`);
  const params = modelParamsSchema.safeParse(row.params);
  if (!params.success) {
    for (const issue of params.error.issues) problems.push(`params${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
  }
  if (!kind.success || !params.success) return { ok: false, problems };
  return { ok: true, model: { id: row.id, name: row.name, version: row.version, kind: kind.data, params: params.data } };
}

/**
 * Scores one symbol from its prices, newest first. Returns undefined when there are fewer than `lookback` usable prices.
 * momentum: return over the window, (newest - oldest) / oldest, using the `lookback` most recent prices.
 * mean_reversion: minus the z-score of the newest price against the window's mean and population standard deviation
 * (0 when the window is flat), so prices far above their mean score low and are shorted.
 */
export function scorePrices(kind: ModelKind, pricesNewestFirst: readonly number[], lookback: number): number | undefined {
  if (pricesNewestFirst.length < lookback) return undefined;
  const window = pricesNewestFirst.slice(0, lookback);
  if (!window.every((p) => Number.isFinite(p) && p > 0)) return undefined;
  const newest = window[0]!;
  if (kind === 'momentum') {
    const oldest = window[lookback - 1]!;
    return (newest - oldest) / oldest;
  }
  const mean = window.reduce((a, p) => a + p, 0) / lookback;
  const variance = window.reduce((a, p) => a + (p - mean) ** 2, 0) / lookback;
  if (variance === 0) return 0;
  const z = (newest - mean) / Math.sqrt(variance);
  // Negating 0 would give -0, which is not the score a newest-price-at-the-mean symbol should report.
  return z === 0 ? 0 : -z;
}
