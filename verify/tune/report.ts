// Tuning report: tune.json (everything), tune.md (tables), tune.html (self-contained, inline SVG plots).
import fs from 'node:fs';
import path from 'node:path';
import type { HistogramResult, TuneResult } from './analyze.ts';
import { pct } from './fit.ts';
import type { Measurement } from './measure.ts';
import type { ThresholdRecommendation } from './thresholds.ts';

const fmtS = (x: number): string => (Number.isFinite(x) ? (x < 1 ? `${Number((x * 1000).toPrecision(3))} ms` : `${Number(x.toPrecision(3))} s`) : String(x));
const fmtErr = (x: number): string => (Number.isNaN(x) ? 'n/a' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`);
const fmtThr = (r: ThresholdRecommendation, v: number): string => (r.kind === 'latency' ? fmtS(v) : Number.isFinite(v) ? String(Number(v.toPrecision(3))) : 'n/a');

function histogramMd(h: HistogramResult): string[] {
  const f = h.current;
  const rec = h.recommended;
  const lines = [
    `### ${h.metric}`,
    '',
    `${f.n} observations · verdict **${f.verdict}**${f.reasons.length ? ` (${f.reasons.join('; ')})` : ''} · +Inf share ${pct(f.infShare)} · densest bucket le=${f.densest.le} holds ${pct(f.densest.share)} · ${f.emptyBuckets} empty buckets${h.alerts.length ? ` · read by ${h.alerts.join(', ')}` : ''}`,
    '',
    '| quantile | exact | estimate (current buckets) | error | Prometheus | estimate (recommended) | error |',
    '|---|---|---|---|---|---|---|',
  ];
  f.quantiles.forEach((q, i) => {
    const r = rec?.fit.quantiles[i];
    const p = h.promAgreement[i]!;
    lines.push(`| p${q.q * 100}${q.lowSupport ? ' (few samples)' : ''} | ${fmtS(q.exact)} | ${fmtS(q.estimate)} | ${fmtErr(q.relError)} | ${fmtS(p.prometheus)} | ${r ? fmtS(r.estimate) : '-'} | ${r ? fmtErr(r.relError) : '-'} |`);
  });
  lines.push('', `Current buckets: ${f.bounds.join(', ')}`);
  if (rec) lines.push(`Recommended (${rec.bounds.length} buckets, fill ratio ${rec.fillRatio.toFixed(3)}${rec.metTarget ? '' : ', target error not reachable within the budget'}; verdict ${rec.fit.verdict}): ${rec.bounds.join(', ')}`);
  lines.push('');
  return lines;
}

export function renderMarkdown(r: TuneResult): string {
  const m = r.measurement;
  const lines = [
    `# Threshold tuning and bucket fit (${m.startedAt})`,
    '',
    `Prometheus ${m.prometheus?.version ?? 'unknown (measured before versions were recorded)'}.`,
    '',
    `Baseline load ${m.durationS} s (${Object.entries(m.rates).map(([f, v]) => `${f} ${v}/s`).join(', ')}); target relative error ${pct(r.options.targetRelError)}, at most ${r.options.maxBuckets} buckets.`,
    'Ground truth: every observation the services made during the interval (TUNING_EXACT=1, GET /tuning), sliced by the histogram _count Prometheus scraped at both ends, so the exact and bucketed views hold the same observations.',
    '',
    '## Verdicts',
    '',
    '| histogram | n | verdict | p95 exact | p95 estimate | p99 exact | p99 estimate | +Inf share |',
    '|---|---|---|---|---|---|---|---|',
    ...r.histograms.map((h) => {
      const q = (x: number) => h.current.quantiles.find((f) => f.q === x)!;
      return `| ${h.metric} | ${h.current.n} | ${h.current.verdict} | ${fmtS(q(0.95).exact)} | ${fmtS(q(0.95).estimate)} | ${fmtS(q(0.99).exact)} | ${fmtS(q(0.99).estimate)} | ${pct(h.current.infShare)} |`;
    }),
    '',
    '## Recommended thresholds',
    '',
    '| alert | kind | baseline | 2x | current | recommended | worst case now | worst case recommended | step fault (recommended) | notes |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...r.thresholds.map(
      (t) =>
        `| ${t.alert} | ${t.kind} | ${fmtThr(t, t.baseline)}${t.kind === 'latency' ? ` (peak window p95; run p95 ${fmtThr(t, t.overallP95 ?? NaN)})` : ' (peak)'} | ${fmtThr(t, t.raw)} | ${fmtThr(t, t.current)} | ${t.applicable ? '' : '(not applicable) '}${fmtThr(t, t.recommended)} | ${t.detectionNow.worstCaseS} s | ${t.detectionRecommended.worstCaseS} s | ${t.detectionRecommended.stepFaultS === undefined ? '-' : `${t.detectionRecommended.stepFaultS} s`} | ${t.notes.join('; ')} |`,
    ),
    '',
    '## Histograms',
    '',
    ...r.histograms.flatMap(histogramMd),
    '## Client-side timings (load runner raw NDJSON; network and queueing included)',
    '',
    '| request | n | failures | p50 | p95 | p99 | p99.9 |',
    '|---|---|---|---|---|---|---|',
    ...m.client.map((c) => `| ${c.name} (${c.flow}) | ${c.n} | ${c.failures} | ${c.quantiles.map((q) => `${q.ms.toFixed(1)} ms`).filter((_, i) => i !== 1).join(' | ')} |`),
    '',
    `Reproduce: \`npm run tune-thresholds -- --duration ${m.durationS}\`; apply with \`--apply\`.`,
    '',
  ];
  return lines.join('\n');
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Log-x histogram of the exact samples with the current (grey) and recommended (blue) boundaries and thresholds (red). */
export function distributionSvg(values: readonly number[], current: readonly number[], recommended: readonly number[], thresholds: readonly number[]): string {
  const W = 720;
  const H = 220;
  const pad = 36;
  const pos = values.filter((v) => v > 0);
  const all = [...pos, ...current, ...recommended, ...thresholds].filter((v) => v > 0);
  if (all.length === 0) return '<p>no observations</p>';
  const lo = Math.log10(Math.min(...all)) - 0.1;
  const hi = Math.log10(Math.max(...all)) + 0.1;
  const x = (v: number): number => pad + ((Math.log10(v) - lo) / (hi - lo)) * (W - 2 * pad);
  const bins = 60;
  const counts = new Array<number>(bins).fill(0);
  for (const v of pos) counts[Math.min(bins - 1, Math.floor(((Math.log10(v) - lo) / (hi - lo)) * bins))]!++;
  const max = Math.max(1, ...counts);
  const bw = (W - 2 * pad) / bins;
  const bars = counts.map((c, i) => `<rect x="${(pad + i * bw).toFixed(1)}" y="${(H - pad - (c / max) * (H - 2 * pad)).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${((c / max) * (H - 2 * pad)).toFixed(1)}" fill="#888"/>`);
  const line = (v: number, color: string, dash: string, y0: number): string => `<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${y0}" y2="${H - pad}" stroke="${color}" stroke-width="1.5" ${dash}><title>${v}</title></line>`;
  const ticks: string[] = [];
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) ticks.push(`<text x="${x(10 ** e).toFixed(1)}" y="${H - pad + 14}" font-size="10" text-anchor="middle">${fmtS(10 ** e)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"><rect width="${W}" height="${H}" fill="#fff"/>${bars.join('')}${current.map((b) => line(b, '#999', 'stroke-dasharray="2,2"', pad)).join('')}${recommended.map((b) => line(b, '#1f6feb', 'stroke-dasharray="5,3"', pad + 10)).join('')}${thresholds.map((b) => line(b, '#d1242f', '', pad - 10)).join('')}<line x1="${pad}" x2="${W - pad}" y1="${H - pad}" y2="${H - pad}" stroke="#000"/>${ticks.join('')}<text x="${pad}" y="14" font-size="11">observations (log x); grey dotted: current buckets, blue dashed: recommended, red: thresholds</text></svg>`;
}

/** Per quantile: exact (black), current-bucket estimate (orange), recommended-bucket estimate (blue), log y. */
export function quantileSvg(h: HistogramResult): string {
  const W = 420;
  const H = 220;
  const pad = 40;
  const pts = h.current.quantiles.map((q, i) => ({ label: `p${q.q * 100}`, exact: q.exact, cur: q.estimate, rec: h.recommended?.fit.quantiles[i]!.estimate }));
  const vals = pts.flatMap((p) => [p.exact, p.cur, p.rec ?? NaN]).filter((v) => v > 0 && Number.isFinite(v));
  if (vals.length === 0) return '<p>no observations</p>';
  const lo = Math.log10(Math.min(...vals)) - 0.1;
  const hi = Math.log10(Math.max(...vals)) + 0.1;
  const y = (v: number): number => H - pad - ((Math.log10(v) - lo) / (hi - lo || 1)) * (H - 2 * pad);
  const step = (W - 2 * pad) / pts.length;
  const dot = (v: number | undefined, cx: number, color: string, name: string): string => (v !== undefined && v > 0 && Number.isFinite(v) ? `<circle cx="${cx.toFixed(1)}" cy="${y(v).toFixed(1)}" r="4" fill="${color}"><title>${name} ${fmtS(v)}</title></circle>` : '');
  const body = pts.map((p, i) => {
    const cx = pad + step * (i + 0.5);
    return `${dot(p.exact, cx - 8, '#000', 'exact')}${dot(p.cur, cx, '#e8590c', 'current')}${dot(p.rec, cx + 8, '#1f6feb', 'recommended')}<text x="${cx.toFixed(1)}" y="${H - pad + 14}" font-size="10" text-anchor="middle">${p.label}</text>`;
  });
  const ticks: string[] = [];
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) ticks.push(`<text x="${pad - 4}" y="${y(10 ** e).toFixed(1)}" font-size="10" text-anchor="end">${fmtS(10 ** e)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"><rect width="${W}" height="${H}" fill="#fff"/><line x1="${pad}" x2="${pad}" y1="${pad / 2}" y2="${H - pad}" stroke="#000"/>${ticks.join('')}${body.join('')}<text x="${pad}" y="14" font-size="11">exact (black) · current buckets (orange) · recommended (blue)</text></svg>`;
}

export function renderHtml(r: TuneResult, m: Measurement): string {
  const md = renderMarkdown(r);
  const sections = r.histograms.map((h) => {
    const values = m.histograms.find((x) => x.metric === h.metric)?.values ?? [];
    const thresholds = r.thresholds.filter((t) => h.alerts.includes(t.alert)).flatMap((t) => [t.current, t.recommended]);
    return `<h3>${esc(h.metric)} — ${esc(h.current.verdict)}</h3>${distributionSvg(values, h.current.bounds, h.recommended?.bounds ?? [], thresholds)}${quantileSvg(h)}`;
  });
  return `<!doctype html><html><head><meta charset="utf-8"><title>alertproof tuning ${esc(m.startedAt)}</title><style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}pre{white-space:pre-wrap;background:#f6f8fa;padding:1em;font-size:12px}svg{margin:4px;border:1px solid #ddd}</style></head><body><h1>Threshold tuning and bucket fit</h1><h2>Plots</h2>${sections.join('')}<h2>Report</h2><pre>${esc(md)}</pre></body></html>\n`;
}

export function writeReport(dir: string, r: TuneResult, m: Measurement): { md: string; json: string; html: string } {
  fs.mkdirSync(dir, { recursive: true });
  const files = { md: path.join(dir, 'tune.md'), json: path.join(dir, 'tune.json'), html: path.join(dir, 'tune.html') };
  fs.writeFileSync(files.json, `${JSON.stringify(r, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`);
  fs.writeFileSync(files.md, renderMarkdown(r));
  fs.writeFileSync(files.html, renderHtml(r, m));
  return files;
}
