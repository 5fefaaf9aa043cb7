// The signal driver: kill, stop or continue a process, the stack's own (its handle), a local pid, or a compose service.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { settleThreads } from '../../stack/processes.ts';
import { sleep } from '../../stack/ports.ts';
import type { FaultSignal, PidBinding, StartSpec } from '../../stack/targets.ts';
import { describeProcess } from '../../stack/targets.ts';
import { adminAuthHeaders } from '../admin-auth.ts';
import { requestText } from '../http-json.ts';
import type { SignalStep } from '../matrix.ts';
import type { FaultContext } from '../scenario.ts';
import { binding } from './bindings.ts';
import { composeSignal } from './compose.ts';
import type { Undo } from './index.ts';

const execFileP = promisify(execFile);

/** How long a process that was sent an ending signal may take to exit. */
const EXIT_TIMEOUT_MS = 10_000;

export async function injectSignal(step: SignalStep, ctx: FaultContext): Promise<Undo> {
  const b = binding(ctx, step.target, 'process');
  const send = step.send;
  if (b.kind === 'handle') {
    await b.signal(send);
    return () => (send === 'SIGSTOP' ? b.resume() : b.start());
  }
  if (b.kind === 'compose') {
    await composeSignal(b, send);
    return () => composeSignal(b, send === 'SIGSTOP' ? 'SIGCONT' : 'start');
  }
  if (send !== 'SIGSTOP' && !b.start) throw new Error(`target "${step.target}": ${send} would end ${describeProcess(b)}, and its signal binding has no start to bring it back`);
  const pid = await signalPid(b, send, step.target);
  return async () => {
    if (send === 'SIGSTOP') {
      sendTo(b, pid, 'SIGCONT');
      await settleThreads(pid, { group: b.group, want: 'running', after: 'SIGCONT', what: step.target });
    } else {
      await start(b.start!, step.target);
    }
  };
}

function pidOf(b: PidBinding, target: string): number {
  if (b.pid !== undefined) return b.pid;
  let text: string;
  try {
    text = fs.readFileSync(b.pidFile!, 'utf8');
  } catch (err) {
    throw new Error(`target "${target}": cannot read pid file ${b.pidFile} (${(err as NodeJS.ErrnoException).code})`);
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`target "${target}": pid file ${b.pidFile} holds "${text.trim().slice(0, 40)}", not a pid`);
  return pid;
}

function sendTo(b: PidBinding, pid: number, sig: NodeJS.Signals): void {
  process.kill(b.group ? -pid : pid, sig);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A process whose parent has not reaped it yet is a zombie: gone for every purpose here.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Sends the signal; resolves once the process is stopped (SIGSTOP) or gone (the others). */
async function signalPid(b: PidBinding, sig: FaultSignal, target: string): Promise<number> {
  const pid = pidOf(b, target);
  try {
    sendTo(b, pid, sig);
  } catch (err) {
    throw new Error(`target "${target}": cannot send ${sig} to ${b.group ? 'process group' : 'pid'} ${pid} (${(err as NodeJS.ErrnoException).code}); is it running, and ours to signal?`);
  }
  if (sig === 'SIGSTOP') {
    await settleThreads(pid, { group: b.group, want: 'stopped', after: sig, what: target });
    return pid;
  }
  const deadline = Date.now() + EXIT_TIMEOUT_MS;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`target "${target}": pid ${pid} still running ${EXIT_TIMEOUT_MS} ms after ${sig}`);
    await sleep(20);
  }
  return pid;
}

async function start(spec: StartSpec, target: string): Promise<void> {
  if ('url' in spec) {
    // npm run stack's control API wants the same ADMIN_TOKEN the services' admin routes do.
    await requestText({ what: `${target}'s start`, method: spec.method, url: spec.url, timeoutMs: 60_000, headers: adminAuthHeaders() });
    return;
  }
  const [command, ...args] = spec.command;
  try {
    await execFileP(command!, args, { timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`target "${target}": start command ${spec.command.join(' ')} failed: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' | ')}`);
  }
}

