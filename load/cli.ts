// `npm run load -- <scenario> [--duration 30s] [--raw file] [--metrics-port N]`: runs a scenario against the running stack (or one it starts) and exits 99 on an SLO breach.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startStack, type Stack } from '../verify/stack/index.ts';
import { ProcessOwner } from '../verify/stack/processes.ts';
import { loadConfig, parseDurationS, SERVICES, URL_ENV, type LoadService, type ServiceUrls } from './lib/config.ts';
import { startLoad, type Progress } from './runner/engine.ts';
import { formatSummary } from './runner/summary.ts';
import { isScenarioName, SCENARIOS } from './scenarios/index.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const STACK_FILE = path.join(ROOT, '.tmp', 'stack.json');
const USAGE = `usage: npm run load -- <${Object.keys(SCENARIOS).join('|')}> [--duration 30s] [--raw file.ndjson] [--metrics-port N]`;
/** Exit code for a breached threshold, as k6 uses. */
const EXIT_THRESHOLDS = 99;
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

function progressLine(p: Progress): string {
  const f = Object.values(p.flows);
  const sum = (k: 'requests' | 'failures' | 'dropped' | 'inFlight'): number => f.reduce((n, x) => n + x[k], 0);
  return `${p.elapsedS.toFixed(0)} s: ${sum('requests')} requests, ${sum('failures')} failed, ${sum('dropped')} dropped, ${sum('inFlight')} in flight`;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { duration: { type: 'string' }, raw: { type: 'string' }, 'metrics-port': { type: 'string' }, help: { type: 'boolean' } },
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
  const cfg = loadConfig();
  const durationS = values.duration === undefined ? cfg.durationS : parseDurationS(values.duration);
  const metricsPort = values['metrics-port'] === undefined ? cfg.metricsPort : Number(values['metrics-port']);
  if (metricsPort !== undefined && !(Number.isInteger(metricsPort) && metricsPort >= 0 && metricsPort <= 65535)) {
    throw new Error(`--metrics-port "${values['metrics-port']}" is not a port number 0..65535`);
  }

  let urls: Partial<ServiceUrls> = { ...cfg.urls };
  let stack: Stack | undefined;
  let owner: ProcessOwner | undefined;
  if (!complete(urls)) urls = { ...runningStackUrls(), ...urls };
  const aborter = new AbortController();
  const onSignal = (): void => {
    say('interrupted; stopping the load (a second Ctrl-C is not needed)');
    aborter.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (!complete(urls)) {
      const missing = SERVICES.filter((s) => !urls[s]).map((s) => URL_ENV[s]);
      say(`no running stack (${missing.join(', ')} unset and no live .tmp/stack.json); starting one`);
      // Our own owner without signal handlers, so Ctrl-C ends the load first, prints the summary, then stops the stack.
      owner = new ProcessOwner({ handleSignals: false });
      stack = await startStack({ prometheus: false, alertmanager: false, owner, log: (l) => say(`stack: ${l}`) });
      const started = stack.services;
      urls = Object.fromEntries(SERVICES.map((s) => [s, started[s]?.url])) as Partial<ServiceUrls>;
      if (!complete(urls)) throw new Error(`the started stack lacks ${SERVICES.filter((s) => !urls[s]).join(', ')}`);
    }
    if (aborter.signal.aborted) return EXIT_INTERRUPTED;
    const scenario = SCENARIOS[name](cfg);
    const run = startLoad<LoadService>(scenario, {
      urls: urls as ServiceUrls,
      durationS,
      rawFile: values.raw ?? cfg.rawFile,
      metricsPort,
      reportDir: cfg.reportDir,
      requestTimeoutMs: cfg.requestTimeoutMs,
      signal: aborter.signal,
      onProgress: (p) => say(progressLine(p)),
      progressIntervalMs: 5000,
    });
    const { metricsUrl } = await run.started;
    say(`scenario ${scenario.name}: ${scenario.description}${metricsUrl ? `; client metrics at ${metricsUrl}` : ''}`);
    const summary = await run.done;
    process.stdout.write(`${formatSummary(summary)}\n`);
    return summary.ok ? 0 : EXIT_THRESHOLDS;
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

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
