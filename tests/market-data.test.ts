import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { startFakeAlpaca, type FakeAlpaca } from '../services/fake-alpaca/server.ts';
import { loadMarketDataConfig } from '../services/market-data/config.ts';
import { startMarketData } from '../services/market-data/server.ts';
import { backoffDelay } from '../services/market-data/stream.ts';
import { ConfigError } from '../services/kit/config.ts';
import { startExecutionGateway, type RunningGateway } from '../services/execution-gateway/server.ts';
import { loadGatewayConfig } from '../services/execution-gateway/config.ts';
import { startTestDeps, type TestDeps } from './helpers/stack.ts';
import { metricValue, promtoolCheckMetrics, sampleValue, waitFor } from './helpers/scrape.ts';

interface Ctx {
  deps: TestDeps;
  fake: FakeAlpaca;
  gateway: RunningGateway | undefined;
  md: { url: string; close(): Promise<void> };
  client: Redis;
}

const STALE_AFTER_MS = 600;
const test = suite<Ctx>('market-data', {} as Ctx);

test.before(async (ctx) => {
  ctx.deps = await startTestDeps();
  try {
    ctx.fake = await startFakeAlpaca({ symbols: ['AAPL', 'MSFT', 'SPY', 'TSLA'], tickMs: 50, logLevel: 'silent' });
    // The real gateway in DRY_RUN (fills at the Redis price): its positions drive market-data's position sync.
    ctx.gateway = await startExecutionGateway(
      loadGatewayConfig({
        DATABASE_URL: await ctx.deps.pg.createDatabase('gateway'),
        REDIS_URL: ctx.deps.redis.url,
        ALPACA_BASE_URL: ctx.fake.url,
        DRY_RUN: 'true',
        SYMBOLS: 'AAPL,MSFT,SPY,TSLA',
        LOG_LEVEL: 'silent',
      }),
    );
    ctx.md = await startMarketData(
      loadMarketDataConfig({
        REDIS_URL: ctx.deps.redis.url,
        ALPACA_DATA_WS_URL: ctx.fake.wsUrl,
        EXECUTION_GATEWAY_URL: ctx.gateway.url,
        SYMBOLS: 'AAPL,MSFT,SPY,TSLA',
        INITIAL_SUBSCRIPTIONS: 'AAPL',
        POSITION_SYNC_MS: '200',
        STALE_AFTER_MS: String(STALE_AFTER_MS),
        PROBE_INTERVAL_MS: '100',
        LOG_LEVEL: 'silent',
      }),
    );
    ctx.client = new Redis(ctx.deps.redis.url, { maxRetriesPerRequest: 1 });
    ctx.client.on('error', () => undefined);
  } catch (err) {
    await stopAll(ctx);
    throw err;
  }
});

async function stopAll(ctx: Ctx): Promise<void> {
  ctx.client?.disconnect();
  await ctx.md?.close();
  await ctx.gateway?.close();
  await ctx.fake?.close();
  await ctx.deps?.owner.stopAll();
}

test.after(stopAll);

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const metric = (ctx: Ctx, name: string, labels: Record<string, string> = {}): Promise<number | undefined> => metricValue(ctx.md.url, name, labels);
const waitMetric = (ctx: Ctx, name: string, ok: (v: number) => boolean, timeoutMs = 5000, labels: Record<string, string> = {}): Promise<number> =>
  waitFor(`${name}${JSON.stringify(labels)} to satisfy ${ok.toString()}`, async () => {
    const v = await metric(ctx, name, labels);
    return v !== undefined && ok(v) ? v : undefined;
  }, timeoutMs);

test('backoff doubles from 100 ms, caps at 5 s, and jitters within the upper half', () => {
  assert.is(backoffDelay(0, 100, 5000, () => 0), 50);
  assert.is(backoffDelay(0, 100, 5000, () => 1), 100);
  assert.is(backoffDelay(3, 100, 5000, () => 0.5), 600);
  assert.is(backoffDelay(6, 100, 5000, () => 0), 2500);
  assert.is(backoffDelay(60, 100, 5000, () => 1), 5000);
});

test('config defaults the initial subscriptions to the universe and rejects ones outside it', () => {
  const base = { REDIS_URL: 'redis://127.0.0.1:1', ALPACA_DATA_WS_URL: 'ws://127.0.0.1:1/v2/iex', SYMBOLS: 'AAPL,MSFT' };
  const cfg = loadMarketDataConfig(base);
  assert.equal(cfg.initialSubscriptions, ['AAPL', 'MSFT']);
  assert.is(cfg.staleAfterMs, 5000);
  assert.is(cfg.streamHealthyAfterMs, 10_000);
  assert.is(cfg.positionSyncMs, 5000);
  assert.is(cfg.gatewayUrl, undefined);
  assert.equal(loadMarketDataConfig({ ...base, INITIAL_SUBSCRIPTIONS: '' }).initialSubscriptions, []);
  assert.throws(() => loadMarketDataConfig({ ...base, INITIAL_SUBSCRIPTIONS: 'ZZZ' }), (e: unknown) => e instanceof ConfigError && /ZZZ not in SYMBOLS/.test((e as Error).message));
  assert.throws(() => loadMarketDataConfig({ SYMBOLS: 'AAPL' }), (e: unknown) => e instanceof ConfigError && /REDIS_URL/.test((e as Error).message));
});

test('authenticates, subscribes the initial set and writes quotes to Redis (hash, price list, pub/sub)', async (ctx) => {
  const sub = new Redis(ctx.deps.redis.url);
  try {
    const message = new Promise<string>((resolve) => sub.on('message', (_ch: string, m: string) => resolve(m)));
    await sub.subscribe('quotes');
    await waitMetric(ctx, 'market_data_websocket_connection_status', (v) => v === 1);
    const published = JSON.parse(await message) as { symbol: string; bid: number; ask: number; price: number };
    assert.is(published.symbol, 'AAPL');
    assert.is(published.price, (published.bid + published.ask) / 2);
    const h = await ctx.client.hgetall('quote:AAPL');
    assert.ok(Number(h.bid) > 0 && Number(h.ask) >= Number(h.bid), `bid/ask ${h.bid}/${h.ask}`);
    assert.is(Number(h.price), (Number(h.bid) + Number(h.ask)) / 2);
    assert.ok(!Number.isNaN(Date.parse(h.ts ?? '')), `ts ${h.ts}`);
    const prices = await ctx.client.lrange('prices:AAPL', 0, -1);
    assert.ok(prices.length >= 1 && prices.length <= 500);
    assert.ok(prices.every((p) => Number(p) > 0));
    const res = await fetch(`${ctx.md.url}/quotes/aapl`);
    assert.is(res.status, 200);
    const q = (await res.json()) as { symbol: string; price: number };
    assert.is(q.symbol, 'AAPL');
    assert.ok(q.price > 0);
    assert.is(await metric(ctx, 'market_data_websocket_messages_received_total', { message_type: 'success' }), 2);
    assert.ok(((await metric(ctx, 'market_data_websocket_messages_received_total', { message_type: 'q' })) ?? 0) > 0);
    assert.ok(((await metric(ctx, 'market_data_websocket_messages_received_total', { message_type: 't' })) ?? 0) > 0);
  } finally {
    sub.disconnect();
  }
});

test('POST /subscriptions confirms a symbol with the stream and quotes for it follow', async (ctx) => {
  const before = (await metric(ctx, 'market_data_subscription_requests_total', { status: 'success' })) ?? 0;
  const res = await fetch(`${ctx.md.url}/subscriptions`, json({ symbols: ['msft'] }));
  assert.is(res.status, 200);
  const body = (await res.json()) as { subscribed: string[]; confirmed: boolean };
  assert.ok(body.subscribed.includes('MSFT'));
  assert.is(body.confirmed, true);
  assert.is(await metric(ctx, 'market_data_subscription_requests_total', { status: 'success' }), before + 1);
  assert.ok(((await metric(ctx, 'market_data_subscription_duration_seconds_count')) ?? 0) >= 1);
  await waitFor('a MSFT quote', async () => (await fetch(`${ctx.md.url}/quotes/MSFT`)).status === 200);
  const list = (await (await fetch(`${ctx.md.url}/subscriptions`)).json()) as { subscribed: string[]; confirmed: string[] };
  assert.ok(list.confirmed.includes('MSFT') && list.confirmed.includes('AAPL'));
  assert.ok(((await metric(ctx, 'market_data_subscribed_symbols_current')) ?? 0) >= 2);
});

test('bad subscription requests are 400s (or 404 for a symbol not subscribed) and counted as invalid', async (ctx) => {
  const before = (await metric(ctx, 'market_data_subscription_requests_total', { status: 'invalid' })) ?? 0;
  const bad = [{ symbols: 'AAPL' }, { symbols: [] }, { symbols: ['AAPL', 'ZZZZ'] }, {}];
  for (const b of bad) {
    const res = await fetch(`${ctx.md.url}/subscriptions`, json(b));
    assert.is(res.status, 400, JSON.stringify(b));
  }
  const outside = (await (await fetch(`${ctx.md.url}/subscriptions`, json({ symbols: ['ZZZZ'] }))).json()) as { error: { message: string } };
  assert.match(outside.error.message, /not in the configured universe: ZZZZ/);
  assert.is((await fetch(`${ctx.md.url}/subscriptions/ZZZZ`, { method: 'DELETE' })).status, 400);
  assert.is((await fetch(`${ctx.md.url}/subscriptions/TSLA`, { method: 'DELETE' })).status, 404);
  assert.is(await metric(ctx, 'market_data_subscription_requests_total', { status: 'invalid' }), before + 7);
  assert.is((await fetch(`${ctx.md.url}/quotes/TSLA`)).status, 404);
  assert.is((await fetch(`${ctx.md.url}/quotes/not-a-symbol`)).status, 400);
});

test('DELETE /subscriptions/:symbol unsubscribes and the stream confirms it', async (ctx) => {
  const res = await fetch(`${ctx.md.url}/subscriptions/MSFT`, { method: 'DELETE' });
  assert.is(res.status, 200);
  const body = (await res.json()) as { subscribed: string[]; confirmed: boolean };
  assert.not.ok(body.subscribed.includes('MSFT'));
  assert.is(body.confirmed, true);
  const list = (await (await fetch(`${ctx.md.url}/subscriptions`)).json()) as { confirmed: string[] };
  assert.not.ok(list.confirmed.includes('MSFT'));
});

test('position sync subscribes symbols held at the gateway, and counts failures without crashing when the gateway is down', async (ctx) => {
  // The first sync runs POSITION_SYNC_MS after start and needs a gateway round trip: on a loaded machine the tests
  // above can finish before it has, so wait for it rather than assume it.
  await waitMetric(ctx, 'market_data_position_syncs_total', (v) => v >= 1, 10000, { status: 'success' });
  // A DRY_RUN fill needs a price; market-data is not subscribed to TSLA, so seed its quote by hand.
  await ctx.client.hset('quote:TSLA', { bid: 199.5, ask: 200.5, price: 200, ts: new Date().toISOString() });
  const order = await fetch(`${ctx.gateway!.url}/orders`, json({ client_order_id: 'md-test-1', symbol: 'TSLA', side: 'buy', qty: 3, type: 'market' }));
  assert.is(order.status, 201, await order.clone().text());
  await waitFor('TSLA auto-subscribed from the gateway position', async () => {
    const list = (await (await fetch(`${ctx.md.url}/subscriptions`)).json()) as { confirmed: string[] };
    return list.confirmed.includes('TSLA');
  });
  const list = (await (await fetch(`${ctx.md.url}/subscriptions`)).json()) as { subscribed: string[] };
  assert.equal(list.subscribed, ['AAPL', 'TSLA']);
  const failuresBefore = (await metric(ctx, 'market_data_position_syncs_total', { status: 'failure' })) ?? 0;
  await ctx.gateway!.close();
  ctx.gateway = undefined;
  await waitMetric(ctx, 'market_data_position_syncs_total', (v) => v >= failuresBefore + 2, 5000, { status: 'failure' });
  assert.is((await fetch(`${ctx.md.url}/health`)).status, 200);
});

test('reconnects after wsDrop: status goes 0, reconnect attempts climb, then status 1 and quotes resume', async (ctx) => {
  await waitMetric(ctx, 'market_data_websocket_connection_status', (v) => v === 1);
  const before = (await metric(ctx, 'market_data_reconnect_attempts_total')) ?? 0;
  await ctx.fake.setFaults({ wsDrop: true });
  try {
    await waitMetric(ctx, 'market_data_websocket_connection_status', (v) => v === 0, 2000);
    await waitMetric(ctx, 'market_data_reconnect_attempts_total', (v) => v >= before + 2, 3000);
    assert.is((await fetch(`${ctx.md.url}/ready`)).status, 503);
    // The wanted set survives the outage: absence alerts gate on it, so it must not drop to 0 with the socket.
    assert.ok(((await metric(ctx, 'market_data_subscribed_symbols_current')) ?? 0) >= 2, 'subscribed symbols kept while disconnected');
  } finally {
    // Cleared even when an assertion fails, so the tests after this one do not inherit a dead feed.
    await ctx.fake.setFaults({ wsDrop: false });
  }
  const t0 = Date.now();
  await waitMetric(ctx, 'market_data_websocket_connection_status', (v) => v === 1, 6000);
  process.stdout.write(`    reconnected ${Date.now() - t0} ms after the drop ended\n`);
  const list = (await (await fetch(`${ctx.md.url}/subscriptions`)).json()) as { confirmed: string[] };
  assert.equal(list.confirmed.sort(), ['AAPL', 'TSLA'], 're-subscribed after reconnect');
  const ts1 = (await ctx.client.hget('quote:TSLA', 'ts')) ?? '';
  await waitFor('a newer TSLA quote', async () => ((await ctx.client.hget('quote:TSLA', 'ts')) ?? '') > ts1, 2000);
});

test('a silent stream (wsSilent) is detected as stale: status 0 and a reconnect, then recovery', async (ctx) => {
  await waitMetric(ctx, 'market_data_websocket_connection_status', (v) => v === 1);
  const before = (await metric(ctx, 'market_data_reconnect_attempts_total')) ?? 0;
  const t0 = Date.now();
  await ctx.fake.setFaults({ wsSilent: true });
  try {
    await waitMetric(ctx, 'market_data_websocket_connection_status', (v) => v === 0, STALE_AFTER_MS + 2000, {});
    const detectedMs = Date.now() - t0;
    process.stdout.write(`    stale stream detected after ${detectedMs} ms (STALE_AFTER_MS ${STALE_AFTER_MS})\n`);
    assert.ok(detectedMs >= STALE_AFTER_MS - 50, `not before STALE_AFTER_MS (${detectedMs} ms)`);
    await waitMetric(ctx, 'market_data_reconnect_attempts_total', (v) => v > before, 3000);
    // Reconnected sockets stay silent too, so the status must not flap back to 1 while the fault lasts. Watched until
    // a reconnected socket has itself been judged stale and replaced (a second reconnect attempt).
    const statuses = new Set<number | undefined>();
    await waitFor('a reconnected socket judged stale as well', async () => {
      const text = await (await fetch(`${ctx.md.url}/metrics`)).text();
      statuses.add(sampleValue(text, 'market_data_websocket_connection_status'));
      return (sampleValue(text, 'market_data_reconnect_attempts_total') ?? 0) >= before + 2;
    }, 3 * STALE_AFTER_MS + 5000, 20);
    assert.equal([...statuses], [0], 'status while every reconnected socket stays silent');
  } finally {
    await ctx.fake.setFaults({ wsSilent: false });
  }
  await waitMetric(ctx, 'market_data_websocket_connection_status', (v) => v === 1, 6000);
});

/** Samples a market-data's reconnect counter and connection status every few ms, each with its time. */
function watchStream(url: string): { at(what: string, ok: (s: StreamSample) => boolean, timeoutMs: number): Promise<StreamSample>; stop(): Promise<void> } {
  const samples: StreamSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const text = await (await fetch(`${url}/metrics`)).text();
      samples.push({
        t: performance.now(),
        attempts: sampleValue(text, 'market_data_reconnect_attempts_total') ?? 0,
        status: sampleValue(text, 'market_data_websocket_connection_status') ?? 0,
      });
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    at: (what, ok, timeoutMs) => waitFor(what, async () => samples.find(ok), timeoutMs, 5),
    async stop() {
      running = false;
      await loop;
    },
  };
}

interface StreamSample {
  t: number;
  attempts: number;
  status: number;
}

test('a feed that drops right after auth is redialed ever more slowly; one that stayed healthy redials from the minimum', async (ctx) => {
  const HEALTHY_MS = 400;
  const fake = await startFakeAlpaca({ symbols: ['AAPL'], tickMs: 50, logLevel: 'silent' });
  let md: { url: string; close(): Promise<void> } | undefined;
  let watch: ReturnType<typeof watchStream> | undefined;
  try {
    await fake.setFaults({ wsDropAfterAuthMs: 50 });
    md = await startMarketData(
      loadMarketDataConfig({
        REDIS_URL: ctx.deps.redis.url,
        ALPACA_DATA_WS_URL: fake.wsUrl,
        SYMBOLS: 'AAPL',
        STREAM_HEALTHY_AFTER_MS: String(HEALTHY_MS),
        LOG_LEVEL: 'silent',
      }),
    );
    watch = watchStream(md.url);
    const redial: number[] = [];
    for (let n = 1; n <= 6; n++) redial.push((await watch.at(`reconnect attempt ${n}`, (s) => s.attempts >= n, 10_000)).t);
    // Redials 2..6 follow backoff delays 1..5, each at least half of 100 ms x 2^k (equal jitter): 3100 ms in all.
    // Resetting on auth would redial every 50-100 ms plus the 50 ms the feed stays up.
    const spanMs = redial[5]! - redial[0]!;
    const gaps = redial.slice(1).map((t, i) => Math.round(t - redial[i]!));
    process.stdout.write(`    redial gaps while the feed drops 50 ms after auth: ${gaps.join(', ')} ms\n`);
    assert.ok(spanMs >= 3100 - 100, `redials 1..6 spanned ${Math.round(spanMs)} ms (gaps ${gaps.join(', ')}), want >= 3000`);
    assert.ok(gaps[4]! > 2 * gaps[0]!, `gaps grow: ${gaps.join(', ')}`);

    await fake.clearFaults();
    const live = await watch.at('the stream live again', (s) => s.t > redial[5]! && s.status === 1, 10_000);
    await new Promise((r) => setTimeout(r, HEALTHY_MS + 300));
    const before = (await metricValue(md.url, 'market_data_reconnect_attempts_total'))!;
    // wsDrop on and straight off: the healthy connection is dropped and the redial finds the feed open again.
    await fake.setFaults({ wsDrop: true });
    const droppedAt = performance.now();
    await fake.setFaults({ wsDrop: false });
    const next = await watch.at('the redial after the healthy connection dropped', (s) => s.attempts > before, 10_000);
    const redialMs = next.t - droppedAt;
    process.stdout.write(`    healthy for ${Math.round(droppedAt - live.t)} ms, then dropped: redialed after ${Math.round(redialMs)} ms\n`);
    // Backoff delay 0 is 50-100 ms; without the reset it would be delay 6 or later, 2500 ms or more.
    assert.ok(redialMs < 600, `redialed ${Math.round(redialMs)} ms after the drop, want the minimum backoff (50-100 ms)`);
    await watch.at('the stream live after the redial', (s) => s.t > next.t && s.status === 1, 5000);
  } finally {
    await watch?.stop();
    await md?.close();
    await fake.close();
  }
});

test('Redis down: GET /quotes is a 503 naming Redis, status 0, and quotes land again after Redis returns', async (ctx) => {
  await waitMetric(ctx, 'market_data_redis_connection_status', (v) => v === 1);
  await ctx.deps.redis.stop();
  await waitMetric(ctx, 'market_data_redis_connection_status', (v) => v === 0, 3000);
  const res = await fetch(`${ctx.md.url}/quotes/AAPL`);
  assert.is(res.status, 503);
  const body = (await res.json()) as { error: { details: { dependency: string } } };
  assert.is(body.error.details.dependency, 'redis');
  assert.is((await fetch(`${ctx.md.url}/ready`)).status, 503);
  assert.is((await fetch(`${ctx.md.url}/health`)).status, 200);
  await ctx.deps.redis.start();
  await waitMetric(ctx, 'market_data_redis_connection_status', (v) => v === 1, 5000);
  // Redis restarted empty (no persistence): a 200 proves writes resumed.
  await waitFor('quotes to land after Redis recovery', async () => (await fetch(`${ctx.md.url}/quotes/AAPL`)).status === 200, 5000);
});

test('/metrics exposes every market-data metric by its exact name and passes promtool check metrics', async (ctx) => {
  const text = await (await fetch(`${ctx.md.url}/metrics`)).text();
  for (const name of [
    'market_data_subscription_requests_total',
    'market_data_subscription_duration_seconds_bucket',
    'market_data_subscribed_symbols_current',
    'market_data_websocket_messages_received_total',
    'market_data_position_syncs_total',
    'market_data_websocket_connection_status',
    'market_data_redis_connection_status',
    'market_data_reconnect_attempts_total',
  ]) {
    assert.ok(new RegExp(`^${name}[{ ]`, 'm').test(text), `missing ${name}`);
  }
  const types = [...text.matchAll(/market_data_websocket_messages_received_total\{message_type="([^"]+)"\}/g)].map((m) => m[1]).sort();
  assert.equal(types, ['b', 'error', 'other', 'q', 'subscription', 'success', 't']);
  const { code, output } = await promtoolCheckMetrics(text);
  assert.is(code, 0, output);
  assert.is(output.trim(), '', output);
});

test.run();
