import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AlertTimeline, type Episode } from '../verify/timeline.ts';
import { labelsFingerprint } from '../verify/fingerprint.ts';
import { evaluate, parseExpected, type ScenarioWindow } from '../verify/evaluate.ts';

const test = suite('alert timeline: episodes by fingerprint and startsAt');
const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number): number => T0 + s * 1000;
const iso = (s: number): string => new Date(at(s)).toISOString();

const EXTERNAL = { run_id: 'r1' };
/** The rule's labels as Prometheus' /api/v1/alerts shows them (no external labels). */
const STORM = { alertname: 'MarketDataReconnectStorm', service: 'market-data', severity: 'medium', category: 'data-quality' };
/** The same alert as Alertmanager sees it: Prometheus adds its external labels when it sends. */
const STORM_AM = { ...STORM, ...EXTERNAL };
const am = (status: 'firing' | 'resolved', firedAtS: number, labels: Record<string, string> = STORM_AM) => ({ status, labels, fingerprint: labelsFingerprint(labels), startsAt: iso(firedAtS) });
const poll = (tl: AlertTimeline, s: number, activeAtS?: number, state = 'firing'): void => tl.observe(activeAtS === undefined ? [] : [{ labels: STORM, state, activeAt: iso(activeAtS) }], at(s));
const storms = (tl: AlertTimeline): Episode[] => tl.episodes().filter((e) => e.alertname === STORM.alertname);

const window = (over: Partial<ScenarioWindow>): ScenarioWindow => ({
  id: 'stream-dropped',
  description: 'drop the market-data stream',
  wave: 2,
  injectedAt: at(130),
  recoveredAt: at(160),
  endedAt: at(200),
  expect: [parseExpected('MarketDataReconnectStorm/market-data')],
  mayAlsoFire: [],
  deadlineS: 60,
  resetS: 45,
  ...over,
});

/** The collateral episode of wave 1: active at 100, notified at 106, gone at 112, resolution notified at 117. */
function collateral(tl: AlertTimeline, notified = true): void {
  for (let s = 101; s < 112; s++) poll(tl, s, 100);
  if (notified) tl.notify([am('firing', 100)], at(106));
  poll(tl, 112);
  if (notified) tl.notify([am('resolved', 100)], at(117));
}

test('a poll episode and its notification share the fingerprint Alertmanager computes, external labels included', () => {
  const tl = new AlertTimeline(EXTERNAL);
  poll(tl, 101, 100);
  tl.notify([am('firing', 100)], at(106));
  const [ep] = storms(tl);
  assert.is(ep!.fingerprint, labelsFingerprint(STORM_AM));
  assert.is.not(ep!.fingerprint, labelsFingerprint(STORM), 'the poll labels alone are not what Alertmanager fingerprints');
  assert.is(ep!.notifiedAt, at(106));
  assert.is(ep!.observed, true);
});

test('replay: a collateral episode fires and resolves unnotified, then a new episode is notified before the poll sees it; the new one is credited', () => {
  const tl = new AlertTimeline(EXTERNAL);
  // Wave 1's collateral episode: active 120 to 125, resolved before Alertmanager's group_wait, so never notified.
  for (let s = 121; s < 126; s++) poll(tl, s, 120);
  for (let s = 126; s < 141; s++) poll(tl, s);
  // Wave 2's episode: active (for 0s: firing) at 135; its notification arrives one poll before a poll shows it.
  tl.notify([am('firing', 135)], at(140.5));
  poll(tl, 141, 135);
  for (let s = 142; s < 165; s++) poll(tl, s, 135);
  poll(tl, 165);
  tl.notify([am('resolved', 135)], at(170));

  const [a, b, ...rest] = storms(tl);
  assert.is(rest.length, 0, 'two episodes, none invented');
  assert.equal([a!.activeAt, a!.notifiedAt, a!.resolvedNotifiedAt], [at(120), undefined, undefined]);
  assert.equal([b!.activeAt, b!.notifiedAt, b!.resolvedNotifiedAt, b!.startsAt], [at(135), at(140.5), at(170), at(135)]);

  const ev = evaluate({ windows: [window({})], episodes: tl.episodes(), ruleNames: [STORM.alertname], skewMs: 5000, alwaysFiring: [] });
  const o = ev.scenarios[0]!.alerts[0]!;
  assert.is(o.verdict, 'pass', o.detail);
  assert.is(o.stages.notifiedS, 10.5);
});

test('each of two notified episodes with the same labels keeps its own notifications', () => {
  const tl = new AlertTimeline(EXTERNAL);
  collateral(tl);
  for (let s = 113; s < 140; s++) poll(tl, s);
  tl.notify([am('firing', 135)], at(140.5));
  poll(tl, 141, 135);
  poll(tl, 150);
  tl.notify([am('resolved', 135)], at(155));
  assert.equal(storms(tl).map((e) => [e.activeAt, e.notifiedAt, e.resolvedNotifiedAt]), [[at(100), at(106), at(117)], [at(135), at(140.5), at(155)]]);
});

test('before its poll runs, a new episode\'s notification is never credited to an earlier unnotified episode that had ended', () => {
  const tl = new AlertTimeline(EXTERNAL);
  collateral(tl, false);
  tl.notify([am('firing', 135)], at(140.5));
  const early = storms(tl);
  assert.is(early[0]!.notifiedAt, undefined, 'the ended collateral episode gets nothing');
  assert.equal([early[1]!.observed, early[1]!.notifiedAt], [false, at(140.5)], 'kept as an episode known from its notification');
  poll(tl, 141, 135);
  const late = storms(tl);
  assert.is(late.length, 2, 'once polled, the notification joins the polled episode instead');
  assert.equal([late[1]!.observed, late[1]!.activeAt, late[1]!.notifiedAt], [true, at(135), at(140.5)]);
});

test('a new activeAt for the same labels between two polls starts a second episode', () => {
  const tl = new AlertTimeline(EXTERNAL);
  poll(tl, 101, 100);
  poll(tl, 102, 100);
  // Resolved and active again between two polls: Prometheus reports a new activeAt.
  poll(tl, 110, 108, 'pending');
  const eps = storms(tl);
  assert.equal(eps.map((e) => [e.activeAt, e.endedAt]), [[at(100), at(110)], [at(108), undefined]]);
  tl.notify([am('firing', 100)], at(104));
  tl.notify([am('firing', 113)], at(118));
  poll(tl, 114, 108);
  assert.equal(storms(tl).map((e) => e.notifiedAt), [at(104), at(118)]);
});

test('an episode no poll saw is kept from its notifications and judged like any other', () => {
  const tl = new AlertTimeline(EXTERNAL);
  poll(tl, 101);
  tl.notify([am('firing', 102)], at(103));
  tl.notify([am('resolved', 102)], at(110));
  poll(tl, 111);
  const [ep] = storms(tl);
  assert.equal([ep!.observed, ep!.firingAt, ep!.notifiedAt, ep!.resolvedNotifiedAt], [false, at(102), at(103), at(110)]);
  const ev = evaluate({ windows: [], episodes: tl.episodes(), ruleNames: [STORM.alertname], skewMs: 5000, alwaysFiring: [] });
  assert.equal(ev.falsePositives.map((f) => f.alertname), [STORM.alertname], 'fired without a fault: a false positive, though unpolled');
});

test('repeated notifications of one episode keep the first arrival', () => {
  const tl = new AlertTimeline(EXTERNAL);
  poll(tl, 101, 100);
  tl.notify([am('firing', 100)], at(106));
  tl.notify([am('firing', 100)], at(166));
  assert.is(storms(tl)[0]!.notifiedAt, at(106));
});

test.run();
