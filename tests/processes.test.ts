import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessOwner } from '../stack/processes.ts';
import { sleep } from '../stack/ports.ts';

const test = suite<{ owner?: ProcessOwner }>('managed processes');

test.before((ctx) => {
  ctx.owner = new ProcessOwner();
});

test.after(async (ctx) => {
  // Stops what is left and removes the run dir with the logs.
  await ctx.owner?.stopAll();
});

test('output printed after the child exited, by a process it left in its group, is logged and kept in the tail', async (ctx) => {
  // The shell exits at once; the subshell it started holds the same stdout and prints 300 ms later. Before the log was
  // closed at 'close', that late write hit a closed descriptor and crashed the process owning the stack (EBADF).
  const proc = ctx.owner!.spawn({ name: 'leaves-a-child', command: 'sh', args: ['-c', '(sleep 0.3; echo late) & echo early; exit 0'] });
  assert.is(await proc.exited(), 0);
  const late = new Promise<void>((resolve) => proc.onLine((line) => line === 'late' && resolve()));
  await Promise.race([late, sleep(5000)]);
  await sleep(100);
  assert.match(proc.tail(), /early\nlate/);
  assert.is(fs.readFileSync(path.join(ctx.owner!.runDir, 'leaves-a-child.log'), 'utf8'), 'early\nlate\n');
});

test('a child restarted after it exited appends to the same log', async (ctx) => {
  const proc = ctx.owner!.spawn({ name: 'twice', command: 'sh', args: ['-c', 'echo run'] });
  await proc.exited();
  proc.start();
  await proc.exited();
  await sleep(100);
  assert.is(fs.readFileSync(path.join(ctx.owner!.runDir, 'twice.log'), 'utf8'), 'run\nrun\n');
});

test.run();
