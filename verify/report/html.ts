// report.html: self-contained (inline CSS and SVG, no scripts or external assets); one timeline per alert
// with its stages as bars against the 60 s line and the alert's own budget, and one chart per alert, false positive
// and near miss of why it fired: its rule's compared value against the threshold (svg-chart.ts).
import type { AlertOutcome, ExprChart, RunReport } from '../results.ts';
import { renderChart, escapeXml as esc } from './svg-chart.ts';
import { COLUMNS, alertRow, allAlerts, qualityLines, heartbeatLines } from './table.ts';

const STAGE_COLORS = { detect: '#f0ad4e', pending: '#5bc0de', firing: '#d9534f', notify: '#6f42c1', resolve: '#5cb85c' };

function timeline(a: AlertOutcome): string {
  const s = a.stages;
  const width = 980;
  const labelW = 340;
  const height = 34;
  const maxS = Math.max(90, a.deadlineS * 1.5, (s.notifiedS ?? 0) + 5);
  const x = (t: number): number => labelW + (Math.min(t, maxS) / maxS) * (width - labelW - 10);
  const bars: string[] = [];
  const bar = (from: number | undefined, to: number | undefined, color: string, label: string): void => {
    if (from === undefined || to === undefined || to < from) return;
    bars.push(`<rect x="${x(from).toFixed(1)}" y="8" width="${Math.max(1.5, x(to) - x(from)).toFixed(1)}" height="14" fill="${color}"><title>${esc(label)}: ${from.toFixed(1)}s → ${to.toFixed(1)}s</title></rect>`);
  };
  bar(0, s.firstBadSampleS ?? s.pendingS, STAGE_COLORS.detect, 'fault → first bad sample');
  bar(s.firstBadSampleS ?? 0, s.pendingS, STAGE_COLORS.detect, 'bad sample → pending');
  bar(s.pendingS, s.firingS, STAGE_COLORS.pending, 'pending → firing');
  bar(s.firingS, s.notifiedS, STAGE_COLORS.notify, 'firing → notified');
  const deadline = x(a.deadlineS);
  const label = `${a.alertname}${a.service ? ` (${a.service})` : ''}`;
  const color = a.verdict === 'pass' ? '#222' : '#b00';
  return `<svg width="${width}" height="${height}" role="img" aria-label="${esc(label)}">
<text x="0" y="20" font-size="11" fill="${color}">${esc(label.length > 56 ? `${label.slice(0, 55)}…` : label)}</text>
<line x1="${labelW}" y1="26" x2="${width - 10}" y2="26" stroke="#ccc"/>
${bars.join('\n')}
<line x1="${deadline.toFixed(1)}" y1="2" x2="${deadline.toFixed(1)}" y2="30" stroke="#b00" stroke-dasharray="3,2"><title>${a.deadlineS}s deadline</title></line>
${a.budgetS === undefined ? '' : `<line x1="${x(a.budgetS).toFixed(1)}" y1="2" x2="${x(a.budgetS).toFixed(1)}" y2="30" stroke="#6f42c1" stroke-dasharray="1,2"><title>${a.budgetS}s: this alert's own budget (static worst case plus allowance)</title></line>`}
${s.notifiedS !== undefined ? `<text x="${(x(s.notifiedS) + 4).toFixed(1)}" y="20" font-size="10">${s.notifiedS.toFixed(1)}s</text>` : `<text x="${labelW + 10}" y="20" font-size="10" fill="#b00">never notified</text>`}
</svg>`;
}

const withService = (alertname: string, service: string | undefined): string => `${alertname}${service ? ` [${service}]` : ''}`;
const figure = (chart: ExprChart | undefined, title: string): string => (chart ? `<figure class="why">${renderChart(chart, { title })}</figure>` : '');

export function renderHtml(report: RunReport): string {
  const alerts = allAlerts(report);
  const rows = alerts
    .map((a) => `<tr class="${a.verdict === 'pass' ? 'ok' : 'bad'}">${alertRow(a).map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('\n');
  const timelines = alerts.map((a) => `<div class="tl">${timeline(a)}<span class="sc">${esc(a.scenario)}</span></div>`).join('\n');
  const failures = report.rules.filter((r) => !r.passed).map((r) => `<li><b>${esc(r.alertname)}</b>: ${esc(r.reasons.join('; '))}</li>`).join('');
  const fps = report.falsePositives.map((f) => `<li>${esc(f.alertname)}${f.service ? ` (${esc(f.service)})` : ''} ${f.state} at ${esc(f.at)} during ${esc(f.during)}</li>`).join('');
  const whyAlerts = alerts.map((a) => figure(a.chart, `${withService(a.alertname, a.service)} · ${a.scenario} · ${a.verdict}`)).filter(Boolean).join('\n');
  const whyFps = report.falsePositives.map((f) => figure(f.chart, `${withService(f.alertname, f.service)} · ${f.state} at ${f.at} during ${f.during} · false positive`)).filter(Boolean).join('\n');
  const nearMisses = report.nearMisses.map((m) => `<li>${esc(withService(m.alertname, m.service))} pending at ${esc(m.at)}</li>`).join('');
  const whyNearMisses = report.nearMisses.map((m) => figure(m.chart, `${withService(m.alertname, m.service)} · pending at ${m.at} · near miss`)).filter(Boolean).join('\n');
  const legend = Object.entries({ 'fault → pending': STAGE_COLORS.detect, 'pending → firing': STAGE_COLORS.pending, 'firing → notified': STAGE_COLORS.notify })
    .map(([k, c]) => `<span><i style="background:${c}"></i>${esc(k)}</span>`)
    .join(' ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>verify-alerts ${esc(report.runId)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:middle;white-space:nowrap}
tr.bad td{background:#fff3f3}.summary{font-size:18px}.legend span{margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
.tl{display:flex;align-items:center;gap:8px}.tl .sc{font-size:11px;color:#666}
figure.why{margin:12px 0}svg.why-chart{border:1px solid #eee;max-width:100%;height:auto}
</style></head><body>
<h1>verify-alerts run ${esc(report.runId)}</h1>
<p class="summary"><b>${report.passed} passed, ${report.failed} failed</b> · wall ${report.wallS.toFixed(0)} s · started ${esc(report.startedAt)}</p>
<ul>${qualityLines(report).map((l) => `<li>${esc(l)}</li>`).join('')}</ul>
${report.heartbeat ? `<h2>Dead man's switch</h2><ul>${heartbeatLines(report).map((l) => `<li>${esc(l.trim())}</li>`).join('')}</ul>` : ''}
${failures ? `<h2>Failures</h2><ul>${failures}</ul>` : ''}
${fps ? `<h2>Alerts that fired without their fault</h2><ul>${fps}</ul>\n${whyFps}` : ''}
<h2>Alerts</h2>
<table><thead><tr>${COLUMNS.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>
${rows}
</tbody></table>
<h2>Timelines (seconds after the fault)</h2><p class="legend">${legend} <span>red dashed line: deadline</span></p>
${timelines}
${whyAlerts ? `<h2>Why each alert fired</h2><p class="legend">Each rule's compared value (one point per evaluation) against its threshold (dashed), seconds after the fault; vertical lines: fault, pending, firing, notified, recovered, resolved.</p>\n${whyAlerts}` : ''}
${nearMisses ? `<h2>Near misses (pending, never fired)</h2><ul>${nearMisses}</ul>\n${whyNearMisses}` : ''}
<h2>Pre-flight</h2><ul>${report.preflight.checks.map((c) => `<li>${c.ok ? 'ok' : '<b>FAILED</b>'}: ${esc(c.name)} ${esc(c.detail)}</li>`).join('')}</ul>
</body></html>
`;
}
