// The compose driver: signals to a docker compose service's process (`docker compose kill -s`), and `start` after.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ComposeBinding } from '../../stack/targets.ts';

const execFileP = promisify(execFile);

/** `docker compose kill -s <signal> <service>`, or `docker compose start <service>`. */
export async function composeSignal(b: ComposeBinding, what: NodeJS.Signals | 'start'): Promise<void> {
  const args = ['compose', ...(b.project ? ['-p', b.project] : []), ...b.files.flatMap((f) => ['-f', f])];
  args.push(...(what === 'start' ? ['start', b.service] : ['kill', '-s', what, b.service]));
  try {
    await execFileP('docker', args, { timeout: 60_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`compose service ${b.service}: docker is not on PATH; the compose driver needs the docker CLI with its compose plugin`);
    throw new Error(`docker ${args.join(' ')} failed: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' | ')}`);
  }
}
