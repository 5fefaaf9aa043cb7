// The smoke scenario against the real stack (Postgres, Redis, fake-alpaca and the four services as processes): every flow passes its checks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig, SERVICES, type ServiceUrls } from '../load/lib/config.ts';
import { startLoad } from '../load/runner/engine.ts';
import { formatSummary, type Summary } from '../load/runner/summary.ts';
import { smoke } from '../load/scenarios/smoke.ts';
import { awaitQuotes } from '../load/lib/setup.ts';
import { startStack, type Stack } from '../verify/stack/index.ts';

const test = suite<{ stack?: Stack; tmp: string }>('load smoke', { tmp: '' });

test.before(async (ctx) => {
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'load-smoke-'));
  ctx.stack = await startStack({ prometheus: false, alertmanager: false });
});

test.after(async (ctx) => {
  await ctx.stack?.stop();
  fs.rmSync(ctx.tmp, { recursive: true, force: true });
});

test('smoke scenario meets its thresholds against the real stack', async (ctx) => {
  const services = ctx.stack!.services;
  const urls = Object.fromEntries(SERVICES.map((s) => [s, services[s]?.url])) as ServiceUrls;
  for (const s of SERVICES) assert.type(urls[s], 'string', `stack has no ${s}`);
  // The environment of the test run must not redirect the load elsewhere: only the stack's URLs and defaults.
  const cfg = loadConfig({});
  const rawFile = path.join(ctx.tmp, 'raw.ndjson');
  const summary: Summary = await startLoad(smoke(cfg), { urls, rawFile, reportDir: path.join(ctx.tmp, 'reports') }).done;
  const text = formatSummary(summary);

  assert.ok(summary.ok, `smoke thresholds breached:\n${text}`);
  for (const [flow, f] of Object.entries(summary.flows)) {
    assert.ok(f.iterations.completed >= 2, `flow ${flow} completed only ${f.iterations.completed} iterations\n${text}`);
    assert.is(f.iterations.failed, 0, `flow ${flow} threw: ${JSON.stringify(f.iterationErrors)}`);
    assert.is(f.checks.fails, 0, `flow ${flow} failed checks\n${text}`);
    assert.ok(f.requests >= f.iterations.completed, `flow ${flow} sent ${f.requests} requests`);
  }
  assert.is(summary.metrics.http_req_failed.failed, 0, text);
  // Every request the summary counted is a line in the raw timings, with a real duration.
  const lines = fs.readFileSync(rawFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { durationMs: number; ok: boolean });
  assert.is(lines.length, summary.metrics.http_reqs.count);
  assert.ok(lines.every((l) => l.ok && l.durationMs > 0));
  assert.ok(fs.existsSync(summary.reportFile!), 'summary JSON written');
});

test('setup waits for quotes, and names the symbols market-data has none for', async (ctx) => {
  const url = ctx.stack!.services['market-data']!.url;
  await awaitQuotes(url, loadConfig({}).tradeSymbols);
  try {
    await awaitQuotes(url, ['ZZZZ'], 300);
    assert.unreachable('a symbol nobody subscribed has no quote');
  } catch (err) {
    assert.match((err as Error).message, /no quote for ZZZZ after 300 ms/);
  }
});

test.run();
