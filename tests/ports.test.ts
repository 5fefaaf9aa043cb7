import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, quietRange } from '../stack/ports.ts';

const test = suite('free ports');
const root = path.resolve(import.meta.dirname, '..');

test('ports chosen at once, in this process and in others, are never the same port twice', async () => {
  // Another process choosing ports at the same moment (a second verify-alerts, another test file).
  const script = "import { freePort } from './stack/ports.ts'; Promise.all(Array.from({ length: 100 }, () => freePort())).then((p) => console.log(JSON.stringify(p)));";
  const other = promisify(execFile)(path.join(root, 'node_modules/.bin/tsx'), ['--eval', script], { cwd: root, encoding: 'utf8' });
  const mine: number[] = [];
  // Keep choosing while the other process starts and chooses its own: 500 ports drawn at random from the ~22,000
  // below the ephemeral range would repeat a few (birthday odds) if nothing kept the claims apart.
  const until = Date.now() + 3000;
  while (Date.now() < until && mine.length < 400) mine.push(...(await Promise.all(Array.from({ length: 20 }, () => freePort()))));
  const theirs = JSON.parse((await other).stdout) as number[];
  const all = [...mine, ...theirs];
  assert.is(new Set(mine).size, mine.length);
  assert.is(new Set(all).size, all.length);
  for (const p of all) assert.ok(p > 0 && p < 65536);
});

const EPHEMERAL = '/proc/sys/net/ipv4/ip_local_port_range';

test('on Linux every port chosen lies below the ephemeral range, where no outgoing connection takes it before its daemon binds it', async () => {
  if (!fs.existsSync(EPHEMERAL)) return;
  const [low] = fs.readFileSync(EPHEMERAL, 'utf8').trim().split(/\s+/).map(Number);
  const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()));
  for (const p of ports) assert.ok(p >= 10_000 && p < low!, `port ${p} is not in 10000-${low! - 1}`);
});

test('the quiet range ends below the ephemeral one, and is not used when the kernel leaves too little room or says nothing', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-test-'));
  const file = (text: string): string => {
    const f = path.join(dir, String(Math.random()));
    fs.writeFileSync(f, text);
    return f;
  };
  try {
    assert.equal(quietRange(file('32768\t60999\n')), [10_000, 32_767]);
    assert.equal(quietRange(file('49152 65535\n')), [10_000, 49_151]);
    assert.is(quietRange(file('1024 65535\n')), undefined);
    assert.is(quietRange(file('garbage\n')), undefined);
    assert.is(quietRange(path.join(dir, 'missing')), undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
