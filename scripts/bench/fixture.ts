// A benchmark target as a child process of its own: a script under scripts/bench/ that prints one
// {"msg":"listening","url":...} line (services/kit/main.ts runMain) once it accepts connections.
import path from 'node:path';
import { ProcessOwner, type ManagedProcess } from '../../stack/processes.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const LISTEN_TIMEOUT_MS = 30_000;

/** Starts scripts/bench/<name>.ts under owner and resolves with the URL it printed. */
export async function startFixture(owner: ProcessOwner, name: string, env: Record<string, string>): Promise<{ url: string; proc: ManagedProcess }> {
  const proc = owner.spawn({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', path.join('scripts', 'bench', `${name}.ts`)],
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} printed no {"msg":"listening"} line within ${LISTEN_TIMEOUT_MS / 1000} s; its log tail:\n${proc.tail()}`)), LISTEN_TIMEOUT_MS);
    const off = proc.onLine((line) => {
      if (!line.includes('"listening"')) return;
      clearTimeout(timer);
      off();
      resolve((JSON.parse(line) as { url: string }).url);
    });
    void proc.exited().then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening; its log tail:\n${proc.tail()}`));
    });
  });
  return { url, proc };
}
