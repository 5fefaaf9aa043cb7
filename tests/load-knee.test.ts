// The stress knee from k6's JSON output (load/analysis/knee.ts): small NDJSON files written here, and one real file
// from the runtime running load/bench/knee-step.ts against a server whose latency the test raises mid-run.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatKnee, kneeFromJsonOutput, type KneeCriteria } from '../load/analysis/knee.ts';
import { runScript } from '../load/runtime/client.ts';

const test = suite<{ tmp: string }>('knee from k6 JSON output', { tmp: '' });

test.before((ctx) => {
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'load-knee-'));
});

test.after((ctx) => {
  fs.rmSync(ctx.tmp, { recursive: true, force: true });
});

const BASE_MS = Date.parse('2026-12-01T15:00:00.000Z');
const ORDERS = { scenario: 'orders', flow: 'orders', group: '' };

/** k6's JSON output lines: each metric's Metric line before its first Point, as the runtime writes them. */
class JsonOutputWriter {
  private readonly lines: string[] = [];
  private readonly announced = new Set<string>();

  point(metric: string, atMs: number, value: number, tags: Record<string, string> = ORDERS): this {
    if (!this.announced.has(metric)) {
      this.announced.add(metric);
      this.lines.push(JSON.stringify({ type: 'Metric', data: { name: metric, type: 'counter', contains: 'default', thresholds: [], submetrics: null }, metric }));
    }
    this.lines.push(JSON.stringify({ type: 'Point', data: { time: new Date(atMs).toISOString(), value, tags }, metric }));
    return this;
  }

  /** One iteration started at startMs with one request of durationMs, stamped as k6 stamps them (at the response, at the end). */
  iteration(startMs: number, durationMs: number, failed = false, tags: Record<string, string> = ORDERS): this {
    const http = { ...tags, name: 'place_order', method: 'POST', status: failed ? '500' : '201' };
    this.point('http_reqs', startMs + durationMs, 1, http).point('http_req_duration', startMs + durationMs, durationMs, http).point('http_req_failed', startMs + durationMs, failed ? 1 : 0, http);
    return this.point('iterations', startMs + durationMs + 1, 1, tags).point('iteration_duration', startMs + durationMs + 1, durationMs + 1, tags);
  }

  write(file: string): string {
    fs.writeFileSync(file, `${this.lines.join('\n')}\n`);
    return file;
  }
}

/** The message a promise rejected with (uvu's assert has no rejects). */
async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a rejection');
}

const criteria = (over: Partial<KneeCriteria> = {}): KneeCriteria => ({ flow: 'orders', p99Ms: 500, maxErrorRate: 0.01, windowS: 1, ...over });

test('finds the knee at the first sustained break, ignoring a single noisy window', async (ctx) => {
  // Second s offers 10 + 2s iterations; p99 goes bad alone at 4 s (noise) and for good from 6 s; drops from 8 s.
  const out = new JsonOutputWriter();
  for (let sec = 0; sec < 10; sec++) {
    const offered = 10 + 2 * sec;
    for (let i = 0; i < offered; i++) {
      const at = BASE_MS + sec * 1000 + i;
      if (sec >= 8 && i >= offered - 3) out.point('dropped_iterations', at, 1);
      else out.iteration(at, (sec === 4 || sec >= 6) && i === 0 ? 900 : 50);
    }
  }
  const file = out.write(path.join(ctx.tmp, 'ramp.ndjson'));
  const knee = await kneeFromJsonOutput(file, criteria(), { scheduleEndS: 10 });
  assert.is(knee.found, true);
  assert.is(knee.atOfferedPerS, 22);
  assert.is(knee.lastGoodOfferedPerS, 20);
  assert.match(knee.reason, /^from 6 s: p99 \d+(\.\d+)? ms > 500 ms$/);
  assert.is(knee.windows.length, 10);
  assert.is(knee.windows[9]!.dropped, 3);
  assert.is(knee.windows[9]!.offeredPerS, 28);
  assert.is(knee.windows[9]!.requestsPerS, 25);
  const single = await kneeFromJsonOutput(file, criteria({ sustainWindows: 1 }), { scheduleEndS: 10 });
  assert.is(single.atOfferedPerS, 18, 'with no sustain rule the noisy window is the knee');
  const held = await kneeFromJsonOutput(file, criteria({ p99Ms: 1000 }), { scheduleEndS: 8 });
  assert.is(held.found, false);
  assert.is(held.lastGoodOfferedPerS, 24);
  assert.is(held.windows.length, 8);
});

test('breaks on the error rate of http_req_failed and on dropped iterations', async (ctx) => {
  const out = new JsonOutputWriter();
  for (let sec = 0; sec < 6; sec++) {
    for (let i = 0; i < 20; i++) {
      const at = BASE_MS + sec * 1000 + i * 50;
      // 2 of 20 requests fail from 2 s (0.1 > 0.01); from 4 s one arrival per second finds no free VU.
      if (sec >= 4 && i === 19) out.point('dropped_iterations', at, 1);
      else out.iteration(at, 5, sec >= 2 && sec < 4 && i < 2);
    }
  }
  const file = out.write(path.join(ctx.tmp, 'errors.ndjson'));
  const knee = await kneeFromJsonOutput(file, criteria(), { scheduleEndS: 6 });
  assert.is(knee.found, true);
  assert.is(knee.reason, 'from 2 s: error rate 0.1 > 0.01');
  assert.is(knee.lastGoodOfferedPerS, 20);
  assert.equal(knee.windows.map((w) => w.errorRate), [0, 0, 0.1, 0.1, 0, 0]);
  const drops = await kneeFromJsonOutput(file, criteria({ maxErrorRate: 0.5 }), { scheduleEndS: 6 });
  assert.is(drops.reason, 'from 4 s: 1 iterations dropped (no free VU)');
  assert.is(drops.atOfferedPerS, 20);
});

test("reads only the criteria's flow, from its first arrival, and skips Metric lines and other metrics", async (ctx) => {
  const other = { scenario: 'quotes', flow: 'quotes', group: '' };
  const out = new JsonOutputWriter();
  // The other flow starts 5 s earlier and is always slow; a setup request has no flow tag at all.
  out.point('http_req_duration', BASE_MS - 6000, 2000, { group: '', name: 'setup' });
  for (let sec = -5; sec < 3; sec++) for (let i = 0; i < 10; i++) out.iteration(BASE_MS + sec * 1000 + i * 100, 900, true, other);
  for (let sec = 0; sec < 3; sec++) for (let i = 0; i < 10; i++) out.iteration(BASE_MS + 250 + sec * 1000 + i * 100, 20);
  out.point('vus', BASE_MS + 1000, 30, {});
  const knee = await kneeFromJsonOutput(out.write(path.join(ctx.tmp, 'two-flows.ndjson')), criteria(), { scheduleEndS: 3 });
  assert.is(knee.found, false);
  assert.equal(knee.windows.map((w) => [w.startS, w.offeredPerS, w.p99Ms, w.errorRate]), [[0, 10, 20, 0], [1, 10, 20, 0], [2, 10, 20, 0]]);
});

test('counts an iteration at its start, so a latency jump does not lower the offered rate', async (ctx) => {
  const out = new JsonOutputWriter();
  // 10/s for 4 s; from 2 s every request takes 800 ms, so most of those iterations end in the next window.
  for (let n = 0; n < 40; n++) out.iteration(BASE_MS + n * 100, n >= 20 ? 800 : 10);
  const knee = await kneeFromJsonOutput(out.write(path.join(ctx.tmp, 'jump.ndjson')), criteria(), { scheduleEndS: 4 });
  assert.equal(knee.windows.map((w) => w.offeredPerS), [10, 10, 10, 10]);
  // Requests are counted when k6 stamped them, at the response: only two of the slow ones end inside 2 s..3 s.
  assert.equal(knee.windows.map((w) => w.requestsPerS), [10, 10, 2, 10]);
  assert.is(knee.reason, 'from 2 s: p99 800 ms > 500 ms');
});

test('leaves out a trailing partial window when the schedule end is not given', async (ctx) => {
  const out = new JsonOutputWriter();
  for (let n = 0; n < 35; n++) out.iteration(BASE_MS + n * 100, 10);
  const knee = await kneeFromJsonOutput(out.write(path.join(ctx.tmp, 'partial.ndjson')), criteria());
  assert.equal(knee.windows.map((w) => w.startS), [0, 1, 2]);
  assert.is(knee.lastGoodOfferedPerS, 10);
});

test('formatKnee prints the knee line of the run summary', () => {
  const c = criteria();
  assert.is(
    formatKnee({ criteria: c, found: true, atOfferedPerS: 22, lastGoodOfferedPerS: 20, reason: 'from 6 s: p99 900 ms > 500 ms', windows: [] }),
    'knee (orders): breaks at ~22.0 iterations/s offered (last good ~20.0/s); from 6 s: p99 900 ms > 500 ms',
  );
  assert.is(formatKnee({ criteria: c, found: false, atOfferedPerS: null, lastGoodOfferedPerS: 24, reason: 'held at every offered rate', windows: [] }), 'knee (orders): not reached; held up to ~24.0 iterations/s offered');
});

test('says what is wrong with a missing file, a file without the flow, and a line that is not JSON', async (ctx) => {
  const missing = path.join(ctx.tmp, 'missing.ndjson');
  assert.match(await rejection(kneeFromJsonOutput(missing, criteria())), /cannot read k6 JSON output .*missing\.ndjson: .*ENOENT.*--out json=/);
  const noFlow = new JsonOutputWriter().iteration(BASE_MS, 10, false, { scenario: 'quotes', flow: 'quotes', group: '' }).write(path.join(ctx.tmp, 'no-flow.ndjson'));
  assert.match(await rejection(kneeFromJsonOutput(noFlow, criteria())), /no .* Point tagged flow "orders"; is the flow name the scenario's tags\.flow\?/);
  const broken = path.join(ctx.tmp, 'broken.ndjson');
  fs.writeFileSync(broken, '{"type":"Point","metric":"http_req_duration","data":{"tags":{"flow":"orders"}\n');
  assert.match(await rejection(kneeFromJsonOutput(broken, criteria())), /broken\.ndjson:1 is not JSON/);
});

test('finds the knee in a real JSON output where the test raised the latency', async (ctx) => {
  // 20 iterations/s for 6 s; the server answers in 5 ms until it has seen 60 requests (3 s), then in 600 ms.
  const SLOW_FROM = 60;
  let seen = 0;
  const server = http.createServer((_req, res) => {
    const delay = seen++ < SLOW_FROM ? 5 : 600;
    setTimeout(() => res.writeHead(201, { 'content-type': 'application/json' }).end('{"status":"accepted"}'), delay);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const file = path.join(ctx.tmp, 'real.ndjson');
  try {
    const run = runScript({
      script: path.resolve(import.meta.dirname, '../load/bench/knee-step.ts'),
      env: { BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, KNEE_RATE: '20', KNEE_DURATION: '6s' },
      out: [`json=${file}`],
      handleSummary: false,
      onOutput: () => undefined,
    });
    const result = await run.done;
    assert.is(result.exitCode, 0, result.errorTail.join('\n'));
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  const knee = await kneeFromJsonOutput(file, criteria({ p99Ms: 300, sustainWindows: 2 }), { scheduleEndS: 6 });
  assert.is(knee.found, true, formatKnee(knee));
  assert.match(knee.reason, /^from 3 s: p99 \d+(\.\d+)? ms > 300 ms$/);
  assert.is(knee.windows.length, 6);
  // Arrivals fall on window boundaries (every 50 ms from the first), so a millisecond of start-up jitter moves one across.
  for (const w of knee.windows) assert.ok(w.offeredPerS >= 19 && w.offeredPerS <= 21, `offered ${w.offeredPerS}/s at ${w.startS} s`);
  assert.ok(knee.windows.slice(0, 3).every((w) => w.p99Ms !== null && w.p99Ms < 300), JSON.stringify(knee.windows));
  assert.ok(knee.windows.slice(3).every((w) => w.p99Ms !== null && w.p99Ms >= 600), JSON.stringify(knee.windows));
});

test.run();
