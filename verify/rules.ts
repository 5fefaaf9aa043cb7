// Reads alert rule files: each alert's expression, `for`, longest range window, and the metrics it references.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

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

const UNIT_S: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/** Prometheus duration ("1m30s", "45s") to seconds. */
export function durationS(d: string | undefined): number {
  if (!d) return 0;
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(d))) {
    total += Number(m[1]) * UNIT_S[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed !== d.length) throw new Error(`not a Prometheus duration: "${d}"`);
  return total;
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan', 'atan2']);

/** Metric names an expression selects (functions, keywords, labels and grouping lists excluded). */
export function metricsInExpr(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/#.*$/gm, ' ');
  const names = new Set<string>();
  const re = /[A-Za-z_:][A-Za-z0-9_:]*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(stripped))) {
    const word = m[0];
    const before = stripped[m.index - 1] ?? ' ';
    const after = stripped.slice(m.index + word.length).trimStart()[0];
    if (after === '(' || KEYWORDS.has(word.toLowerCase()) || /[0-9.]/.test(before)) continue;
    names.add(word);
  }
  return [...names].sort();
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
        const ranges = [...expr.matchAll(/\[(\d+(?:ms|s|m|h|d|w|y))(?::[^\]]*)?\]/g)].map((x) => durationS(x[1]));
        out.push({
          alertname: r.alert,
          group: g.name,
          file,
          expr,
          forS: durationS(r.for),
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
