import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAlone } from '../stack/start-gate.ts';

const test = suite('one start at a time (stack/start-gate.ts)');

/** A start whose end the test decides. */
function controlled(): { begun: () => boolean; start: () => Promise<string>; finish: (v: string) => void; fail: (e: Error) => void } {
  let begun = false;
  let finish!: (v: string) => void;
  let fail!: (e: Error) => void;
  const done = new Promise<string>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return {
    begun: () => begun,
    start: () => {
      begun = true;
      return done;
    },
    finish: (v) => finish(v),
    fail: (e) => fail(e),
  };
}

/** The message a start rejected with; a handler is attached at once, so the rejection is never unhandled. */
function rejection(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (e: Error) => e.message,
  );
}

/** Lets every queued promise callback run. */
const settle = (): Promise<void> => sleep(5);

test('a start begins only once the one before it is up, in the order asked, and gets its own result', async () => {
  const [a, b, c] = [controlled(), controlled(), controlled()];
  const results = [startAlone(a.start), startAlone(b.start), startAlone(c.start)];
  await settle();
  assert.equal([a.begun(), b.begun(), c.begun()], [true, false, false]);
  a.finish('a');
  await settle();
  assert.equal([b.begun(), c.begun()], [true, false]);
  b.finish('b');
  await settle();
  assert.ok(c.begun());
  c.finish('c');
  assert.equal(await Promise.all(results), ['a', 'b', 'c']);
});

test('a failed start, thrown or rejected, rejects its own caller and lets the next one begin', async () => {
  const rejected = controlled();
  const next = controlled();
  const thrown = rejection(
    startAlone<string>(() => {
      throw new Error('spawn failed');
    }),
  );
  const failing = rejection(startAlone(rejected.start));
  const after = startAlone(next.start);
  assert.is(await thrown, 'spawn failed');
  await settle();
  assert.ok(rejected.begun());
  assert.not.ok(next.begun());
  rejected.fail(new Error('exited before listening'));
  assert.is(await failing, 'exited before listening');
  await settle();
  assert.ok(next.begun());
  next.finish('up');
  assert.is(await after, 'up');
});

test('a start that is not up within the hold limit lets the next begin, and still ends on its own', async () => {
  const slow = controlled();
  const next = controlled();
  const slowResult = startAlone(slow.start, 200);
  const nextResult = startAlone(next.start);
  await settle();
  assert.not.ok(next.begun(), 'the next start waits while the slow one is within its hold limit');
  // Past the hold limit: however late this machine runs the timer, the next start must begin before the slow one ends.
  const deadline = Date.now() + 10_000;
  while (!next.begun() && Date.now() < deadline) await sleep(10);
  assert.ok(next.begun(), 'the next start began though the slow one is not up');
  next.finish('next');
  slow.finish('slow');
  assert.equal(await Promise.all([slowResult, nextResult]), ['slow', 'next']);
});

test.run();
