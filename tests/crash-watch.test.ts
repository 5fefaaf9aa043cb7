// verify/crash-watch.ts with real child processes: an exit nobody asked for is a crash with its log tail; stop() and
// kill() (what scenarios and the harness do) are not; a restarted process is watched again.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { watchCrashes } from '../verify/crash-watch.ts';
import { ProcessOwner } from '../stack/processes.ts';

const test = suite('crash watch');
const node = (name: string, script: string) => ({ name, command: process.execPath, args: ['-e', script] });
const LIVE = 'console.log("up"); setInterval(() => undefined, 1000)';

test('an exit on its own is a crash with its code and last lines; stop and kill are not', async () => {
  const owner = new ProcessOwner({ handleSignals: false });
  try {
    const crasher = owner.spawn(node('crasher', 'console.log("about to fail"); setTimeout(() => { console.error("Error: boom"); process.exit(3); }, 100)'));
    const stopped = owner.spawn(node('stopped', LIVE));
    const killed = owner.spawn(node('killed', LIVE));
    const lines: string[] = [];
    const watch = watchCrashes({ crasher, stopped, killed }, (l) => lines.push(l));
    await crasher.exited();
    await stopped.stop();
    await killed.kill();
    const crashes = watch.crashes();
    assert.equal(crashes.map((c) => [c.service, c.code]), [['crasher', 3]]);
    assert.match(crashes[0]!.tail, 'Error: boom');
    assert.ok(lines.some((l) => l.includes('crasher exited on its own with code 3')));

    // Started again (as a scenario's recovery does), it is watched again.
    const t = Date.now();
    killed.start();
    await new Promise((r) => setTimeout(r, 200));
    killed.signal('SIGKILL');
    await killed.exited();
    assert.equal(watch.crashes(t).map((c) => [c.service, c.code]), [['killed', 128]]);
    watch.stop();
  } finally {
    await owner.stopAll();
  }
});

test.run();
