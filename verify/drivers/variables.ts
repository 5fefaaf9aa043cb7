// The ${name} placeholders a fault step may use, filled in when the step is injected.
import { requestJson } from '../http-json.ts';
import type { FaultContext } from '../scenario.ts';

export type Variables = Readonly<Record<string, string>>;

const PLACEHOLDER = /\$\{(\w+)\}/g;

/** Values only this injection knows, computed when a step uses them. */
const SOURCES: Record<string, (ctx: FaultContext) => Promise<string>> = {
  stamp: async () => `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`,
  async untradedSymbol(ctx) {
    const symbol = ctx.load?.untradedSymbols.at(-1);
    if (!symbol) throw new Error('${untradedSymbol} needs the baseline load running with a symbol it does not trade (SYMBOLS has one left over)');
    return symbol;
  },
  // A symbol with no exposure at the gateway (positions plus open orders): a capital-1 run on it computes a zero
  // target and a zero delta, so it submits nothing.
  async idleSymbol(ctx) {
    const gateway = ctx.targets['execution-gateway']?.url;
    const marketData = ctx.targets['market-data']?.url;
    if (!gateway || !marketData) throw new Error('${idleSymbol} needs the URLs of execution-gateway and market-data');
    const exposure = (await requestJson({ what: 'execution-gateway', url: `${gateway}/exposure` })) as { exposure?: { symbol: string }[] };
    const held = new Set((exposure.exposure ?? []).map((e) => e.symbol));
    const universe = ((await requestJson({ what: 'market-data', url: `${marketData}/subscriptions` })) as { subscribed?: string[] }).subscribed ?? [];
    const symbol = universe.find((s) => !held.has(s));
    if (!symbol) throw new Error(`\${idleSymbol}: every subscribed symbol (${universe.join(', ')}) has exposure at the gateway`);
    return symbol;
  },
};

export const VARIABLE_NAMES = Object.keys(SOURCES);

/** Placeholder names used anywhere in a value. */
export function placeholders(value: unknown): string[] {
  return [...new Set([...JSON.stringify(value ?? null).matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

/** Computes the variables a value uses (plus `extra`, e.g. a repeat index, which is not computed). */
export async function variablesFor(value: unknown, ctx: FaultContext, extra: readonly string[] = []): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of placeholders(value)) {
    if (extra.includes(name)) continue;
    const source = SOURCES[name];
    if (!source) throw new Error(`unknown placeholder \${${name}}; known: ${[...VARIABLE_NAMES, ...extra].join(', ')}`);
    out[name] = await source(ctx);
  }
  return out;
}

/** A copy of value with every ${name} in its strings replaced. */
export function expand<T>(value: T, vars: Variables): T {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (whole, name: string) => {
      const v = vars[name];
      if (v === undefined) throw new Error(`no value for ${whole}`);
      return v;
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => expand(v, vars)) as T;
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, vars)])) as T;
  return value;
}
