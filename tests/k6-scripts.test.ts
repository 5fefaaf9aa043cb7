// The k6 scripts keep the profile k6 and our runtime share (k6 modules and relative .ts imports only, async HTTP only,
// no module-level state that iterations depend on, the platform facts copied from the services), and their text summary
// reads like k6's.
import fs from 'node:fs';
import path from 'node:path';
import { checkScript, show, type CheckEnv, type Rule, type Violation } from '../load/runtime/profile-check.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BASELINE_RATES, loadConfig, LoadConfigError } from '../load/scenarios/lib/config.ts';
import { flowScenarios, perTimeUnit } from '../load/scenarios/lib/mix.ts';
import { textSummary, type SummaryData } from '../load/scenarios/lib/text-summary.ts';
import { platformCopy, PLATFORM_COPY } from '../load/platform-copy.ts';
import { DEFAULT_SYMBOLS } from '../services/kit/platform.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const SCRIPT_ROOTS = ['load/scenarios', 'load/conformance'].map((d) => path.join(ROOT, d));
/** Conformance scripts that break the profile on purpose, to prove the runtime refuses them. */
const REFUSED_DIR = path.join(ROOT, 'load/conformance/refused');

const diskEnv: CheckEnv = { roots: SCRIPT_ROOTS, exists: (f) => fs.existsSync(f) && fs.statSync(f).isFile(), displayRoot: ROOT };

function listScripts(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return full === REFUSED_DIR ? [] : listScripts(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every script under the roots and every file their relative imports reach, each checked once. */
function checkGraph(): { reached: string[]; violations: Violation[] } {
  const queue = SCRIPT_ROOTS.flatMap(listScripts);
  const seen = new Set<string>();
  const violations: Violation[] = [];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const checked = checkScript(file, fs.readFileSync(file, 'utf8'), diskEnv);
    violations.push(...checked.violations);
    queue.push(...checked.imports);
  }
  return { reached: [...seen].map((f) => path.relative(ROOT, f)).sort(), violations };
}

/** An in-memory script at load/scenarios/fake.ts; relative imports resolve against `files` (paths from the repo root). */
function checkFake(text: string, files: string[] = []): Violation[] {
  const known = new Set(files.map((f) => path.join(ROOT, f)));
  return checkScript(path.join(ROOT, 'load/scenarios/fake.ts'), text, { roots: SCRIPT_ROOTS, exists: (f) => known.has(f), displayRoot: ROOT }).violations;
}

const rulesOf = (vs: Violation[]): Rule[] => vs.map((v) => v.rule);

const test = suite('k6 scripts');

test('every script in load/scenarios and load/conformance, and all they import, keeps the k6 profile', () => {
  const { violations } = checkGraph();
  assert.equal(violations.map(show), [], `profile broken:\n${violations.map(show).join('\n')}`);
});

test('the walk reaches every load scenario and the shared modules', () => {
  const { reached } = checkGraph();
  for (const s of ['smoke', 'baseline', 'spike', 'stress', 'soak']) assert.ok(reached.includes(`load/scenarios/${s}.ts`), `${s}.ts not reached`);
  for (const m of ['config', 'env', 'flows', 'mix', 'platform', 'request', 'setup', 'slo', 'summary', 'text-summary']) {
    assert.ok(reached.includes(`load/scenarios/lib/${m}.ts`), `lib/${m}.ts not reached`);
  }
});

test('load/scenarios/lib/platform.ts is the generated copy of services/kit/platform.ts (npx tsx load/platform-copy.ts)', () => {
  assert.ok(fs.readFileSync(PLATFORM_COPY, 'utf8') === platformCopy(), 'out of date: run npx tsx load/platform-copy.ts');
});

test('k6-imports: reports npm packages, node: modules, missing, non-.ts and escaping relative imports, and names file and line', () => {
  const vs = checkFake(
    [
      "import { z } from 'zod';",
      "import fs from 'node:fs';",
      "import { a } from './lib/missing.ts';",
      "import { b } from './lib/present.js';",
      "export { c } from '../../services/kit/config.ts';",
      "import type { Options } from 'k6/options';",
      "import { d } from './lib/present.ts';",
      "const e = await import('node:path');",
    ].join('\n'),
    ['load/scenarios/lib/present.ts', 'services/kit/config.ts'],
  );
  assert.equal(rulesOf(vs), ['k6-imports', 'k6-imports', 'k6-imports', 'k6-imports', 'k6-imports', 'k6-imports']);
  assert.equal(vs.map((v) => v.line), [1, 2, 3, 4, 5, 8]);
  assert.match(show(vs[0]!), /^load\/scenarios\/fake\.ts:1: k6-imports: "zod"/);
  assert.match(vs[4]!.message, /leaves the k6 script directories/);
  // k6/options only as a type: a value import would reach k6 and fail there.
  assert.equal(rulesOf(checkFake("import { Options } from 'k6/options';")), ['k6-imports']);
});

test('no-sync-http: reports http.get/post/del/batch on default and namespace imports, named sync imports, and async group()', () => {
  const vs = checkFake(
    [
      "import http from 'k6/http';",
      "import * as h from 'k6/http';",
      "import { get as fetchIt } from 'k6/http';",
      "import { group } from 'k6';",
      'export default async function () {',
      "  http.get('u');",
      "  h.post('u', '');",
      "  http['del']('u');",
      '  http.batch([]);',
      "  fetchIt('u');",
      "  await group('g', async () => { await http.asyncRequest('GET', 'u'); });",
      "  group('ok', () => 1);",
      "  await http.asyncRequest('GET', 'u');",
      '}',
    ].join('\n'),
  );
  assert.equal(rulesOf(vs), Array(6).fill('no-sync-http'));
  assert.equal(vs.map((v) => v.line), [6, 7, 8, 9, 10, 11]);
  assert.match(show(vs[0]!), /^load\/scenarios\/fake\.ts:6: no-sync-http: http\.get\(\) is synchronous/);
});

test('no-module-state: reports module-level let, var, new Map/Set and mutated array literals, not options or constant arrays', () => {
  const vs = checkFake(
    [
      'let seq = 0;',
      'var hits = 0;',
      'const net = new Map<string, number>();',
      'export const seen = new Set();',
      'const ids = [];',
      'const fixed = ["a", "b"];',
      'export const options = { scenarios: {} };',
      'export async function flow() {',
      '  ids.push(1);',
      '  fixed[0] = "c";',
      '  let local = fixed.length;',
      '  local++;',
      '}',
    ].join('\n'),
  );
  assert.equal(rulesOf(vs), Array(6).fill('no-module-state'));
  assert.equal(vs.map((v) => v.line), [1, 2, 3, 4, 9, 10]);
  assert.match(show(vs[0]!), /^load\/scenarios\/fake\.ts:1: no-module-state: module-level let seq/);
  assert.equal(checkFake('const names = ["a"];\nexport function f() { return names.map((n) => n); }'), []);
});

test.run();

// config.ts, mix.ts and text-summary.ts touch neither k6 nor __ENV, so plain Node can run them too.
const URLS = {
  EXECUTION_GATEWAY_URL: 'http://127.0.0.1:8080',
  SIGNAL_SERVICE_URL: 'http://127.0.0.1:8082/',
  ORCHESTRATOR_URL: 'http://127.0.0.1:8083',
  MARKET_DATA_URL: 'http://127.0.0.1:8084',
};

const config = suite('k6 load config');

config('defaults to the baseline rates, scaled by LOAD_RATE_SCALE, and splits traded from churned symbols', () => {
  const cfg = loadConfig(URLS);
  assert.equal(cfg.rates, BASELINE_RATES);
  assert.is(cfg.urls['signal-service'], 'http://127.0.0.1:8082');
  assert.equal(cfg.tradeSymbols, DEFAULT_SYMBOLS.split(',').slice(0, 6));
  assert.equal(cfg.churnSymbols, DEFAULT_SYMBOLS.split(',').slice(6));
  assert.equal(loadConfig({ ...URLS, SYMBOLS: 'aapl, msft' }).churnSymbols, ['MSFT']);
  const scaled = loadConfig({ ...URLS, LOAD_RATE_SCALE: '0.5', LOAD_RATE_ORDERS: '5', LOAD_DURATION: '1m30s' });
  assert.is(scaled.rates.orders, 2.5);
  assert.is(scaled.rates.runs, 0.1);
  assert.is(scaled.duration, '1m30s');
});

config('names every missing URL with an example, and every bad value with the value', () => {
  assert.throws(() => loadConfig({}), (e: unknown) => e instanceof LoadConfigError && /missing EXECUTION_GATEWAY_URL \(e\.g\. http:\/\/127\.0\.0\.1:8080\), SIGNAL_SERVICE_URL .*MARKET_DATA_URL/.test((e as Error).message));
  const bad = { ...URLS, LOAD_RATE_ORDERS: '-1', LOAD_DURATION: '45', SYMBOLS: 'AAPL,$$', LOAD_MAX_IN_FLIGHT: '1.5' };
  assert.throws(() => loadConfig(bad), (e: unknown) => {
    const m = (e as Error).message;
    return ['LOAD_RATE_ORDERS="-1"', 'LOAD_DURATION="45"', 'SYMBOLS="AAPL,$$"', 'LOAD_MAX_IN_FLIGHT="1.5"'].every((part) => m.includes(part));
  });
});

config.run();

const mix = suite('k6 flow mix');

mix('turns rates per second into whole iterations per the smallest whole-second timeUnit', () => {
  assert.equal(perTimeUnit([0.2]), { timeUnit: '5s', rates: [1] });
  assert.equal(perTimeUnit([0.1]), { timeUnit: '10s', rates: [1] });
  assert.equal(perTimeUnit([2]), { timeUnit: '1s', rates: [2] });
  assert.equal(perTimeUnit([2.5]), { timeUnit: '2s', rates: [5] });
  assert.equal(perTimeUnit([0.3, 3]), { timeUnit: '10s', rates: [3, 30] });
  assert.equal(perTimeUnit([0.3333]), { timeUnit: '1000s', rates: [333] });
});

mix('makes one arrival-rate scenario per flow with the services\' in-flight caps', () => {
  const scenarios = flowScenarios(loadConfig(URLS), { duration: '60s', gracefulStop: '10s' });
  assert.equal(scenarios.runs, { executor: 'constant-arrival-rate', exec: 'runs', tags: { flow: 'runs' }, rate: 1, timeUnit: '5s', duration: '60s', preAllocatedVUs: 1, maxVUs: 1, gracefulStop: '10s' });
  assert.equal([scenarios.orders.maxVUs, scenarios.subscriptions.maxVUs], [50, 4]);
  const ramped = flowScenarios(loadConfig(URLS), {
    duration: '120s',
    gracefulStop: '15s',
    ramps: { orders: { startRatePerS: 2, stages: [{ targetPerS: 80, duration: '120s' }], maxVUs: 400 } },
  }).orders;
  assert.equal(ramped, { executor: 'ramping-arrival-rate', exec: 'orders', tags: { flow: 'orders' }, startRate: 2, timeUnit: '1s', stages: [{ target: 80, duration: '120s' }], preAllocatedVUs: 80, maxVUs: 400, gracefulStop: '15s' });
});

mix.run();

// The text summary is import-free, so plain Node can run it (the runtime prints it as its default end-of-test summary).
const summary = suite('k6 text summary');

function summaryData(): SummaryData {
  const trend = (p95: number) => ({ type: 'trend' as const, contains: 'time' as const, values: { avg: 40, min: 0.5, med: 35, max: 1500, 'p(90)': 80, 'p(95)': p95, 'p(99)': 200, count: 124 } });
  return {
    root_group: {
      name: '',
      path: '',
      id: 'd41d8cd98f00b204e9800998ecf8427e',
      groups: [],
      checks: [
        { name: 'order: status 201', path: '::order: status 201', id: 'a', passes: 120, fails: 4 },
        { name: 'pnl: status 200', path: '::pnl: status 200', id: 'b', passes: 60, fails: 0 },
      ],
    },
    options: { summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'], summaryTimeUnit: '', noColor: true },
    state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: 60_000 },
    metrics: {
      checks: { type: 'rate', contains: 'default', values: { rate: 180 / 184, passes: 180, fails: 4 }, thresholds: { 'rate>0.99': { ok: false } } },
      http_req_duration: trend(120),
      'http_req_duration{flow:orders,name:place_order}': { ...trend(123.45), thresholds: { 'p(95)<250': { ok: true } } },
      http_req_failed: { type: 'rate', contains: 'default', values: { rate: 0, passes: 0, fails: 400 } },
      http_reqs: { type: 'counter', contains: 'default', values: { count: 400, rate: 6.666667 } },
      vus: { type: 'gauge', contains: 'default', values: { value: 1, min: 0, max: 19 } },
      data_received: { type: 'counter', contains: 'data', values: { count: 1_300_000, rate: 21_667 } },
    },
  };
}

summary('renders thresholds with the value they read, passed or not', () => {
  const text = textSummary(summaryData());
  assert.ok(text.includes("  █ THRESHOLDS\n\n    checks\n    ✗ 'rate>0.99' rate=97.83%\n"), text);
  assert.ok(text.includes("    http_req_duration{flow:orders,name:place_order}\n    ✓ 'p(95)<250' p(95)=123.45ms\n"), text);
});

summary('totals the checks and shows a failing check with its pass share', () => {
  const text = textSummary(summaryData());
  assert.match(text, /checks_total\.+: 184 +3\.066667\/s/);
  assert.match(text, /checks_succeeded\.+: 97\.83% 180 out of 184/);
  assert.match(text, /checks_failed\.+: 2\.17% +4 out of 184/);
  assert.ok(text.includes('    ✗ order: status 201\n      ↳ 96% — ✓ 120 / ✗ 4\n    ✓ pnl: status 200\n'), text);
});

summary('renders each metric by type and unit, sub-metrics under their parent', () => {
  const lines = textSummary(summaryData()).split('\n');
  const line = (name: string): string => lines.find((l) => l.trimStart().startsWith(`${name}.`)) ?? `(no ${name} line)`;
  assert.match(line('http_req_duration'), /: avg=40ms +min=500µs +med=35ms +max=1\.5s +p\(90\)=80ms +p\(95\)=120ms +p\(99\)=200ms +count=124$/);
  const parent = lines.indexOf(line('http_req_duration'));
  assert.match(lines[parent + 1]!, /^      \{ flow:orders, name:place_order \}\.+: avg=40ms .* p\(95\)=123\.45ms/);
  assert.match(line('http_req_failed'), /: 0\.00% +0 out of 400$/);
  assert.match(line('http_reqs'), /: 400 +6\.666667\/s$/);
  assert.match(line('vus'), /: 1 +min=0 max=19$/);
  assert.match(line('data_received'), /: 1\.3 MB 22 kB\/s$/);
  assert.ok(!lines.some((l) => l.trimStart().startsWith('checks.')), 'checks is shown as checks_* only');
  assert.ok(lines.indexOf('    HTTP') < lines.indexOf('    EXECUTION') && lines.indexOf('    EXECUTION') < lines.indexOf('    NETWORK'));
});

summary('colours the marks only when asked or when stdout is a terminal', () => {
  assert.not.match(textSummary(summaryData()), /\x1b\[/);
  assert.match(textSummary(summaryData(), { enableColors: true }), /\x1b\[31m✗\x1b\[0m order: status 201/);
  assert.match(textSummary({ ...summaryData(), state: { ...summaryData().state, isStdOutTTY: true }, options: { ...summaryData().options, noColor: false } }), /\x1b\[32m✓/);
});

summary.run();
