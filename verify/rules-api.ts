// The alert rules an attached Prometheus runs, read from its /api/v1/rules, in the shape rule files give (RuleInfo).
import { rangeWindows } from '../alerts/promql.ts';
import type { RuleGroup } from './prometheus-api.ts';
import { metricsInExpr, type RuleInfo } from './rules.ts';

export function rulesFromApi(groups: RuleGroup[], source: string): RuleInfo[] {
  const out: RuleInfo[] = [];
  for (const g of groups) {
    for (const r of g.rules) {
      if (r.type !== 'alerting') continue;
      out.push({
        alertname: r.name,
        group: g.name,
        file: g.file || source,
        expr: r.query,
        forS: r.duration,
        longestRangeS: Math.max(0, ...rangeWindows(r.query)),
        metrics: metricsInExpr(r.query),
        labels: r.labels ?? {},
        annotations: r.annotations,
      });
    }
  }
  if (out.length === 0) throw new Error(`${source} runs no alerting rules`);
  return out;
}
