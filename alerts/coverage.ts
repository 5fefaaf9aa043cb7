// Test coverage of the alert rules: every alert needs a promtool case where it fires and one where it stays quiet.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ALWAYS_FIRING } from './catalog/index.ts';
import { ALERTS_DIR } from './model.ts';
import { loadRules, type Rule } from './budget.ts';

interface PromtoolCheck {
  alertname: string;
  exp_alerts?: unknown[];
}

interface PromtoolFile {
  tests?: Array<{ name?: string; alert_rule_test?: PromtoolCheck[] }>;
}

export interface Coverage {
  firing: Map<string, number>;
  quiet: Map<string, number>;
}

/** Counts, per alert, the test groups that expect it firing and the groups that only expect it quiet. */
export function testCoverage(dir = path.join(ALERTS_DIR, 'tests')): Coverage {
  const firing = new Map<string, number>();
  const quiet = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.yml'))) {
    const doc = parse(fs.readFileSync(path.join(dir, f), 'utf8')) as PromtoolFile;
    for (const group of doc.tests ?? []) {
      const checks = group.alert_rule_test ?? [];
      for (const name of new Set(checks.map((c) => c.alertname))) {
        const mine = checks.filter((c) => c.alertname === name);
        if (mine.some((c) => (c.exp_alerts ?? []).length > 0)) bump(firing, name);
        else bump(quiet, name);
      }
    }
  }
  return { firing, quiet };
}

/** One line per alert that lacks a firing case, or a quiet case (except the catalog's always-firing alerts). */
export function coverageGaps(rules: Rule[] = loadRules(), coverage: Coverage = testCoverage(), alwaysFiring: ReadonlySet<string> = new Set(ALWAYS_FIRING)): string[] {
  const gaps: string[] = [];
  for (const r of rules) {
    if (!coverage.firing.get(r.alert)) gaps.push(`${r.alert} has no promtool test where it fires`);
    if (!alwaysFiring.has(r.alert) && !coverage.quiet.get(r.alert)) gaps.push(`${r.alert} has no promtool test where it stays quiet`);
  }
  return gaps;
}
