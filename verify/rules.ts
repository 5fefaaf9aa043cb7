// Reads alert rule files: each alert's expression, `for`, longest range window, and the metrics it references.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { metricsInExpr as metricSet, rangeWindows } from '../alerts/promql.ts';
import { seconds } from '../alerts/model.ts';

export interface RuleInfo {
  alertname: string;
  group: string;
  file: string;
  expr: string;
  forS: number;
  longestRangeS: number;
  metrics: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Metric names an expression selects, sorted (read from the syntax tree by alerts/promql.ts, one place for it). */
export function metricsInExpr(expr: string): string[] {
  return [...metricSet(expr)].sort();
}

interface RuleFile {
  groups?: { name: string; rules?: { alert?: string; expr: string | number; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
}

export function loadRules(dir: string): RuleInfo[] {
  const out: RuleInfo[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const doc = YAML.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as RuleFile | null;
    for (const g of doc?.groups ?? []) {
      for (const r of g.rules ?? []) {
        if (!r.alert) continue;
        const expr = String(r.expr);
        const ranges = rangeWindows(expr);
        out.push({
          alertname: r.alert,
          group: g.name,
          file,
          expr,
          forS: r.for ? seconds(r.for) : 0,
          longestRangeS: Math.max(0, ...ranges),
          metrics: metricsInExpr(expr),
          labels: r.labels ?? {},
          annotations: r.annotations ?? {},
        });
      }
    }
  }
  if (out.length === 0) throw new Error(`no alert rules found in ${dir}`);
  return out;
}
