// report.md: the run summary, the per-alert table, failures and false positives.
import type { RunReport } from '../results.ts';
import { COLUMNS, alertRow, allAlerts, heartbeatLines, qualityLines } from './table.ts';

const cell = (s: string): string => s.replace(/\|/g, '\\|');

export function renderMarkdown(report: RunReport): string {
  const out: string[] = [];
  out.push(`# verify-alerts run ${report.runId}`, '');
  out.push(`Started ${report.startedAt}, wall time ${report.wallS.toFixed(0)} s. **${report.passed} passed, ${report.failed} failed** (alert rules).`, '');
  out.push(...qualityLines(report).map((l) => `- ${l}`), '');
  out.push('## Pre-flight', '');
  for (const c of report.preflight.checks) out.push(`- ${c.ok ? 'ok' : 'FAILED'}: ${c.name}${c.detail ? ` — ${cell(c.detail)}` : ''}`);
  out.push('', `## Control window (${report.control.durationS} s of baseline load, no fault)`, '');
  if (report.control.falsePositives.length === 0) out.push('No alert fired besides the always-firing ones.');
  for (const fp of report.control.falsePositives) out.push(`- FALSE POSITIVE: ${fp.alertname}${fp.service ? ` (${fp.service})` : ''} ${fp.state} at ${fp.at}`);
  const heartbeat = heartbeatLines(report);
  if (heartbeat.length) out.push('', '## Dead man\'s switch', '', ...heartbeat.map((l) => `- ${cell(l.trim())}`));
  out.push('', '## Alerts', '');
  out.push(`| ${COLUMNS.join(' | ')} |`, `|${COLUMNS.map(() => '---').join('|')}|`);
  for (const a of allAlerts(report)) out.push(`| ${alertRow(a).map(cell).join(' | ')} |`);
  const failedRules = report.rules.filter((r) => !r.passed);
  if (failedRules.length) {
    out.push('', '## Failures', '');
    for (const r of failedRules) out.push(`- **${r.alertname}**: ${r.reasons.map(cell).join('; ')}`);
  }
  if (report.dashboards?.failures.length) {
    out.push('', '## Dashboard queries that failed', '');
    for (const f of report.dashboards.failures) out.push(`- ${cell(f.where)}: ${cell(f.error)} (\`${cell(f.promql)}\`)`);
  }
  if (report.crashes?.length) {
    out.push('', '## Services that exited on their own', '');
    for (const c of report.crashes) out.push(`- ${cell(c.detail)}`, '', '```', c.tail, '```');
  }
  const wavesFp = report.falsePositives.filter((f) => f.during !== 'control');
  if (wavesFp.length) {
    out.push('', '## Alerts that fired without their fault', '');
    for (const f of wavesFp) out.push(`- ${f.alertname}${f.service ? ` (${f.service})` : ''} ${f.state} at ${f.at} during ${f.during}`);
  }
  if (report.nearMisses.length) {
    out.push('', '## Near misses (pending without a fault, never fired)', '');
    for (const n of report.nearMisses) out.push(`- ${n.alertname}${n.service ? ` (${n.service})` : ''} pending at ${n.at}`);
  }
  out.push('', '## Scenarios', '');
  for (const s of report.scenarios) {
    out.push(`- wave ${s.wave} \`${s.id}\`: ${s.description}${s.error ? ` — ERROR: ${cell(s.error)}` : ''}${s.collateral.length ? ` (collateral: ${s.collateral.join(', ')})` : ''}`);
  }
  out.push('');
  return out.join('\n');
}
