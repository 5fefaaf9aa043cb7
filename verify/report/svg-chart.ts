// One why-it-fired chart (verify/results.ts ExprChart) as inline SVG: the compared value per series against the
// threshold, with the alert's stages as vertical marks; no scripts, no fonts or styles from outside.
import type { ExprChart } from '../results.ts';

export const escapeXml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** More lines than this are unreadable; the ones that crossed the threshold are drawn first. */
export const MAX_SERIES = 8;
export const MARK_NAMES = ['fault', 'pending', 'firing', 'notified', 'recovered', 'resolved'] as const;

const WIDTH = 760;
const PLOT = { left: 64, right: 16, top: 40, height: 180 };
const AXIS_BELOW = 34;
const LEGEND_ROW = 14;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];
const MARK_COLORS: Record<(typeof MARK_NAMES)[number], string> = {
  fault: '#b00020',
  pending: '#e69500',
  firing: '#d9534f',
  notified: '#6f42c1',
  recovered: '#2e7d32',
  resolved: '#5cb85c',
};
/** Seconds between time ticks: the first that leaves at most MAX_TIME_TICKS ticks. */
const TIME_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
const MAX_TIME_TICKS = 10;

type Series = ExprChart['series'][number];

/** A value as a person reads it on an axis: 3 significant digits, k/M/G for large ones, an exponent for tiny ones. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const a = Math.abs(v);
  const sig = (x: number): string => String(Number(x.toPrecision(3)));
  if (a >= 1e9) return `${sig(v / 1e9)}G`;
  if (a >= 1e6) return `${sig(v / 1e6)}M`;
  if (a >= 1e4) return `${sig(v / 1e3)}k`;
  if (a < 1e-3) return v.toExponential(1).replace('e-', 'e−');
  return sig(v);
}

/** About `count` round ticks (1, 2 or 5 times a power of ten apart) covering [lo, hi]. */
export function valueTicks(lo: number, hi: number, count = 4): { lo: number; hi: number; ticks: number[] } {
  if (hi <= lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return valueTicks(lo - pad, hi + pad, count);
  }
  const raw = (hi - lo) / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * pow >= raw) ?? 10) * pow;
  const first = Math.floor(lo / step) * step;
  const last = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let i = 0; first + i * step <= last + step / 1e6; i++) ticks.push(Number((first + i * step).toPrecision(12)));
  return { lo: first, hi: last, ticks };
}

const finitePoints = (s: Series): [number, number][] => s.points.filter(([t, v]) => Number.isFinite(t) && Number.isFinite(v));

const crosses = (v: number, op: string | undefined, threshold: number | undefined): boolean => {
  if (op === undefined || threshold === undefined) return false;
  return op === '>' ? v > threshold : op === '>=' ? v >= threshold : op === '<' ? v < threshold : op === '<=' ? v <= threshold : op === '==' ? v === threshold : v !== threshold;
};

/** The series drawn: those with a finite point, the ones that crossed the threshold first, then by peak; at most MAX_SERIES. */
export function seriesToDraw(chart: ExprChart): { drawn: Series[]; left: number } {
  const withData = chart.series.filter((s) => finitePoints(s).length > 0);
  const rank = (s: Series): [number, number] => {
    const pts = finitePoints(s);
    return [pts.some(([, v]) => crosses(v, chart.op, chart.threshold)) ? 0 : 1, -Math.max(...pts.map(([, v]) => v))];
  };
  const ranked = withData.map((s, i) => ({ s, i, r: rank(s) })).sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || a.i - b.i);
  const drawn = ranked.slice(0, MAX_SERIES).sort((a, b) => a.i - b.i).map((x) => x.s);
  return { drawn, left: withData.length - drawn.length };
}

/** Label names whose values differ between the series (what tells their lines apart). */
export function distinguishingLabels(series: readonly Series[]): string[] {
  const names = [...new Set(series.flatMap((s) => Object.keys(s.labels)))].sort();
  return names.filter((n) => new Set(series.map((s) => s.labels[n] ?? '')).size > 1);
}

/**
 * SVG path data for one series: a subpath per run of consecutive samples, broken where a step has no sample or a
 * value is NaN or infinite; a lone sample is a short dash so it stays visible.
 */
export function seriesPath(points: readonly [number, number][], stepS: number, x: (t: number) => number, y: (v: number) => number): string {
  const runs: [number, number][][] = [];
  let prevT: number | undefined;
  for (const [t, v] of [...points].sort((a, b) => a[0] - b[0])) {
    if (!Number.isFinite(v) || !Number.isFinite(t)) {
      prevT = undefined;
      continue;
    }
    if (prevT === undefined || t - prevT > stepS * 1.5) runs.push([]);
    runs.at(-1)!.push([t, v]);
    prevT = t;
  }
  const n = (v: number): string => v.toFixed(1);
  return runs
    .map((run) => (run.length === 1 ? `M${n(x(run[0]![0]) - 1.5)} ${n(y(run[0]![1]))}h3` : run.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${n(x(t))} ${n(y(v))}`).join('')))
    .join('');
}

const truncate = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

export function comparisonText(chart: Pick<ExprChart, 'op' | 'threshold'>): string | undefined {
  return chart.op !== undefined && chart.threshold !== undefined ? `${chart.op} ${formatValue(chart.threshold)}` : undefined;
}

/** Why a chart has nothing to draw, or undefined when it has. */
export function emptyReason(chart: ExprChart): string | undefined {
  if (chart.error) return chart.error;
  if (chart.series.length === 0) return 'the query returned no series in this range';
  if (!chart.series.some((s) => finitePoints(s).length > 0)) return 'every sample in this range is NaN or infinite';
  return undefined;
}

export function renderChart(chart: ExprChart, opts: { title?: string } = {}): string {
  const title = opts.title ?? oneLine(chart.expr);
  const cmp = comparisonText(chart);
  const exprLine = oneLine(`${chart.expr}${cmp ? ` ${cmp}` : ''}`);
  const head = [
    `<title>${escapeXml(`${title}: ${exprLine}`)}</title>`,
    `<text x="${PLOT.left}" y="14" font-size="12" font-weight="600" fill="#222">${escapeXml(truncate(title, 110))}</text>`,
    `<text x="${PLOT.left}" y="28" font-size="10" fill="#666" font-family="ui-monospace,monospace">${escapeXml(truncate(exprLine, 110))}</text>`,
  ];
  const plotW = WIDTH - PLOT.left - PLOT.right;
  const frame = `<rect class="plot" x="${PLOT.left}" y="${PLOT.top}" width="${plotW}" height="${PLOT.height}" fill="#fcfcfc" stroke="#ddd"/>`;
  const svg = (height: number, attrs: string, body: string[]): string =>
    `<svg class="why-chart" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" font-family="system-ui,sans-serif"${attrs}>\n${body.join('\n')}\n</svg>`;

  const empty = emptyReason(chart);
  if (empty !== undefined) {
    const height = PLOT.top + PLOT.height + 10;
    const text = `<text class="no-data" x="${PLOT.left + plotW / 2}" y="${PLOT.top + PLOT.height / 2}" text-anchor="middle" font-size="13" fill="#b00020">${escapeXml(truncate(`no data: ${oneLine(empty)}`, 110))}</text>`;
    return svg(height, ` data-empty="1" data-reason="${escapeXml(empty)}"`, [...head, frame, text]);
  }

  const { drawn, left } = seriesToDraw(chart);
  const values = drawn.flatMap((s) => finitePoints(s).map(([, v]) => v));
  const withThreshold = chart.threshold !== undefined && Number.isFinite(chart.threshold) ? [...values, chart.threshold] : values;
  const yAxis = valueTicks(Math.min(...withThreshold), Math.max(...withThreshold));
  const from = chart.from;
  const to = chart.to > chart.from ? chart.to : chart.from + chart.stepS;
  const x = (t: number): number => PLOT.left + ((t - from) / (to - from)) * plotW;
  const y = (v: number): number => PLOT.top + PLOT.height - ((v - yAxis.lo) / (yAxis.hi - yAxis.lo)) * PLOT.height;
  const bottom = PLOT.top + PLOT.height;
  const n = (v: number): string => v.toFixed(1);
  const body: string[] = [...head, frame];

  for (const v of yAxis.ticks) {
    body.push(`<line x1="${PLOT.left}" y1="${n(y(v))}" x2="${PLOT.left + plotW}" y2="${n(y(v))}" stroke="#eee"/>`);
    body.push(`<text x="${PLOT.left - 6}" y="${n(y(v) + 3)}" font-size="10" text-anchor="end" fill="#444">${escapeXml(formatValue(v))}</text>`);
  }

  // Time runs from the fault (or, for a false positive or near miss, from when it went pending).
  const originName = chart.marks.fault !== undefined ? 'fault' : chart.marks.pending !== undefined ? 'pending' : 'start';
  const origin = chart.marks.fault ?? chart.marks.pending ?? from;
  const tickS = TIME_STEPS_S.find((s) => (to - from) / s <= MAX_TIME_TICKS) ?? TIME_STEPS_S.at(-1)!;
  for (let k = Math.ceil((from - origin) / tickS); origin + k * tickS <= to; k++) {
    const tx = x(origin + k * tickS);
    body.push(`<line x1="${n(tx)}" y1="${bottom}" x2="${n(tx)}" y2="${bottom + 4}" stroke="#888"/>`);
    body.push(`<text x="${n(tx)}" y="${bottom + 15}" font-size="10" text-anchor="middle" fill="#444">${k * tickS}</text>`);
  }
  body.push(`<text x="${PLOT.left + plotW / 2}" y="${bottom + 29}" font-size="10" text-anchor="middle" fill="#666">${escapeXml(`seconds after ${originName} (${new Date(origin * 1000).toISOString().replace('.000Z', 'Z')}), one point per ${chart.stepS} s evaluation`)}</text>`);

  drawn.forEach((s, i) => {
    const d = seriesPath(s.points, chart.stepS, x, y);
    body.push(`<path class="series" data-series="${i}" d="${d}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.6" stroke-linejoin="round" stroke-linecap="round"/>`);
  });

  if (cmp !== undefined && Number.isFinite(chart.threshold)) {
    const ty = n(y(chart.threshold!));
    body.push(`<line class="threshold" x1="${PLOT.left}" y1="${ty}" x2="${PLOT.left + plotW}" y2="${ty}" stroke="#b00020" stroke-width="1.2" stroke-dasharray="6,4"/>`);
    body.push(`<text x="${PLOT.left + plotW - 4}" y="${n(y(chart.threshold!) - 4)}" font-size="10" text-anchor="end" fill="#b00020">${escapeXml(cmp)}</text>`);
  }

  // Labels of marks close in time go on lower rows instead of over each other.
  const rowEnds: number[] = [];
  const marks = MARK_NAMES.flatMap((name) => {
    const t = chart.marks[name];
    return t === undefined || !(t >= from && t <= to) ? [] : [{ name, t }];
  }).sort((a, b) => a.t - b.t);
  for (const m of marks) {
    const mx = x(m.t);
    const labelW = m.name.length * 5.6 + 6;
    let row = rowEnds.findIndex((end) => end < mx);
    if (row === -1) row = rowEnds.length;
    rowEnds[row] = mx + labelW;
    const color = MARK_COLORS[m.name];
    body.push(
      `<g class="mark" data-mark="${m.name}"><line x1="${n(mx)}" y1="${PLOT.top}" x2="${n(mx)}" y2="${bottom}" stroke="${color}" stroke-width="1.2"/>` +
        `<text x="${n(mx + 3)}" y="${PLOT.top + 10 + row * 11}" font-size="9.5" fill="${color}" stroke="#fcfcfc" stroke-width="3" paint-order="stroke">${m.name}</text>` +
        `<title>${m.name} at ${escapeXml(new Date(m.t * 1000).toISOString())} (${formatValue(m.t - origin)} s after ${originName})</title></g>`,
    );
  }

  const legendY = bottom + AXIS_BELOW + 6;
  const keys = distinguishingLabels(drawn);
  const legend: string[] = [];
  if (drawn.length > 1 || left > 0) {
    drawn.forEach((s, i) => {
      const col = i % 2;
      const lx = PLOT.left + col * (plotW / 2);
      const ly = legendY + Math.floor(i / 2) * LEGEND_ROW;
      const text = keys.length ? keys.map((k) => `${k}=${s.labels[k] ?? ''}`).join(', ') : `series ${i + 1}`;
      legend.push(`<line x1="${lx}" y1="${ly - 3}" x2="${lx + 16}" y2="${ly - 3}" stroke="${COLORS[i % COLORS.length]}" stroke-width="2"/><text x="${lx + 20}" y="${ly}" font-size="10" fill="#333">${escapeXml(truncate(text, 60))}</text>`);
    });
  }
  const notes: string[] = [];
  if (left > 0) notes.push(`${left} more series not drawn`);
  const nonFinite = drawn.reduce((k, s) => k + s.points.filter(([, v]) => !Number.isFinite(v)).length, 0);
  if (nonFinite > 0) notes.push(`${nonFinite} NaN or infinite samples not drawn`);
  const legendRows = Math.ceil(legend.length / 2);
  if (notes.length) legend.push(`<text class="note" x="${PLOT.left}" y="${legendY + legendRows * LEGEND_ROW}" font-size="10" fill="#666">${escapeXml(notes.join('; '))}</text>`);
  body.push(...legend);
  const height = legendY + (legendRows + (notes.length ? 1 : 0)) * LEGEND_ROW;
  return svg(height, ` data-series="${drawn.length}" data-marks="${marks.length}"`, body);
}
