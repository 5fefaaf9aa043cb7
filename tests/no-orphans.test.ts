import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from '../stack/ports.ts';

const CHILD = path.join(import.meta.dirname, 'helpers', 'stack-child.ts');

interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  cmdline: string;
}

/** Every live process with its process group and command line, read from /proc. */
function processes(): Proc[] {
  const out: Proc[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state, ppid, pgrp, ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      out.push({ pid: Number(entry), ppid: Number(fields[1]), pgid: Number(fields[2]), cmdline });
    } catch {
      // The process exited while we looked.
    }
  }
  return out;
}

interface Child {
  proc: ChildProcess;
  /** Process group ids of everything the child spawned (each spawn is detached, so its pgid is its pid). */
  groups: Set<number>;
  runDir: Promise<string>;
  ready: Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

const children: ChildProcess[] = [];

function startChild(): Child {
  // Its own process group, so nothing of the stack can hide in ours.
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(proc);
  let output = '';
  let resolveDir!: (dir: string) => void;
  let resolveReady!: () => void;
  const runDir = new Promise<string>((r) => (resolveDir = r));
  const ready = new Promise<void>((r) => (resolveReady = r));
  let partial = '';
  const groups = new Set<number>();
  proc.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const msg = JSON.parse(line) as { runDir?: string; spawned?: number; ready?: boolean };
      if (msg.runDir) resolveDir(msg.runDir);
      if (msg.spawned) groups.add(msg.spawned);
      if (msg.ready) resolveReady();
    }
  });
  proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  return { proc, groups, runDir, ready, exit, output: () => output };
}

async function within<T>(p: Promise<T>, ms: number, what: string, output: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms; child output:\n${output()}`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The stack's processes: every member of the groups the child spawned, anything whose command line names the run dir,
 * and their descendants (Postgres workers call setsid, so they leave the postmaster's group).
 */
function stackProcesses(child: Child, runDir: string): { pgids: Set<number>; pids: Set<number> } {
  const all = processes();
  const pgids = new Set([...child.groups, ...all.filter((p) => p.cmdline.includes(runDir)).map((p) => p.pgid)]);
  const pids = new Set(all.filter((p) => pgids.has(p.pgid) || p.cmdline.includes(runDir)).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (!pids.has(p.pid) && pids.has(p.ppid)) {
        pids.add(p.pid);
        grew = true;
      }
    }
  }
  return { pgids, pids };
}

/** Polls until nothing of the stack is alive and the run dir is gone; returns what is left when time runs out. */
async function leftovers(runDir: string, snapshot: { pgids: Set<number>; pids: Set<number> }, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left: string[] = [];
    for (const p of processes()) {
      if (snapshot.pids.has(p.pid) || snapshot.pgids.has(p.pgid) || p.cmdline.includes(runDir)) left.push(`pid ${p.pid} (pgid ${p.pgid}): ${p.cmdline}`);
    }
    if (fs.existsSync(runDir)) left.push(`dir ${runDir}`);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(100);
  }
}

const test = suite('no orphans');

test.after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

test('leaves no process or temp dir when the owner is SIGKILLed with the stack running', async () => {
  const child = startChild();
  const runDir = await within(child.runDir, 20_000, 'child reported its run dir', child.output);
  await within(child.ready, 40_000, 'stack came up', child.output);
  const snapshot = stackProcesses(child, runDir);
  const names = processes().filter((p) => snapshot.pids.has(p.pid)).map((p) => p.cmdline);
  for (const expected of [/\/postgres -D/, /^postgres: checkpointer/, /^redis-server /, /^prometheus --config/, /^prometheus-alertmanager --config/]) {
    assert.ok(names.some((n) => expected.test(n)), `${expected} runs before the kill; saw:\n${names.join('\n')}`);
  }
  child.proc.kill('SIGKILL');
  assert.equal(await child.exit, { code: null, signal: 'SIGKILL' });
  assert.equal(await leftovers(runDir, snapshot, 8000), []);
});

test('leaves nothing when the owner is SIGKILLed while the stack is still starting', async () => {
  const child = startChild();
  const runDir = await within(child.runDir, 20_000, 'child reported its run dir', child.output);
  // Wait until something is spawned, then kill before prometheus/alertmanager are ready.
  const deadline = Date.now() + 20_000;
  while (child.groups.size === 0 && Date.now() < deadline) await sleep(20);
  const snapshot = stackProcesses(child, runDir);
  assert.ok(snapshot.pids.size > 0, 'some stack process started before the kill');
  child.proc.kill('SIGKILL');
  await child.exit;
  assert.equal(await leftovers(runDir, snapshot, 8000), []);
});

test('stops everything and exits 130 on SIGINT (Ctrl-C)', async () => {
  const child = startChild();
  const runDir = await within(child.runDir, 20_000, 'child reported its run dir', child.output);
  await within(child.ready, 40_000, 'stack came up', child.output);
  const snapshot = stackProcesses(child, runDir);
  assert.ok(snapshot.pids.size >= 5, `postgres (with its workers), redis, prometheus, alertmanager; got ${snapshot.pids.size}`);
  child.proc.kill('SIGINT');
  assert.equal(await within(child.exit, 15_000, 'child exited after SIGINT', child.output), { code: 130, signal: null });
  // A clean stop leaves nothing for the reaper: everything is gone the moment the child has exited.
  assert.equal(await leftovers(runDir, snapshot, 0), []);
});

test.run();
