// Per-alert detection over several verify-alerts runs (their report.json files): the evidence that a verdict holds
// on repeat and under load. `npm run verify-summary -- <report dir or report.json>...` prints it as markdown, side by side
// per Prometheus version when the reports judged more than one.
import fs from 'node:fs';
import path from 'node:path';
import { median, type RunReport } from '../results.ts';

export interface AlertAcrossRuns {
  alertname: string;
  scenario: string;
  runs: number;
  passes: number;
  budgetS?: number;
  deadlineS: number;
  detectionMaxS?: number;
  detectionMedianS?: number;
  resetMaxS?: number;
}

/** Every report.json under the given paths (a report.json, a run folder, or a --repeat folder of run-N folders). */
export function findReports(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    const st = fs.statSync(p);
    if (st.isFile()) out.push(p);
    else if (fs.existsSync(path.join(p, 'report.json'))) out.push(path.join(p, 'report.json'));
    else for (const d of fs.readdirSync(p).sort()) if (fs.statSync(path.join(p, d)).isDirectory()) walk(path.join(p, d));
  };
  for (const p of paths) walk(p);
  return out;
}

export function acrossRuns(reports: readonly RunReport[]): AlertAcrossRuns[] {
  const rows = new Map<string, AlertAcrossRuns & { detections: number[]; resets: number[] }>();
  for (const r of reports) {
    for (const a of r.scenarios.flatMap((s) => s.alerts)) {
      const key = `${a.alertname}|${a.scenario}`;
      const row = rows.get(key) ?? { alertname: a.alertname, scenario: a.scenario, runs: 0, passes: 0, deadlineS: a.deadlineS, budgetS: a.budgetS, detections: [], resets: [] };
      row.runs++;
      if (a.verdict === 'pass') row.passes++;
      if (a.stages.notifiedS !== undefined) row.detections.push(a.stages.notifiedS);
      if (a.stages.resolvedAfterRecoveryS !== undefined) row.resets.push(a.stages.resolvedAfterRecoveryS);
      rows.set(key, row);
    }
  }
  return [...rows.values()].map(({ detections, resets, ...row }) => {
    return {
      ...row,
      detectionMaxS: detections.length ? Math.max(...detections) : undefined,
      detectionMedianS: median(detections),
      resetMaxS: resets.length ? Math.max(...resets) : undefined,
    };
  });
}

export function renderAcrossRuns(rows: readonly AlertAcrossRuns[], runs: number): string {
  const s = (x: number | undefined): string => (x === undefined ? '-' : `${x.toFixed(1)} s`);
  const lines = [
    `| alert | scenario | passed | detection median | detection max | own budget | reset max |`,
    `|---|---|---|---|---|---|---|`,
    ...rows.map((r) => `| ${r.alertname} | ${r.scenario} | ${r.passes}/${r.runs} | ${s(r.detectionMedianS)} | ${s(r.detectionMaxS)} | ${s(r.budgetS)} | ${s(r.resetMaxS)} |`),
  ];
  const worst = rows.reduce<AlertAcrossRuns | undefined>((w, r) => (r.budgetS !== undefined && r.detectionMaxS !== undefined && (!w || r.detectionMaxS / r.budgetS > w.detectionMaxS! / w.budgetS!) ? r : w), undefined);
  lines.push('', `${runs} runs; ${rows.filter((r) => r.passes === r.runs).length}/${rows.length} alert-scenario pairs passed in every run.`);
  if (worst) lines.push(`Closest to its own budget: ${worst.alertname} (${worst.scenario}), max ${s(worst.detectionMaxS)} of ${s(worst.budgetS)}.`);
  return `${lines.join('\n')}\n`;
}

/** The Prometheus version a report judged ('unknown' for reports from before versions were recorded). */
const versionOf = (r: RunReport): string => r.versions?.prometheus ?? 'unknown';

/**
 * Side by side per Prometheus version, when the reports judged more than one (e.g. CI's runs under 2.42 and 3.x): per
 * alert and scenario, each version's detection median and max and its own budget, then each version's overall figures.
 */
export function renderByVersion(reports: readonly RunReport[]): string {
  const versions = [...new Set(reports.map(versionOf))].sort();
  const rows = new Map(versions.map((v) => [v, new Map(acrossRuns(reports.filter((r) => versionOf(r) === v)).map((a) => [`${a.alertname}|${a.scenario}`, a]))]));
  const keys = [...new Set(versions.flatMap((v) => [...rows.get(v)!.keys()]))].sort();
  const s = (x: number | undefined): string => (x === undefined ? '-' : `${x.toFixed(1)} s`);
  const lines = [
    `| alert | scenario | ${versions.map((v) => `${v}: passed | median | max | own budget`).join(' | ')} |`,
    `|---|---|${versions.map(() => '---|---|---|---').join('|')}|`,
    ...keys.map((k) => {
      const [alertname, scenario] = k.split('|');
      const cells = versions.map((v) => {
        const a = rows.get(v)!.get(k);
        return a ? `${a.passes}/${a.runs} | ${s(a.detectionMedianS)} | ${s(a.detectionMaxS)} | ${s(a.budgetS)}` : '- | - | - | -';
      });
      return `| ${alertname} | ${scenario} | ${cells.join(' | ')} |`;
    }),
    '',
  ];
  for (const v of versions) {
    const of = reports.filter((r) => versionOf(r) === v);
    const detections = of.flatMap((r) => r.scenarios.flatMap((sc) => sc.alerts.flatMap((a) => (a.stages.notifiedS === undefined ? [] : [a.stages.notifiedS]))));
    const passed = of.reduce((n, r) => n + r.passed, 0);
    const failed = of.reduce((n, r) => n + r.failed, 0);
    lines.push(`Prometheus ${v}: ${of.length} runs, ${passed} passed, ${failed} failed; detection median ${s(median(detections))}, max ${s(detections.length ? Math.max(...detections) : undefined)}.`);
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const args = process.argv.slice(2);
  if (args.length === 0) {
    process.stderr.write('usage: npm run verify-summary -- <report dir or report.json>...\n');
    process.exit(2);
  }
  const files = findReports(args);
  const reports = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as RunReport);
  const multiVersion = new Set(reports.map(versionOf)).size > 1;
  process.stdout.write(multiVersion ? renderByVersion(reports) : renderAcrossRuns(acrossRuns(reports), reports.length));
}
