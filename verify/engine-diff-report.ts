// engine-diff.md and engine-diff.json for a comparison of the rule engines (verify/engine-diff.ts), and its stdout summary.
import fs from 'node:fs';
import path from 'node:path';
import { PROMETHEUS_MAJORS } from '../alerts/engine.ts';
import type { AlertComparison, CaseComparison, EngineDiffReport } from './engine-diff.ts';

const [OLD, NEW] = PROMETHEUS_MAJORS;

export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined) return 'none';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return String(Number(v.toPrecision(4)));
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const signed = (s: number): string => (s > 0 ? `+${s}` : String(s));

/** When each version's condition became true for the stretch that holds at a firing check, and how far 3.x moved it. */
export function becameTrueText(c: CaseComparison): string {
  if (!c.becameTrueS) return 'no firing check';
  const at = (v: number | null): string => (v === null ? `not true at ${c.firingCheckS} s` : `${v} s`);
  const a = c.becameTrueS[OLD];
  const b = c.becameTrueS[NEW];
  return `${at(a)} / ${at(b)}${a !== null && b !== null ? ` (${signed(b - a)} s)` : ''}`;
}

/** The compared value at a step, by series; the series is named only when there are several. */
function valuesText(values: Record<string, number> | undefined): string {
  if (!values) return '';
  const entries = Object.entries(values);
  if (entries.length === 0) return 'none';
  if (entries.length === 1) return formatNumber(entries[0]![1]);
  return entries.map(([k, v]) => `${k} ${formatNumber(v)}`).join(', ');
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function thresholdText(a: AlertComparison): string {
  return a.threshold ? `${a.threshold.op} ${formatNumber(a.threshold.threshold)}` : 'none';
}

function alertRow(a: AlertComparison): string {
  const firing = a.cases.filter((c) => c.becameTrueS);
  const first = firing.length ? firing.map(becameTrueText).join('; ') : 'no firing case';
  const diffAt = a.cases.flatMap((c) => c.conditionDiffs.map((d) => d.atS));
  const differs = a.conditionDiffSteps === 0 ? 'no' : `${plural(a.conditionDiffSteps, 'step')} (at ${[...new Set(diffAt)].sort((x, y) => x - y).map((s) => `${s} s`).join(', ')})`;
  const v = a.largestValueDiff;
  const oneSided = a.cases.reduce((n, c) => n + c.valueOnOneSide, 0);
  const widest =
    (v ? `${formatNumber(v.diff)} at ${v.atS} s (${formatNumber(v.values[OLD])} / ${formatNumber(v.values[NEW])})` : a.threshold ? '0' : 'n/a') +
    (oneSided > 0 ? `; a number under one version only at ${plural(oneSided, 'step')}` : '');
  const steps = a.cases.reduce((n, c) => n + c.steps, 0);
  return `| ${a.alertname} | ${a.cases.length} | ${steps} | ${differs} | ${first} | ${widest} | ${cell(thresholdText(a))} |`;
}

export function renderEngineDiffMarkdown(r: EngineDiffReport): string {
  const out: string[] = [];
  const version = (m: string): string => r.engines.find((e) => e.major === m)?.version ?? m;
  out.push(`# Prometheus ${version(OLD)} and ${version(NEW)} on the same recorded input`, '');
  out.push(
    `Started ${r.startedAt}, ${r.wallS.toFixed(1)} s. Input: the ${r.input.cases} promtool test cases of ${r.testsDir}/ (${r.input.series} series, ${r.input.samples} samples), ` +
      `each case in its own stretch of time at least ${r.input.separationS} s from the next (more than the lookback plus the longest window), ` +
      `evaluated at every step of its own sample grid; rules from ${r.rulesDir}/. \`for:\` is not judged: only the expression.`,
    '',
  );
  out.push('| version | prometheus | blocks written by | series loaded |', '|---|---|---|---|');
  for (const e of r.engines) out.push(`| ${e.version} | ${e.prometheus} | ${e.promtool} | ${e.seriesLoaded} |`);
  out.push('');
  out.push(
    `Probe \`${r.probe.query}\` at ${r.probe.atS} s, a step that falls on a sample: ${version(OLD)} ${formatNumber(r.probe.values[OLD])}, ` +
      `${version(NEW)} ${formatNumber(r.probe.values[NEW])} (left-closed against left-open windows; equal numbers would mean the harness cannot see a difference).`,
    '',
  );
  if (r.input.staleOmitted > 0) {
    out.push(
      `Stale markers: ${r.input.staleOmitted} in ${r.input.casesWithStale.length} cases are left out (OpenMetrics text, the backfill's input, cannot carry one). ` +
        'Range functions never see a stale marker, so they answer alike; an instant selector keeps seeing the last sample before it (for up to the 5 min lookback, ' +
        'until the next sample) instead of nothing, under both versions. A differing step where that happens is marked "(stale)" below. The cases: ' +
        r.input.casesWithStale.map((c) => `"${c}"`).join(', ') +
        '.',
      '',
    );
  }
  out.push('## Per alert', '');
  out.push(
    '"became true" is, in each case that expects the alert, the evaluation step (seconds after the case starts) at which the expression began to return a series ' +
      'for the stretch that still holds at the first check expecting the alert: where `for:` starts counting (2.x / 3.x). ' +
      '"value" is the left side of the threshold comparison; a value that is a number under one version only is absent or NaN (0/0) under the other.',
    '',
  );
  out.push('| alert | cases | steps | condition differs | became true (firing cases) | largest value difference (2.x / 3.x) | threshold |', '|---|---|---|---|---|---|---|');
  for (const a of r.alerts) out.push(alertRow(a));
  if (r.unchecked.length > 0) out.push('', `Not compared (no test case checks them): ${r.unchecked.join(', ')}.`);
  const differing = r.alerts.filter((a) => a.conditionDiffers);
  out.push('', '## Where the condition differs', '');
  if (differing.length === 0) out.push('Nowhere: every alert expression holds at the same steps under both versions.');
  for (const a of differing) {
    out.push(`### ${a.alertname}`, '', '```promql', a.expr, '```', '');
    out.push(`| case | at | ${version(OLD)} | ${version(NEW)} | value ${version(OLD)} | value ${version(NEW)} |`, '|---|---|---|---|---|---|');
    for (const c of a.cases) {
      for (const d of c.conditionDiffs) {
        const verdict = (held: boolean): string => (held ? 'true' : 'false');
        out.push(`| ${cell(c.case)} | ${d.atS} s${d.staleShadowed ? ' (stale)' : ''} | ${verdict(d.condition[OLD])} | ${verdict(d.condition[NEW])} | ${cell(valuesText(d.values?.[OLD]))} | ${cell(valuesText(d.values?.[NEW]))} |`);
      }
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

/** NaN and the infinities as Prometheus writes them: JSON has no number for them. */
function jsonNumbers(_key: string, value: unknown): unknown {
  if (typeof value !== 'number' || Number.isFinite(value)) return value;
  return Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
}

export function writeEngineDiffReport(dir: string, r: EngineDiffReport): { md: string; json: string } {
  fs.mkdirSync(dir, { recursive: true });
  const files = { md: path.join(dir, 'engine-diff.md'), json: path.join(dir, 'engine-diff.json') };
  fs.writeFileSync(files.json, `${JSON.stringify(r, jsonNumbers, 2)}\n`);
  fs.writeFileSync(files.md, renderEngineDiffMarkdown(r));
  return files;
}

export function summaryLines(r: EngineDiffReport): string[] {
  const lines = r.engines.map((e) => `Prometheus ${e.version}: ${e.seriesLoaded} series loaded, blocks by ${e.promtool}`);
  lines.push(`probe ${r.probe.query}: ${formatNumber(r.probe.values[OLD])} under ${OLD}.x, ${formatNumber(r.probe.values[NEW])} under ${NEW}.x`);
  const differing = r.alerts.filter((a) => a.conditionDiffers);
  lines.push(`${r.alerts.length} alerts compared over ${r.input.cases} cases; the condition differs for ${differing.length}${differing.length ? ':' : ''}`);
  for (const a of differing) {
    const firing = a.cases.filter((c) => c.becameTrueS).map((c) => `became true ${becameTrueText(c)}`);
    lines.push(`  ${a.alertname}: ${plural(a.conditionDiffSteps, 'step')}${firing.length ? `, ${firing.join('; ')}` : ''}`);
  }
  lines.push(`${r.wallS.toFixed(1)} s`);
  return lines;
}
