import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NO_FAULTS } from '../services/fake-alpaca/faults.ts';
import { startFakeAlpaca, type FakeAlpaca } from '../services/fake-alpaca/server.ts';
import { brokerFaults, type BrokerFaults } from '../verify/drivers/broker-faults.ts';
import { api, json } from './helpers/fake-alpaca.ts';

interface Ctx {
  fake?: FakeAlpaca;
  faults?: BrokerFaults;
}

const test = suite<Ctx>('broker faults client');

test.before(async (ctx) => {
  ctx.fake = await startFakeAlpaca({ tickMs: 1000, seed: 3 });
  ctx.faults = brokerFaults(`${ctx.fake.adminUrl}/`);
});

test.after.each(async (ctx) => {
  await ctx.faults?.clear();
});

test.after(async (ctx) => {
  await ctx.fake?.close();
});

test('reads the fault-free state', async (ctx) => {
  assert.equal(await ctx.faults!.get(), { ...NO_FAULTS, errorSymbols: [] });
});

test('merges partial updates and the broker applies them', async (ctx) => {
  const after = await ctx.faults!.set({ latencyMs: 150 });
  assert.is(after.latencyMs, 150);
  const merged = await ctx.faults!.set({ marketOpen: false });
  assert.is(merged.latencyMs, 150);
  assert.is(merged.marketOpen, false);
  const clock = await api(ctx.fake!.url, 'GET', '/v2/clock');
  assert.is(clock.status, 200);
  assert.is(json(clock).is_open, false);
  assert.ok(clock.ms >= 150, `clock answered in ${clock.ms} ms with 150 ms injected`);
});

test('refuses broker connections until cleared', async (ctx) => {
  await ctx.faults!.set({ refuseConnections: true });
  try {
    await api(ctx.fake!.url, 'GET', '/v2/clock');
    assert.unreachable('broker must refuse');
  } catch (err) {
    assert.is(((err as Error).cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  }
  const cleared = await ctx.faults!.clear();
  assert.is(cleared.refuseConnections, false);
  assert.is((await api(ctx.fake!.url, 'GET', '/v2/clock')).status, 200);
});

test('names the URL and the reason when a fault value is invalid', async (ctx) => {
  try {
    await ctx.faults!.set({ errorRate: 2 });
    assert.unreachable('errorRate 2 must be rejected');
  } catch (err) {
    assert.match((err as Error).message, /^fake-alpaca admin PUT http:\/\/127\.0\.0\.1:\d+\/admin\/faults answered HTTP 400: .*errorRate/);
  }
  assert.is((await ctx.faults!.get()).errorRate, 0);
});

test('says what to check when the admin URL is not fake-alpaca', async (ctx) => {
  const wrong = brokerFaults(ctx.fake!.url);
  try {
    await wrong.get();
    assert.unreachable('main listener has no admin API');
  } catch (err) {
    assert.match((err as Error).message, /fake-alpaca admin GET http:\/\/127\.0\.0\.1:\d+\/admin\/faults answered HTTP (401|404)/);
  }
});

test.run();
