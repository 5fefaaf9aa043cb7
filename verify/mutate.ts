// Mutants of the alert rules for the mutation check: each one a copy of a rule, broken one way and renamed
// `<Alert>__<kind>`, run beside the unmutated rules so the harness must fail the copy where it passes the original.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { CATALOG } from '../alerts/catalog/index.ts';
import { ruleFor } from '../alerts/generate.ts';
import type { Rule } from '../alerts/budget.ts';
import { nodesNamed, parsePromql, type SyntaxNode } from '../alerts/promql.ts';
import { BUDGET_S } from '../alerts/settings.ts';
import { loadThresholds, type AlertDef, type ThresholdUnit, type Tuning } from '../alerts/model.ts';
import { metricsInExpr } from './rules.ts';

export type MutationKind = 'threshold' | 'label' | 'noise' | 'for' | 'metric';
export const MUTATION_KINDS: MutationKind[] = ['threshold', 'label', 'noise', 'for', 'metric'];

/** What each kind does, for --help and the report. */
export const KIND_DESCRIPTIONS: Record<MutationKind, string> = {
  threshold: 'threshold 10x less sensitive in its range (ratio 1-(1-t)/10, else x10): missed in the matrix',
  label: 'a value no series has in the first matcher that must select: missed in the matrix',
  noise: 'threshold /10, or the minRate gate removed: a false positive on the loaded baseline',
  for: `\`for\` past the ${BUDGET_S} s budget: pending but never firing in the matrix`,
  metric: 'the first metric renamed: caught by the pre-flight (a metric no service exposes)',
};

/** Where a kind's mutants are caught: in the fault matrix, or on the healthy baseline (pre-flight and control window). */
export type Stage = 'matrix' | 'baseline';
export const STAGE_OF: Record<MutationKind, Stage> = { threshold: 'matrix', label: 'matrix', for: 'matrix', noise: 'baseline', metric: 'baseline' };

export interface Mutant {
  /** The copy's alert name, `<Alert>__<kind>` (noise: `__noise_threshold` or `__noise_gate`). */
  name: string;
  alert: string;
  kind: MutationKind;
  /** What changed, for the report: `threshold 0.2 -> 0.92`, `status="rejected" -> status="rejected_"`. */
  change: string;
  /** The unmutated rule, as the catalog renders it. */
  original: Rule;
  expr: string;
  for: string;
  /** Why the mutant cannot behave differently from the rule; such a mutant is reported, not run. */
  equivalent?: string;
  /** The value the mutant compares, with the comparison made vacuous: measured to explain a survivor. */
  quantity?: { expr: string; unit: ThresholdUnit; threshold: number; original?: number };
}

export interface NotMutated {
  alert: string;
  kind: MutationKind;
  why: string;
}

const round = (n: number): number => Number(n.toPrecision(6));

/**
 * The threshold a tenfold less sensitive rule would have, inside the range of what it measures. Counts and seconds
 * have no ceiling, so x10. A ratio cannot exceed 1 (x10 of 0.2 could never fire, a mutant caught for free), so the
 * factor applies to the distance from the ceiling instead: the share of good events that still pages shrinks tenfold.
 */
export function lessSensitive(unit: ThresholdUnit, t: number): number {
  if (unit === 'ratio') {
    if (!(t >= 0 && t < 1)) throw new Error(`a ratio threshold must be in [0, 1), got ${t}; fix alerts/thresholds.yaml`);
    return round(1 - (1 - t) / 10);
  }
  return round(t * 10);
}

function unitOf(def: AlertDef): ThresholdUnit {
  if (!def.thresholdUnit) throw new Error(`${def.name} has a threshold in alerts/thresholds.yaml but no thresholdUnit in alerts/catalog/; say what it measures (ratio, count or seconds)`);
  return def.thresholdUnit;
}

// ---------------------------------------------------------------------------------------------------------------
// Just enough PromQL structure, read from the syntax tree (alerts/promql.ts): matchers, and the set operators
// (`and`, `or`, `unless`) around them.

type SetOp = 'and' | 'or' | 'unless';
const SET_OPS: Record<string, SetOp> = { And: 'and', Or: 'or', Unless: 'unless' };

/** The set operator of a binary expression node and its token, or undefined for any other node. */
function setOperator(node: SyntaxNode): { op: SetOp; token: SyntaxNode } | undefined {
  if (node.name !== 'BinaryExpr') return undefined;
  for (let child = node.firstChild; child; child = child.nextSibling) {
    const op = SET_OPS[child.name];
    if (op) return { op, token: child };
  }
  return undefined;
}

/**
 * Whether the selector at `node` must select something for the expression to yield anything: false inside either side
 * of an `or` (the other side stands in, as `or on() vector(0)` does for absence) or on the right of an `unless`.
 */
function mustSelect(node: SyntaxNode): boolean {
  for (let inner = node, outer = node.parent; outer; inner = outer, outer = outer.parent) {
    const set = setOperator(outer);
    if (set?.op === 'or') return false;
    if (set?.op === 'unless' && inner.from > set.token.from) return false;
  }
  return true;
}

export interface Matcher {
  name: string;
  op: '=' | '=~' | '!=' | '!~';
  value: string;
  /** Index of the opening quote of the value in the expression, and one past the closing quote. */
  start: number;
  end: number;
}

function matchersOf(expr: string): Array<{ matcher: Matcher; node: SyntaxNode }> {
  const text = (n: SyntaxNode): string => expr.slice(n.from, n.to);
  return nodesNamed(parsePromql(expr), 'UnquotedLabelMatcher').map((node) => {
    const value = node.getChild('StringLiteral')!;
    const matcher = { name: text(node.getChild('LabelName')!), op: text(node.getChild('MatchOp')!) as Matcher['op'], value: text(value).slice(1, -1), start: value.from, end: value.to };
    return { matcher, node };
  });
}

/** Every label matcher inside a selector's braces, in expression order. */
export function labelMatchers(expr: string): Matcher[] {
  return matchersOf(expr).map((m) => m.matcher);
}

/** Positive matchers (= or =~ on a literal value) whose selector must select something for the rule to fire. */
export function selectingMatchers(expr: string): Matcher[] {
  return matchersOf(expr)
    .filter(({ matcher: m, node }) => (m.op === '=' || m.op === '=~') && m.name !== '__name__' && mustSelect(node))
    .map((m) => m.matcher);
}

/** The set operators joining the top-level operands of the expression, in the order written. */
function topLevelSetOperators(expr: string): Array<{ op: SetOp; start: number; end: number }> {
  const out: Array<{ op: SetOp; start: number; end: number }> = [];
  // Set operators bind loosest and associate left: the top-level ones form the chain of left operands from the root.
  let node = parsePromql(expr).firstChild;
  for (let set = node && setOperator(node); node && set; node = node.firstChild, set = node && setOperator(node)) {
    out.unshift({ op: set.op, start: set.token.from, end: set.token.to });
  }
  return out;
}

/** The top-level `and` operand (operator included) that mentions `marker`, cut out; undefined when there is none. */
function withoutAndOperand(expr: string, marker: string): string | undefined {
  const ops = topLevelSetOperators(expr);
  const at = expr.indexOf(marker);
  if (at < 0) return undefined;
  const i = ops.findIndex((o, k) => o.end <= at && (ops[k + 1]?.start ?? expr.length) > at);
  if (i < 0 || ops[i]!.op !== 'and') return undefined;
  const end = ops[i + 1]?.start ?? expr.length;
  return (expr.slice(0, ops[i]!.start) + expr.slice(end)).trimEnd();
}

// ---------------------------------------------------------------------------------------------------------------
// One mutant per kind and rule.

/** A number no threshold or rate in the catalog is, to find where a tuning value lands in the rendered expression. */
const SENTINEL = 987654.321;

/** The expression without its minRate gate, found by where the catalog renders minRate; undefined without a gate. */
export function withoutGate(def: AlertDef, t: Tuning): string | undefined {
  if (t.minRate === undefined) return undefined;
  const cut = withoutAndOperand(def.expr({ ...t, minRate: SENTINEL }), String(SENTINEL));
  if (cut === undefined) throw new Error(`${def.name}: minRate is not compared in a top-level "and" operand of its expression; the noise mutation cannot remove the gate`);
  // The gate was the only place minRate went, so the rest is rendered from the real tuning.
  if (cut.includes(String(SENTINEL))) throw new Error(`${def.name}: minRate appears in more than one operand of its expression`);
  return cut;
}

/** The rule's compared value where the rest of its condition holds: the threshold rendered as -1, which every value passes. */
function quantityOf(def: AlertDef, t: Tuning, threshold: number, gate: boolean): Mutant['quantity'] {
  const vacuous = { ...t, threshold: -1 };
  const expr = gate ? def.expr(vacuous) : withoutGate(def, vacuous)!;
  return { expr, unit: unitOf(def), threshold, ...(t.threshold === undefined ? {} : { original: t.threshold }) };
}

const clone = (original: Rule, kind: MutationKind, name: string, change: string, fields: Partial<Pick<Mutant, 'expr' | 'for' | 'equivalent' | 'quantity'>>): Mutant => ({
  name,
  alert: original.alert,
  kind,
  change,
  original,
  expr: fields.expr ?? original.expr,
  for: fields.for ?? original.for ?? '0s',
  ...(fields.equivalent ? { equivalent: fields.equivalent } : {}),
  ...(fields.quantity ? { quantity: fields.quantity } : {}),
});

export function thresholdMutant(def: AlertDef, t: Tuning): Mutant | NotMutated {
  const original = ruleFor(def, t);
  if (t.threshold === undefined) return { alert: def.name, kind: 'threshold', why: 'no threshold in alerts/thresholds.yaml (compared with a fixed value)' };
  const unit = unitOf(def);
  const next = lessSensitive(unit, t.threshold);
  const expr = def.expr({ ...t, threshold: next });
  const change = `threshold ${t.threshold} -> ${next} (${unit})`;
  if (expr === original.expr) {
    return clone(original, 'threshold', `${def.name}__threshold`, change, { equivalent: `threshold ${t.threshold}: ten times it is the same rule (a "more than ${t.threshold}" rule pages on any event; there is no scale to get wrong)` });
  }
  return clone(original, 'threshold', `${def.name}__threshold`, change, { expr, quantity: quantityOf(def, t, next, true) });
}

/** A label value no series has: a suffix no value of a closed label set carries; a regex keeps its alternation inside. */
export function absentValue(m: Pick<Matcher, 'op' | 'value'>): string {
  return m.op === '=~' ? `(?:${m.value})_` : `${m.value}_`;
}

export function labelMutant(def: AlertDef, t: Tuning): Mutant | NotMutated {
  const original = ruleFor(def, t);
  const [m] = selectingMatchers(original.expr);
  if (!m) {
    const all = labelMatchers(original.expr).filter((x) => x.op === '=' || x.op === '=~');
    return {
      alert: def.name,
      kind: 'label',
      why: all.length
        ? `its matchers (${all.map((x) => `${x.name}${x.op}"${x.value}"`).join(', ')}) sit under an absence guard or an unless: a value no series has there makes the rule fire always or drops an exclusion, so none makes it select nothing`
        : 'no label matcher on a literal value',
    };
  }
  const value = absentValue(m);
  const expr = `${original.expr.slice(0, m.start)}"${value}"${original.expr.slice(m.end)}`;
  return clone(original, 'label', `${def.name}__label`, `${m.name}${m.op}"${m.value}" -> ${m.name}${m.op}"${value}"`, { expr });
}

export function noiseMutants(def: AlertDef, t: Tuning): (Mutant | NotMutated)[] {
  const original = ruleFor(def, t);
  const out: (Mutant | NotMutated)[] = [];
  if (t.threshold === undefined && t.minRate === undefined) return [{ alert: def.name, kind: 'noise', why: 'no threshold and no minRate gate in alerts/thresholds.yaml' }];
  if (t.threshold !== undefined) {
    const next = round(t.threshold / 10);
    const expr = def.expr({ ...t, threshold: next });
    const change = `threshold ${t.threshold} -> ${next}`;
    out.push(
      expr === original.expr
        ? clone(original, 'noise', `${def.name}__noise_threshold`, change, { equivalent: `threshold ${t.threshold}: a tenth of it is the same rule` })
        : clone(original, 'noise', `${def.name}__noise_threshold`, change, { expr, quantity: quantityOf(def, t, next, true) }),
    );
  }
  const ungated = withoutGate(def, t);
  if (ungated !== undefined) {
    out.push(clone(original, 'noise', `${def.name}__noise_gate`, `minRate gate (> ${t.minRate}/s) removed`, { expr: ungated, quantity: quantityOf(def, t, t.threshold ?? 0, false) }));
  }
  return out;
}

export function forMutant(def: AlertDef, t: Tuning): Mutant {
  const original = ruleFor(def, t);
  const past = `${2 * BUDGET_S}s`;
  return clone(original, 'for', `${def.name}__for`, `for ${original.for ?? '0s'} -> ${past}`, { for: past });
}

/** Renames every selector of the first of `metrics` the expression selects, so the expression selects nothing. */
export function mutateMetric(expr: string, metrics: readonly string[]): string | undefined {
  const names = nodesNamed(parsePromql(expr), 'VectorSelector').flatMap((s) => s.getChildren('Identifier'));
  const m = metrics.find((name) => names.some((n) => expr.slice(n.from, n.to) === name));
  if (m === undefined) return undefined;
  let out = expr;
  for (const n of names.filter((x) => expr.slice(x.from, x.to) === m).reverse()) out = `${out.slice(0, n.from)}${m}_mutated${out.slice(n.to)}`;
  return out;
}

export function metricMutant(def: AlertDef, t: Tuning): Mutant | NotMutated {
  const original = ruleFor(def, t);
  const metrics = metricsInExpr(original.expr);
  const expr = mutateMetric(original.expr, metrics);
  if (expr === undefined) return { alert: def.name, kind: 'metric', why: 'selects no metric' };
  return clone(original, 'metric', `${def.name}__metric`, `${metrics.find((m) => expr.includes(`${m}_mutated`))} renamed`, { expr });
}

const isMutant = (x: Mutant | NotMutated): x is Mutant => 'name' in x;

/** Every mutant of the given kinds over the catalog; always-firing alerts (the dead man's switch) are never mutated. */
export function planMutants(kinds: readonly MutationKind[], catalog: readonly AlertDef[] = CATALOG, thresholds: Record<string, Tuning> = loadThresholds()): { mutants: Mutant[]; notMutated: NotMutated[] } {
  const all: (Mutant | NotMutated)[] = [];
  for (const def of catalog) {
    if (def.alwaysFiring) continue;
    const t = thresholds[def.name];
    if (!t) throw new Error(`alerts/thresholds.yaml has no entry for ${def.name}; add one and regenerate`);
    for (const kind of kinds) {
      if (kind === 'threshold') all.push(thresholdMutant(def, t));
      else if (kind === 'label') all.push(labelMutant(def, t));
      else if (kind === 'noise') all.push(...noiseMutants(def, t));
      else if (kind === 'for') all.push(forMutant(def, t));
      else all.push(metricMutant(def, t));
    }
  }
  return { mutants: all.filter(isMutant), notMutated: all.filter((x): x is NotMutated => !isMutant(x)) };
}

interface RuleDoc {
  groups: { name: string; rules: (Rule & { record?: string })[] }[];
}

/**
 * Adds each mutant to the rule file of its original, right after it; returns the names added. The originals in `dir`
 * must be what the catalog renders (npx tsx alerts/generate.ts --check), or the mutants would not be theirs.
 */
export function addMutants(dir: string, mutants: readonly Mutant[]): string[] {
  const pending = new Map<string, Mutant[]>();
  for (const m of mutants) pending.set(m.alert, [...(pending.get(m.alert) ?? []), m]);
  const added: string[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const full = path.join(dir, file);
    const doc = YAML.parse(fs.readFileSync(full, 'utf8')) as RuleDoc;
    for (const g of doc.groups ?? []) {
      g.rules = g.rules.flatMap((r) => {
        const mine = r.alert ? pending.get(r.alert) : undefined;
        if (!mine) return [r];
        pending.delete(r.alert);
        if (String(r.expr) !== mine[0]!.original.expr) throw new Error(`${file}: ${r.alert} differs from what alerts/catalog/ renders; run npx tsx alerts/generate.ts`);
        added.push(...mine.map((m) => m.name));
        return [r, ...mine.map((m) => ({ ...r, alert: m.name, expr: m.expr, for: m.for }))];
      });
    }
    fs.writeFileSync(full, YAML.stringify(doc, { lineWidth: 0 }));
  }
  if (pending.size) throw new Error(`no rule file in ${dir} holds ${[...pending.keys()].join(', ')}`);
  return added;
}
