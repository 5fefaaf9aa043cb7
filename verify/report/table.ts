// Rows of the per-alert table shared by the stdout and markdown reports.
import type { AlertOutcome, RunReport } from '../results.ts';

export const COLUMNS = ['alert', 'service', 'scenario', 'verdict', 'bad sample', 'pending', 'firing', 'notified', 'budget', 'deadline', 'resolved', 'res. notified', 'panel'] as const;

const fmt = (s: number | undefined): string => (s === undefined ? '-' : `${s.toFixed(1)}s`);

export function alertRow(a: AlertOutcome): string[] {
  return [
    a.alertname,
    a.service ?? '',
    a.scenario,
    a.verdict,
    fmt(a.stages.firstBadSampleS),
    fmt(a.stages.pendingS),
    fmt(a.stages.firingS),
    // A fault that takes delivery away: nothing notifies during it, or the notification comes after recovery.
    a.delivery === 'none' ? 'not possible' : a.delivery === 'after-recovery' ? `${fmt(a.stages.notifiedAfterRecoveryS)} after rec.` : fmt(a.stages.notifiedS),
    fmt(a.budgetS),
    fmt(a.deadlineS),
    fmt(a.stages.resolvedAfterRecoveryS),
    fmt(a.stages.resolutionNotifiedAfterRecoveryS),
    a.panel === undefined ? '-' : a.panel.error ? 'error' : a.panel.changed ? 'changed' : 'unchanged',
  ];
}

export function allAlerts(report: RunReport): AlertOutcome[] {
  return report.scenarios.flatMap((s) => s.alerts);
}

export function qualityLines(report: RunReport): string[] {
  const q = report.quality;
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const d = report.dashboards;
  const panels = allAlerts(report).filter((a) => a.panel);
  return [
    ...(report.versions ? [`Prometheus ${report.versions.prometheus}, Alertmanager ${report.versions.alertmanager ?? 'unknown'}`] : []),
    ...(d ? [`dashboards: ${d.queries - d.failures.length}/${d.queries} queries return data; ${panels.filter((a) => a.panel?.changed).length}/${panels.length} alert panels showed their fault`] : []),
    `recall ${pct(q.recall)}, precision ${pct(q.precision)}`,
    `detection (fault -> notification): median ${fmt(q.detectionMedianS)}, max ${fmt(q.detectionMaxS)}`,
    `reset (recovery -> resolved): median ${fmt(q.resetMedianS)}, max ${fmt(q.resetMaxS)}`,
  ];
}

/** The dead man's switch: one line per fault that stops the heartbeat, and one per alarm no fault explains. */
export function heartbeatLines(report: RunReport): string[] {
  const h = report.heartbeat;
  if (!h) return [];
  return [
    `dead man's switch (alarms after ${h.alarmAfterS} s without a heartbeat): ${h.passed ? 'pass' : 'FAILED'}`,
    ...h.outcomes.map((o) => `  ${o.scenario}: ${o.verdict} (${o.detail})`),
    ...h.falseAlarms.map((f) => `  FALSE ALARM: no heartbeat from ${f.lastBeatAt}, alarmed at ${f.alarmedAt}${f.resumedAt ? `, back at ${f.resumedAt}` : ''}`),
  ];
}

/** Plain fixed-width table for a terminal. */
export function textTable(rows: string[][], header: readonly string[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
