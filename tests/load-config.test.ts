// Load configuration and scenario shaping: env parsing, rate scaling, symbol split, duration scaling of every scenario.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BASELINE_RATES, loadConfig, LoadConfigError, parseDurationS } from '../load/lib/config.ts';
import { scaleScenario, scenarioDurationS } from '../load/runner/engine.ts';
import { compileThresholds } from '../load/runner/thresholds.ts';
import { SCENARIOS } from '../load/scenarios/index.ts';

const test = suite('load config');

test('parses durations in ms, s, m and h', () => {
  assert.is(parseDurationS('250ms'), 0.25);
  assert.is(parseDurationS('30s'), 30);
  assert.is(parseDurationS('45'), 45);
  assert.is(parseDurationS('5m'), 300);
  assert.is(parseDurationS('1.5h'), 5400);
  assert.throws(() => parseDurationS('soon'), /not like 30s/);
  assert.throws(() => parseDurationS('0s'), /greater than zero/);
});

test('defaults to the baseline rates and scales them with LOAD_RATE_SCALE', () => {
  assert.equal(loadConfig({}).rates, BASELINE_RATES);
  const cfg = loadConfig({ LOAD_RATE_SCALE: '2', LOAD_RATE_ORDERS: '5' });
  assert.is(cfg.rates.orders, 10);
  assert.is(cfg.rates.pnl, BASELINE_RATES.pnl * 2);
});

test('splits the universe into traded and churned symbols without overlap', () => {
  const cfg = loadConfig({ SYMBOLS: 'AAPL,MSFT,GOOGL,AMZN,NVDA' });
  assert.equal(cfg.tradeSymbols, ['AAPL', 'MSFT', 'GOOGL']);
  assert.equal(cfg.churnSymbols, ['AMZN', 'NVDA']);
  assert.equal(loadConfig({}).tradeSymbols.length + loadConfig({}).churnSymbols.length, 10);
});

test('takes only the service URLs that are set, and names a bad value', () => {
  const cfg = loadConfig({ ORCHESTRATOR_URL: 'http://127.0.0.1:9', LOAD_DURATION: '2m', LOAD_METRICS_PORT: '0' });
  assert.equal(cfg.urls, { orchestrator: 'http://127.0.0.1:9' });
  assert.is(cfg.durationS, 120);
  assert.is(cfg.metricsPort, 0);
  assert.throws(() => loadConfig({ LOAD_RATE_ORDERS: '-1' }), (e: unknown) => e instanceof LoadConfigError && /LOAD_RATE_ORDERS/.test((e as Error).message));
  assert.throws(() => loadConfig({ LOAD_DURATION: 'forever' }), /LOAD_DURATION: duration "forever"/);
});

test('every scenario has valid thresholds and the six flows', () => {
  const cfg = loadConfig({});
  for (const [name, build] of Object.entries(SCENARIOS)) {
    const scenario = build(cfg);
    assert.is(scenario.name, name);
    assert.equal(Object.keys(scenario.flows).sort(), ['orders', 'pnl', 'positions', 'runs', 'signals', 'subscriptions']);
    compileThresholds(scenario.thresholds);
    assert.is(scenario.flows.runs!.executor.maxInFlight, 1, `${name}: the orchestrator takes one run at a time`);
  }
  assert.ok(SCENARIOS.stress(cfg).knee, 'stress reports a knee');
  assert.is(scenarioDurationS(SCENARIOS.soak(loadConfig({ LOAD_DURATION: '10m' }))), 600);
});

test('scales a scenario to a new length keeping its shape', () => {
  const spike = SCENARIOS.spike(loadConfig({}));
  assert.is(scenarioDurationS(spike), 60);
  const short = scaleScenario(spike, 30);
  assert.is(scenarioDurationS(short), 30);
  const orders = short.flows.orders!.executor;
  assert.is(orders.executor, 'ramping-arrival-rate');
  if (orders.executor === 'ramping-arrival-rate') {
    assert.equal(orders.stages.map((s) => s.durationS), [10, 1, 7.5, 1, 10.5]);
    assert.equal(orders.stages.map((s) => s.target), [2, 20, 20, 2, 2]);
  }
  const pnl = short.flows.pnl!.executor;
  assert.is(pnl.executor === 'constant-arrival-rate' && pnl.durationS, 30);
  assert.throws(() => scaleScenario(spike, 0), /duration must be > 0/);
});

test.run();
