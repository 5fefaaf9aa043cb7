// The profile a k6 script keeps, checked on its source with the TypeScript compiler API: k6 modules and relative .ts
// imports only, async HTTP only (no sync http.*, no http.batch, no group() around async code), no module-level state
// that iterations depend on. The runtime refuses a script that breaks the HTTP rule before its test starts;
// tests/k6-scripts.test.ts holds every script in the repo to all of them.
import path from 'node:path';
import ts from 'typescript';

const K6_MODULES = new Set(['k6', 'k6/http', 'k6/metrics', 'k6/execution', 'k6/timers']);
/** Erased before k6 or the runtime sees them, so a type-only import may also name k6's type-only modules. */
const K6_TYPE_MODULES = new Set([...K6_MODULES, 'k6/options']);
const SYNC_HTTP = new Set(['get', 'post', 'put', 'patch', 'del', 'head', 'options', 'request', 'batch']);
const ARRAY_MUTATORS = new Set(['push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin']);
const MUTABLE_COLLECTIONS = new Set(['Map', 'Set', 'WeakMap', 'WeakSet']);

export type Rule = 'k6-imports' | 'no-sync-http' | 'no-module-state' | 'symbols-default';

export interface Violation {
  file: string;
  line: number;
  rule: Rule;
  message: string;
}

export const show = (v: Violation): string => `${v.file}:${v.line}: ${v.rule}: ${v.message}`;

export interface CheckEnv {
  /** Directories a relative import may resolve into. */
  roots: string[];
  exists: (file: string) => boolean;
  /** Paths in messages are shown relative to it. */
  displayRoot: string;
}

export interface Checked {
  violations: Violation[];
  /** Resolved relative .ts imports, for walking the graph. */
  imports: string[];
}

const within = (file: string, dir: string): boolean => {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
};

/** Checks one script's source against the profile; file is absolute (its directory resolves relative imports). */
export function checkScript(file: string, text: string, env: CheckEnv): Checked {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const shown = path.relative(env.displayRoot, file) || file;
  const violations: Violation[] = [];
  const imports: string[] = [];
  const report = (node: ts.Node, rule: Rule, message: string): void => {
    violations.push({ file: shown, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, rule, message });
  };

  // Rule 1: what a script may import.
  const checkSpecifier = (node: ts.Node, spec: string, typeOnly: boolean): void => {
    if (spec.startsWith('./') || spec.startsWith('../')) {
      const target = path.resolve(path.dirname(file), spec);
      if (!spec.endsWith('.ts')) report(node, 'k6-imports', `relative import "${spec}" must name a .ts file`);
      else if (!env.roots.some((r) => within(target, r))) report(node, 'k6-imports', `"${spec}" leaves the k6 script directories (${env.roots.map((r) => path.relative(env.displayRoot, r) || r).join(', ')})`);
      else if (!env.exists(target)) report(node, 'k6-imports', `"${spec}" does not exist`);
      else imports.push(target);
      return;
    }
    if ((typeOnly ? K6_TYPE_MODULES : K6_MODULES).has(spec)) return;
    report(node, 'k6-imports', `"${spec}" is not one of ${[...K6_MODULES].join(', ')} or a relative .ts file; k6 cannot load it`);
  };

  // Bindings of k6/http (default or namespace: http.get; named: get) and of k6's group().
  const httpObjects = new Set<string>();
  const syncHttpFns = new Map<string, string>();
  const k6Objects = new Set<string>();
  const groupFns = new Set<string>();
  const asyncFunctions = new Set<string>();

  for (const stmt of source.statements) {
    if (ts.isImportDeclaration(stmt) && ts.isStringLiteral(stmt.moduleSpecifier)) {
      const spec = stmt.moduleSpecifier.text;
      const clause = stmt.importClause;
      checkSpecifier(stmt, spec, clause?.isTypeOnly ?? false);
      if (!clause || clause.isTypeOnly) continue;
      const objects = spec === 'k6/http' ? httpObjects : spec === 'k6' ? k6Objects : undefined;
      if (clause.name) objects?.add(clause.name.text);
      const named = clause.namedBindings;
      if (named && ts.isNamespaceImport(named)) objects?.add(named.name.text);
      if (named && ts.isNamedImports(named)) {
        for (const el of named.elements) {
          if (el.isTypeOnly) continue;
          const imported = (el.propertyName ?? el.name).text;
          if (spec === 'k6/http' && SYNC_HTTP.has(imported)) syncHttpFns.set(el.name.text, imported);
          if (spec === 'k6' && imported === 'group') groupFns.add(el.name.text);
        }
      }
    } else if (ts.isExportDeclaration(stmt) && stmt.moduleSpecifier && ts.isStringLiteral(stmt.moduleSpecifier)) {
      checkSpecifier(stmt, stmt.moduleSpecifier.text, stmt.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(stmt)) {
      report(stmt, 'k6-imports', 'import = require() is CommonJS; k6 scripts use ES imports');
    } else if (ts.isFunctionDeclaration(stmt) && stmt.name && stmt.modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword)) {
      asyncFunctions.add(stmt.name.text);
    }
  }

  const isAsyncCallback = (arg: ts.Expression | undefined): boolean =>
    arg !== undefined &&
    (((ts.isArrowFunction(arg) || ts.isFunctionExpression(arg)) && (arg.modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword) ?? false)) ||
      (ts.isIdentifier(arg) && asyncFunctions.has(arg.text)));

  // Rule 3 needs the top-level array literals before the walk looks for their mutation.
  const topArrays = new Set<string>();
  for (const stmt of source.statements) {
    if (!ts.isVariableStatement(stmt)) continue;
    const list = stmt.declarationList;
    const kind = list.flags & ts.NodeFlags.Let ? 'let' : list.flags & ts.NodeFlags.Const ? 'const' : 'var';
    for (const decl of list.declarations) {
      const name = decl.name.getText(source);
      if (kind !== 'const') {
        report(decl, 'no-module-state', `module-level ${kind} ${name}: k6 evaluates the module once per VU, so iterations must not share state through it; derive it from setup() data and exec.scenario.iterationInTest`);
        continue;
      }
      let init = decl.initializer;
      while (init && (ts.isAsExpression(init) || ts.isSatisfiesExpression(init) || ts.isParenthesizedExpression(init))) init = init.expression;
      if (init && ts.isNewExpression(init) && ts.isIdentifier(init.expression) && MUTABLE_COLLECTIONS.has(init.expression.text)) {
        report(decl, 'no-module-state', `module-level const ${name} = new ${init.expression.text}(): state shared by the iterations of one VU only`);
      } else if (init && ts.isArrayLiteralExpression(init) && ts.isIdentifier(decl.name)) {
        topArrays.add(decl.name.text);
      }
    }
  }

  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword) {
        const [arg] = node.arguments;
        if (arg && ts.isStringLiteral(arg)) checkSpecifier(node, arg.text, false);
        else report(node, 'k6-imports', 'import() of a computed specifier cannot be checked; import a literal path');
      }
      if (ts.isIdentifier(callee) && callee.text === 'require') report(node, 'k6-imports', 'require() is CommonJS; k6 scripts use ES imports');
      // Rule 2: synchronous HTTP and group() around async code.
      const member = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isElementAccessExpression(callee) && ts.isStringLiteral(callee.argumentExpression) ? callee.argumentExpression.text : undefined;
      const object = ts.isPropertyAccessExpression(callee) || ts.isElementAccessExpression(callee) ? callee.expression : undefined;
      const onObject = (names: Set<string>): boolean => object !== undefined && ts.isIdentifier(object) && names.has(object.text);
      if (member !== undefined && SYNC_HTTP.has(member) && onObject(httpObjects)) {
        report(node, 'no-sync-http', `http.${member}() is synchronous; use await http.asyncRequest(...)${member === 'batch' ? ' calls under Promise.all' : ''}`);
      }
      if (ts.isIdentifier(callee) && syncHttpFns.has(callee.text)) {
        report(node, 'no-sync-http', `${callee.text}() is k6/http's synchronous ${syncHttpFns.get(callee.text)}(); use await http.asyncRequest(...)`);
      }
      const isGroup = (ts.isIdentifier(callee) && groupFns.has(callee.text)) || (member === 'group' && onObject(k6Objects));
      if (isGroup && isAsyncCallback(node.arguments[1])) {
        report(node, 'no-sync-http', 'group() with an async callback: k6 forbids it; tag the requests instead');
      }
      // Rule 3: a module-level array literal mutated anywhere.
      if (member !== undefined && ARRAY_MUTATORS.has(member) && object && ts.isIdentifier(object) && topArrays.has(object.text)) {
        report(node, 'no-module-state', `module-level array ${object.text} is mutated (.${member}): each VU would hold its own copy`);
      }
    }
    if (ts.isBinaryExpression(node) && node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && node.operatorToken.kind <= ts.SyntaxKind.LastAssignment) {
      const target = node.left;
      const base = ts.isElementAccessExpression(target) || ts.isPropertyAccessExpression(target) ? target.expression : undefined;
      if (base && ts.isIdentifier(base) && topArrays.has(base.text)) {
        report(node, 'no-module-state', `module-level array ${base.text} is assigned into: each VU would hold its own copy`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { violations, imports };
}
