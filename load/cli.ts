// `npm run load -- <scenario> [-e KEY=VALUE]... [--out json=FILE] [--metrics-port N]`: runs one of the k6 scripts in
// load/scenarios/ through load/runtime against the running stack (or one it starts), with k6's exit codes (99: a
// threshold breached). For stress it also reads the knee from the JSON output.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startStack, type LocalStack } from '../stack/index.ts';
import { ProcessOwner } from '../stack/processes.ts';
import { formatKnee, kneeFromJsonOutput, type KneeCriteria } from './analysis/knee.ts';
import { isScenarioName, runScenario, SCENARIO_NAMES } from './scenario-run.ts';
import type { RunProgress } from './runtime/client.ts';
import { SERVICES, URL_ENV, type ServiceUrls } from './scenarios/lib/config.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const STACK_FILE = path.join(ROOT, '.tmp', 'stack.json');
const USAGE = `usage: npm run load -- <${SCENARIO_NAMES.join('|')}> [-e KEY=VALUE]... [--out json=FILE] [--metrics-port N]`;
/** Interrupted before any load was sent, as a shell reports SIGINT. */
const EXIT_INTERRUPTED = 130;

const say = (line: string): void => void process.stderr.write(`load: ${line}\n`);

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** URLs of a stack started by `npm run stack`, if its file exists and its process is alive. */
function runningStackUrls(): Partial<ServiceUrls> | undefined {
  if (!fs.existsSync(STACK_FILE)) return undefined;
  let info: { pid?: unknown; urls?: Record<string, unknown> };
  try {
    info = JSON.parse(fs.readFileSync(STACK_FILE, 'utf8')) as typeof info;
  } catch (err) {
    say(`ignoring unreadable ${STACK_FILE}: ${(err as Error).message}`);
    return undefined;
  }
  if (typeof info.pid !== 'number' || !pidAlive(info.pid)) {
    say(`ignoring ${path.relative(ROOT, STACK_FILE)}: its stack (pid ${String(info.pid)}) is not running`);
    return undefined;
  }
  const urls: Partial<ServiceUrls> = {};
  for (const s of SERVICES) {
    const u = info.urls?.[s];
    const url = typeof u === 'string' ? u : typeof u === 'object' && u !== null && typeof (u as { url?: unknown }).url === 'string' ? (u as { url: string }).url : undefined;
    if (url) urls[s] = url;
  }
  say(`using the stack of pid ${info.pid} from ${path.relative(ROOT, STACK_FILE)}`);
  return urls;
}

function complete(urls: Partial<ServiceUrls>): urls is ServiceUrls {
  return SERVICES.every((s) => typeof urls[s] === 'string');
}

function envPairs(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new Error(`-e ${pair}: give KEY=VALUE`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { env: { type: 'string', short: 'e', multiple: true }, out: { type: 'string', short: 'o', multiple: true }, 'metrics-port': { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const name = positionals[0];
  if (!name || positionals.length > 1 || !isScenarioName(name)) {
    say(name ? `unknown scenario "${positionals.join(' ')}"` : 'no scenario given');
    say(USAGE);
    return 2;
  }
  const env = envPairs(values.env ?? []);
  const portText = values['metrics-port'] ?? process.env.LOAD_METRICS_PORT;
  const metricsPort = portText === undefined || portText === '' ? undefined : Number(portText);
  if (metricsPort !== undefined && !(Number.isInteger(metricsPort) && metricsPort >= 0 && metricsPort <= 65535)) {
    throw new Error(`--metrics-port (or LOAD_METRICS_PORT) "${portText}" is not a port number 0..65535`);
  }
  const out = [...(values.out ?? [])];
  // The knee is read from k6's JSON output; stress writes one beside its summary unless --out names one.
  let jsonOut = out.map((o) => /^json=(.+)$/.exec(o)?.[1]).find((f) => f !== undefined);
  if (name === 'stress' && jsonOut === undefined) {
    jsonOut = path.join(env.LOAD_REPORT_DIR ?? process.env.LOAD_REPORT_DIR ?? path.join(ROOT, 'reports/load'), `${new Date().toISOString().replace(/[:.]/g, '-')}-stress.ndjson`);
    out.push(`json=${jsonOut}`);
  }

  const given = (s: (typeof SERVICES)[number]): string | undefined => env[URL_ENV[s].name] ?? process.env[URL_ENV[s].name];
  let urls: Partial<ServiceUrls> = Object.fromEntries(SERVICES.flatMap((s) => (given(s) ? [[s, given(s)!]] : [])));
  let stack: LocalStack | undefined;
  let owner: ProcessOwner | undefined;
  if (!complete(urls)) urls = { ...runningStackUrls(), ...urls };
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (!complete(urls)) {
      const missing = SERVICES.filter((s) => !urls[s]).map((s) => URL_ENV[s].name);
      say(`no running stack (${missing.join(', ')} unset and no live .tmp/stack.json); starting one`);
      // Our own owner without signal handlers, so Ctrl-C ends the load first (the run prints its summary), then the stack.
      owner = new ProcessOwner({ handleSignals: false });
      stack = await startStack({ prometheus: false, alertmanager: false, owner, log: (l) => say(`stack: ${l}`) });
      const started = stack.services;
      urls = Object.fromEntries(SERVICES.map((s) => [s, started[s]?.url]));
      if (!complete(urls)) throw new Error(`the started stack lacks ${SERVICES.filter((s) => !urls[s]).join(', ')}`);
    }
    if (interrupted) return EXIT_INTERRUPTED;
    // Ctrl-C reaches the run too (same process group): it stops gracefully, prints its summary and exits 105, as k6 does.
    const run = runScenario(name, { urls, env, out, metricsPort, progressIntervalMs: 5000, onProgress: (p) => say(progressLine(p)) });
    run.started.then(({ metricsUrl }) => say(`scenario ${name} running${metricsUrl ? `; client metrics at ${metricsUrl}` : ''}`), () => undefined);
    const result = await run.done;
    const knee = result.exports.knee as (KneeCriteria & { scheduleEndS?: number }) | undefined;
    if (knee && jsonOut && fs.existsSync(jsonOut)) {
      const report = await kneeFromJsonOutput(jsonOut, knee, { scheduleEndS: knee.scheduleEndS });
      process.stdout.write(`\n${formatKnee(report)}\nk6 JSON output: ${jsonOut}\n`);
    }
    return result.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (stack) {
      say('stopping the stack it started');
      await stack.stop();
    }
    await owner?.stopAll();
  }
}

function progressLine(p: RunProgress): string {
  const s = Object.values(p.scenarios);
  const sum = (k: 'completed' | 'dropped' | 'activeVUs'): number => s.reduce((n, x) => n + x[k], 0);
  return `${p.elapsedS.toFixed(0)} s: ${p.httpReqs} requests, ${p.httpReqsFailed} failed, ${sum('completed')} iterations, ${sum('dropped')} dropped, ${sum('activeVUs')} VUs busy`;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
