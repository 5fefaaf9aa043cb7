// Runs the type check and every uvu suite in tests/ (each in its own process, two at a time), then prints
// the summed totals as the last line: "N passed, N failed". Usage: tsx scripts/run-tests.ts [filter...]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

interface Outcome {
  name: string;
  passed: number;
  failed: number;
  output: string;
  ms: number;
}

const root = path.resolve(import.meta.dirname, '..');
const filters = process.argv.slice(2);
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 2);

function findSuites(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? findSuites(path.join(dir, e.name)) : e.name.endsWith('.test.ts') ? [path.join(dir, e.name)] : []))
    .sort();
}

function run(name: string, cmd: string, args: string[]): Promise<{ code: number; output: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, output, ms: Date.now() - t0 }));
    child.on('error', (err) => resolve({ code: 1, output: `${name}: ${err.message}`, ms: Date.now() - t0 }));
  });
}

function count(output: string, label: string): number | undefined {
  const m = output.replace(/\x1b\[[0-9;]*m/g, '').match(new RegExp(`${label}:\\s+(\\d+)`));
  return m ? Number(m[1]) : undefined;
}

async function runSuite(file: string): Promise<Outcome> {
  const name = path.relative(root, file);
  const { code, output, ms } = await run(name, process.execPath, ['--import', 'tsx', file]);
  const total = count(output, 'Total');
  const passed = count(output, 'Passed') ?? 0;
  const skipped = count(output, 'Skipped') ?? 0;
  // A suite that crashed before reporting, or exited non-zero, counts at least one failure.
  let failed = total === undefined ? 1 : total - passed - skipped;
  if (code !== 0 && failed === 0) failed = 1;
  return { name, passed, failed, output, ms };
}

async function main(): Promise<void> {
  const suites = findSuites(path.join(root, 'tests')).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
  const outcomes: Outcome[] = [];
  if (filters.length === 0) {
    // The Node code, then the k6 scripts with only the k6 types (load/tsconfig.k6.json).
    for (const [name, project] of [['typecheck', root], ['typecheck k6 scripts', path.join(root, 'load/tsconfig.k6.json')]] as const) {
      process.stdout.write(`${name}: tsc --noEmit -p ${path.relative(root, project) || '.'} ...\n`);
      const tsc = await run(name, process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', project]);
      outcomes.push({ name, passed: tsc.code === 0 ? 1 : 0, failed: tsc.code === 0 ? 0 : 1, output: tsc.output, ms: tsc.ms });
      process.stdout.write(`${tsc.output}${name}: ${tsc.code === 0 ? 'ok' : 'FAILED'} (${tsc.ms} ms)\n`);
    }
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < suites.length) {
      const file = suites[next++]!;
      const o = await runSuite(file);
      outcomes.push(o);
      process.stdout.write(`\n=== ${o.name} (${(o.ms / 1000).toFixed(1)} s): ${o.passed} passed, ${o.failed} failed\n${o.output}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  const passed = outcomes.reduce((a, o) => a + o.passed, 0);
  const failed = outcomes.reduce((a, o) => a + o.failed, 0);
  const bad = outcomes.filter((o) => o.failed > 0).map((o) => o.name);
  if (bad.length) process.stdout.write(`\nfailing: ${bad.join(', ')}\n`);
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  process.exit(failed > 0 ? 1 : 0);
}

void main();
