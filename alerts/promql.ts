// PromQL read with the official grammar (@prometheus-io/lezer-promql, the parser of Prometheus' own UI): the metric
// names an expression selects, its range windows and the comparison that decides it, from the syntax tree instead of
// from the text.
import { parser } from '@prometheus-io/lezer-promql';

export type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** The expression's syntax tree; throws, naming the offset, when the grammar does not accept it. */
export function parsePromql(expr: string): SyntaxNode {
  const top = parser.parse(expr).topNode;
  top.toTree().iterate({
    enter(node) {
      if (node.type.isError) {
        throw new Error(`PromQL does not parse at offset ${node.from} ("${expr.slice(Math.max(0, node.from - 10), node.from + 10)}") of ${JSON.stringify(expr)}; fix the expression`);
      }
    },
  });
  return top;
}

/** Every node of the tree named `name`, in the order their text starts. */
export function nodesNamed(top: SyntaxNode, name: string): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  top.toTree().iterate({
    enter(ref) {
      if (ref.name === name) out.push(ref.node);
    },
  });
  return out;
}

const unquote = (literal: string): string => literal.slice(1, -1);

/**
 * Metric names an expression selects: the name of each vector selector (`rate(x_total[20s])` -> x_total) and the
 * value of an equality `__name__` matcher (`{__name__="x"}`). Function names, label names of `by (...)` and `on(...)`,
 * and label values never count, whatever they look like.
 */
export function metricsInExpr(expr: string): Set<string> {
  const out = new Set<string>();
  const text = (n: SyntaxNode): string => expr.slice(n.from, n.to);
  for (const selector of nodesNamed(parsePromql(expr), 'VectorSelector')) {
    const name = selector.getChild('Identifier');
    if (name) out.add(text(name));
    for (const matcher of selector.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
      const label = matcher.getChild('LabelName');
      const value = matcher.getChild('StringLiteral');
      if (label && value && text(label) === '__name__' && text(matcher.getChild('MatchOp')!) === '=') out.add(unquote(text(value)));
    }
  }
  return out;
}

const DURATION_UNIT_S: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/** Seconds in a PromQL duration literal: "20s", "1m30s", "500ms", or a bare number of seconds. */
function durationLiteralSeconds(text: string): number {
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text);
  if (!/^(?:\d+(?:ms|s|m|h|d|w|y))+$/.test(text)) throw new Error(`"${text}" is not a PromQL duration like "20s" or "1m30s"`);
  let s = 0;
  for (const part of text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) s += Number(part[1]) * DURATION_UNIT_S[part[2]!]!;
  return s;
}

/**
 * Range windows an expression reads, in seconds, in the order they are written: the range of each matrix selector
 * (`x[20s]`) and of each subquery (`[1m:5s]` reads 1m; its step is not a window).
 */
export function rangeWindows(expr: string): number[] {
  const top = parsePromql(expr);
  const ranges = [...nodesNamed(top, 'MatrixSelector'), ...nodesNamed(top, 'SubqueryExpr')].map((n) => n.getChild('DurationExpr')!);
  return ranges
    .sort((a, b) => a.from - b.from)
    .map((range) => {
      const literal = range.getChild('NumberDurationLiteralInDurationContext');
      if (!literal || literal.from !== range.from || literal.to !== range.to) {
        throw new Error(`range [${expr.slice(range.from, range.to)}] in ${JSON.stringify(expr)} is a duration expression; the budget check needs a literal duration`);
      }
      return durationLiteralSeconds(expr.slice(range.from, range.to));
    });
}

/**
 * A matcher on `label` for any of `values`, in the syntax PromQL and Alertmanager share: `label="a"` for one value,
 * `label=~"a|b"` for several (regex metacharacters escaped); `!=` and `!~` when negated.
 */
export function anyOf(label: string, values: readonly string[], negate = false): string {
  if (values.length === 0) throw new Error(`a matcher on ${label} needs at least one value`);
  const quoted = (s: string): string => JSON.stringify(s);
  if (values.length === 1) return `${label}${negate ? '!=' : '='}${quoted(values[0]!)}`;
  return `${label}${negate ? '!~' : '=~'}${quoted(values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'))}`;
}

export type ComparisonOp = '==' | '!=' | '>' | '>=' | '<' | '<=';
const COMPARISON_NODES: Record<string, ComparisonOp> = { Eql: '==', Neq: '!=', Gtr: '>', Gte: '>=', Lss: '<', Lte: '<=' };

/** The comparison that decides an alert: `lhs op threshold`. */
export interface Threshold {
  lhs: string;
  op: ComparisonOp;
  threshold: number;
}

function numberLiteral(expr: string, node: SyntaxNode): number | undefined {
  if (node.name === 'ParenExpr' && node.firstChild) return numberLiteral(expr, node.firstChild);
  if (node.name !== 'NumberDurationLiteral') return undefined;
  const text = expr.slice(node.from, node.to);
  const inf = /^([+-]?)inf$/i.exec(text);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  const v = Number(text);
  return Number.isNaN(v) ? undefined : v;
}

/**
 * The filtering comparison against a number at the top of an alert expression, read from the syntax tree: the
 * expression itself (`X > 0.5`), or the left operand of `and`/`unless` gates around it (`X > 0.5 and on() G > 0.1`),
 * parentheses allowed. Undefined when there is none (`vector(1)`, `X > bool 1`, `A or B > 1`).
 */
export function thresholdOf(expr: string): Threshold | undefined {
  let node: SyntaxNode | null = parsePromql(expr).firstChild;
  while (node) {
    if (node.name === 'ParenExpr') {
      node = node.firstChild;
      continue;
    }
    if (node.name !== 'BinaryExpr') return undefined;
    const lhs = node.firstChild;
    const opNode = lhs?.nextSibling;
    if (!lhs || !opNode) return undefined;
    if (opNode.name === 'And' || opNode.name === 'Unless') {
      node = lhs;
      continue;
    }
    const op = COMPARISON_NODES[opNode.name];
    if (!op || node.getChild('BoolModifier')) return undefined;
    const rhs = node.lastChild;
    const threshold = rhs ? numberLiteral(expr, rhs) : undefined;
    if (threshold === undefined) return undefined;
    return { lhs: expr.slice(lhs.from, lhs.to), op, threshold };
  }
  return undefined;
}
