import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { freePort } from '../stack/ports.ts';

const test = suite('free ports');
const root = path.resolve(import.meta.dirname, '..');

test('ports chosen at once, in this process and in others, are never the same port twice', async () => {
  // Another process choosing ports at the same moment (a second verify-alerts, another test file).
  const script = "import { freePort } from './stack/ports.ts'; Promise.all(Array.from({ length: 100 }, () => freePort())).then((p) => console.log(JSON.stringify(p)));";
  const other = promisify(execFile)(path.join(root, 'node_modules/.bin/tsx'), ['--eval', script], { cwd: root, encoding: 'utf8' });
  const mine: number[] = [];
  // Keep choosing while the other process starts and chooses its own: 500 ports drawn at random from the ~28,000
  // ephemeral ones would repeat a few (birthday odds) if nothing kept the claims apart.
  const until = Date.now() + 3000;
  while (Date.now() < until && mine.length < 400) mine.push(...(await Promise.all(Array.from({ length: 20 }, () => freePort()))));
  const theirs = JSON.parse((await other).stdout) as number[];
  const all = [...mine, ...theirs];
  assert.is(new Set(mine).size, mine.length);
  assert.is(new Set(all).size, all.length);
  for (const p of all) assert.ok(p > 0 && p < 65536);
});

test.run();
