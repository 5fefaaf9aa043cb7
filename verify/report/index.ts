// Writes report.json, report.md and report.html into a run folder and renders the stdout table.
import fs from 'node:fs';
import path from 'node:path';
import type { RunReport } from '../results.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { COLUMNS, alertRow, allAlerts, heartbeatLines, qualityLines, textTable } from './table.ts';

export function writeReports(dir: string, report: RunReport): { json: string; md: string; html: string } {
  fs.mkdirSync(dir, { recursive: true });
  const files = { json: path.join(dir, 'report.json'), md: path.join(dir, 'report.md'), html: path.join(dir, 'report.html') };
  fs.writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(files.md, renderMarkdown(report));
  fs.writeFileSync(files.html, renderHtml(report));
  return files;
}

export function renderStdout(report: RunReport): string {
  const lines = [textTable(allAlerts(report).map(alertRow), COLUMNS), '', ...qualityLines(report), ...heartbeatLines(report)];
  for (const r of report.rules.filter((x) => !x.passed)) lines.push(`FAILED ${r.alertname}: ${r.reasons.join('; ')}`);
  for (const f of report.dashboards?.failures ?? []) lines.push(`FAILED dashboard query ${f.where}: ${f.error}`);
  for (const c of report.crashes ?? []) lines.push(`FAILED ${c.detail}:\n${c.tail.replace(/^/gm, '    ')}`);
  return lines.join('\n');
}
