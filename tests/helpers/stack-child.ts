// Child process for tests/no-orphans.test.ts: starts a stack, reports progress as JSON lines, then idles until killed.
import path from 'node:path';
import { startStack } from '../../stack/index.ts';
import { ProcessOwner } from '../../stack/processes.ts';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'stack');
const say = (msg: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(msg)}\n`);

// Every spawn is reported at once, so the test knows each process group even if it kills us mid-start.
const owner = new ProcessOwner({ onSpawn: (proc) => say({ spawned: proc.pid, name: proc.spec.name }) });
say({ runDir: owner.runDir });
const stack = await startStack({
  owner,
  services: [],
  prometheus: { config: path.join(fixtures, 'prometheus.yml') },
  alertmanager: { config: path.join(fixtures, 'alertmanager.yml'), webhookUrl: 'http://127.0.0.1:9/unused' },
  log: (line) => say({ log: line }),
});
say({ ready: true, urls: stack.urls() });
// Keeps the event loop alive until the test kills or interrupts this process.
setInterval(() => undefined, 60_000);
