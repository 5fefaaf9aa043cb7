// promtool's input series read back: the labels of a series descriptor and the samples its expanding notation stands
// for ("10+10x11 stale _x22"), so the recorded test input can be loaded into a real Prometheus (alerts/series.ts
// writes the notation).
import { nodesNamed, parsePromql } from './promql.ts';

/** One slot of an expanded series, one interval apart: a value, a stale marker, or no sample (`_`). */
export type Slot = number | 'stale' | null;

const UNSIGNED = String.raw`(?:Inf|inf|NaN|nan|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)`;
const NUMBER = `[+-]?${UNSIGNED}`;
const VALUE_RE = new RegExp(`^(${NUMBER})$`);
const REPEAT_RE = new RegExp(`^(${NUMBER})x(\\d+)$`);
const STEP_RE = new RegExp(`^(${NUMBER})([+-]${UNSIGNED})x(\\d+)$`);
const MISSING_RE = /^_(?:x(\d+))?$/;

function number(text: string): number {
  const bare = text.replace(/^[+-]/, '').toLowerCase();
  const sign = text.startsWith('-') ? -1 : 1;
  if (bare === 'inf') return sign * Infinity;
  if (bare === 'nan') return NaN;
  return Number(text);
}

/**
 * The samples a promtool `values` string stands for, as promtool's grammar expands it: `a` one sample; `axn` a, n+1
 * times; `a+bxn` and `a-bxn` a, then n further samples stepping by b (summed one step at a time, as promtool does);
 * `_` no sample; `_xn` n slots without a sample (n, not n+1: a missing sample cannot step); `stale` a stale marker.
 */
export function expandValues(values: string): Slot[] {
  const out: Slot[] = [];
  for (const token of values.trim().split(/\s+/).filter(Boolean)) {
    let m: RegExpExecArray | null;
    if (token === 'stale') out.push('stale');
    else if ((m = MISSING_RE.exec(token))) {
      const n = m[1] === undefined ? 1 : Number(m[1]);
      for (let i = 0; i < n; i++) out.push(null);
    } else if ((m = VALUE_RE.exec(token))) out.push(number(m[1]!));
    else if ((m = REPEAT_RE.exec(token))) {
      const v = number(m[1]!);
      for (let i = 0; i <= Number(m[2]); i++) out.push(v);
    } else if ((m = STEP_RE.exec(token))) {
      let v = number(m[1]!);
      const step = number(m[2]!);
      for (let i = 0; i <= Number(m[3]); i++) {
        out.push(v);
        v += step;
      }
    } else {
      throw new Error(`"${token}" in input series values ${JSON.stringify(values)} is not promtool's expanding notation (a, axn, a+bxn, a-bxn, _, _xn, stale)`);
    }
  }
  return out;
}

function unquote(literal: string): string {
  if (literal.startsWith('`')) return literal.slice(1, -1);
  if (literal.startsWith("'")) return JSON.parse(`"${literal.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"')}"`) as string;
  return JSON.parse(literal) as string;
}

/**
 * The labels of a series descriptor (`name{a="b",...}`), `__name__` included, read with the PromQL grammar: a series
 * descriptor is a vector selector whose matchers are all `=`.
 */
export function seriesLabels(descriptor: string): Record<string, string> {
  const top = parsePromql(descriptor);
  const selector = top.firstChild;
  if (selector?.name !== 'VectorSelector' || selector.to - selector.from !== descriptor.trim().length) {
    throw new Error(`input series ${JSON.stringify(descriptor)} is not a series descriptor like name{label="value"}`);
  }
  const text = (n: { from: number; to: number }): string => descriptor.slice(n.from, n.to);
  const labels: Record<string, string> = {};
  const name = selector.getChild('Identifier');
  if (name) labels.__name__ = text(name);
  for (const matcher of nodesNamed(selector, 'UnquotedLabelMatcher')) {
    const label = matcher.getChild('LabelName');
    const op = matcher.getChild('MatchOp');
    const value = matcher.getChild('StringLiteral');
    if (!label || !op || !value || text(op) !== '=') {
      throw new Error(`input series ${JSON.stringify(descriptor)}: "${text(matcher)}" is not a label="value" pair`);
    }
    labels[text(label)] = unquote(text(value));
  }
  if (!labels.__name__) throw new Error(`input series ${JSON.stringify(descriptor)} has no metric name`);
  return labels;
}
