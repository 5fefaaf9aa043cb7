// Mutation check: break every alert rule in a copy of the rules (threshold x10, `for` past the budget, or a
// renamed metric) so a verify-alerts run against the copy must fail for each rule it broke.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export type MutationKind = 'threshold' | 'for' | 'metric';
export const MUTATION_KINDS: MutationKind[] = ['threshold', 'for', 'metric'];

interface RuleDoc {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string; for?: string }[] }[];
}

/** Pushes every numeric comparison threshold tenfold away from firing; undefined when the expression has none. */
export function mutateThreshold(expr: string): string | undefined {
  let changed = false;
  const out = expr.replace(/(^|[^=!<>])(>=?|<=?)\s*(\d+(?:\.\d+)?(?:e[-+]?\d+)?)(?![\w.])/gi, (m, pre: string, op: string, num: string) => {
    const n = Number(num);
    if (n === 0) return m;
    changed = true;
    const v = op.startsWith('>') ? n * 10 : n / 10;
    return `${pre}${op} ${Number(v.toPrecision(6))}`;
  });
  return changed ? out : undefined;
}

/** Renames the first metric selector, so the expression selects nothing. */
export function mutateMetric(expr: string, metrics: readonly string[]): string | undefined {
  const m = metrics.find((name) => new RegExp(`\\b${name}\\b`).test(expr));
  return m ? expr.replace(new RegExp(`\\b${m}\\b`, 'g'), `${m}_mutated`) : undefined;
}

/** Rewrites every alert rule in `dir`; returns the alert names mutated (rules a kind cannot apply to are left alone). */
export function mutateRulesDir(dir: string, kind: MutationKind, metricsOf: (expr: string) => string[], skip: ReadonlySet<string> = new Set(['Watchdog'])): string[] {
  const mutated: string[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    const full = path.join(dir, file);
    const doc = YAML.parse(fs.readFileSync(full, 'utf8')) as RuleDoc;
    for (const g of doc.groups ?? []) {
      for (const r of g.rules) {
        if (!r.alert || skip.has(r.alert)) continue;
        let next: string | undefined;
        if (kind === 'threshold') next = mutateThreshold(r.expr);
        else if (kind === 'metric') next = mutateMetric(r.expr, metricsOf(r.expr));
        if (kind === 'for') {
          r.for = '2m';
          mutated.push(r.alert);
        } else if (next !== undefined) {
          r.expr = next;
          mutated.push(r.alert);
        }
      }
    }
    fs.writeFileSync(full, YAML.stringify(doc));
  }
  return [...new Set(mutated)];
}
