// Test helper: what a browser drew of each why-it-fired chart (svg.why-chart, verify/report/svg-chart.ts), measured
// in the page itself with getBBox, so a chart that is in the markup but not on screen is caught.

export interface DrawnChart {
  index: number;
  title: string;
  empty: boolean;
  reason?: string;
  /** Series lines (path.series, or any polyline) found in the chart. */
  series: number;
  /** data-mark of each mark group, in document order. */
  marks: string[];
  threshold: boolean;
  /** Everything that is not drawn as it should be; empty for a good chart. */
  problems: string[];
}

export interface DrawnPage {
  charts: DrawnChart[];
  scripts: number;
  /** URLs the page fetched besides itself: a self-contained report fetches none. */
  resources: string[];
}

/**
 * Plain JavaScript for Runtime.evaluate, kept as text: a TypeScript function's compiled source may call helpers that
 * exist only in Node. Returns a DrawnPage.
 */
export const DRAWN_CHARTS_JS = String.raw`(() => {
  const near = (a, b) => a >= b - 2;
  const charts = [...document.querySelectorAll('svg.why-chart')].map((svg, index) => {
    const problems = [];
    const r = svg.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0)) problems.push('chart has a ' + r.width + 'x' + r.height + ' bounding box');
    const empty = svg.getAttribute('data-empty') === '1';
    const lines = [...svg.querySelectorAll('path.series, polyline')];
    const marks = [...svg.querySelectorAll('g.mark')];
    const threshold = svg.querySelector('line.threshold');
    if (empty) {
      const text = svg.querySelector('text.no-data');
      if (!text || !/^no data: ./.test(text.textContent)) problems.push('empty chart without its "no data: <why>" text');
      else if (!(text.getBBox().width > 0)) problems.push('"no data" text not drawn');
      if (lines.length) problems.push('empty chart draws ' + lines.length + ' lines');
    } else {
      const plotRect = svg.querySelector('rect.plot');
      const plot = plotRect ? plotRect.getBBox() : undefined;
      if (!plot) problems.push('no plot area');
      if (lines.length === 0) problems.push('no series line');
      lines.forEach((line, i) => {
        const b = line.getBBox();
        if (!(b.width > 0 || b.height > 0)) problems.push('series ' + i + ' not drawn (' + b.width + 'x' + b.height + ')');
        else if (plot && !(near(b.x, plot.x) && near(b.y, plot.y) && near(plot.x + plot.width, b.x + b.width) && near(plot.y + plot.height, b.y + b.height))) problems.push('series ' + i + ' outside the plot area');
      });
      for (const m of marks) {
        const line = m.querySelector('line');
        if (!line || !(line.getBBox().height > 0)) problems.push('mark ' + m.getAttribute('data-mark') + ' not drawn');
      }
      if (threshold && !(threshold.getBBox().width > 0)) problems.push('threshold line not drawn');
    }
    const title = svg.querySelector('title');
    return {
      index,
      title: title ? title.textContent : '',
      empty,
      reason: svg.getAttribute('data-reason') || undefined,
      series: lines.length,
      marks: marks.map((m) => m.getAttribute('data-mark')),
      threshold: !!threshold,
      problems,
    };
  });
  return {
    charts,
    scripts: document.scripts.length,
    resources: performance.getEntriesByType('resource').map((e) => e.name),
  };
})()`;
