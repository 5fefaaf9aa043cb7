// `npm run stack`: the whole stack on this machine until Ctrl-C, with its URLs printed and recorded in .tmp/stack.json.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ProcessOwner } from './processes.ts';
import { resolveBackend, startStack, type Stack } from './index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Where other tools (the load runner) find a running stack: {pid, urls, startedAt}. */
const STATE_FILE = path.join(ROOT, '.tmp', 'stack.json');
const USAGE = `usage: npm run stack -- [--backend process|container] [--keep-logs]
  Starts Postgres, Redis, the five services, and Prometheus + Alertmanager with alerts/*.yml (when present).
  Prints every URL, writes .tmp/stack.json, and stops everything on Ctrl-C.`;

interface AlertmanagerNotification {
  status: string;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}

/** Stands in for the harness's receiver: prints each notification so alerts are visible in the terminal. */
async function startNotificationPrinter(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      try {
        const n = JSON.parse(body) as AlertmanagerNotification;
        for (const a of n.alerts) {
          const who = a.labels.service ? ` service=${a.labels.service}` : '';
          process.stdout.write(`[alert] ${a.status.toUpperCase()} ${a.labels.alertname ?? '?'} severity=${a.labels.severity ?? '?'}${who}: ${a.annotations.summary ?? ''}\n`);
        }
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end('expected an Alertmanager webhook JSON body');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/alertmanager`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Refuses to start over another running stack's state file; a stale one (dead pid) is replaced. */
function checkNoRunningStack(): void {
  if (!fs.existsSync(STATE_FILE)) return;
  try {
    const { pid } = JSON.parse(fs.readFileSync(STATE_FILE, 'utf8')) as { pid?: number };
    if (typeof pid === 'number' && pid !== process.pid && isAlive(pid)) {
      throw new Error(`a stack is already running (pid ${pid}, see ${path.relative(ROOT, STATE_FILE)}); stop it with Ctrl-C or kill ${pid} first`);
    }
  } catch (err) {
    if (err instanceof SyntaxError) return;
    throw err;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { backend: { type: 'string' }, 'keep-logs': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const backend = resolveBackend(values.backend);
  checkNoRunningStack();

  // Signals are handled here, so the state file goes and the receiver closes before we exit.
  const owner = new ProcessOwner({ keepLogs: values['keep-logs'], handleSignals: false });
  let stack: Stack | undefined;
  let printer: Awaited<ReturnType<typeof startNotificationPrinter>> | undefined;
  let stopping = false;
  const shutdown = async (code: number): Promise<never> => {
    stopping = true;
    await stack?.stop().catch(() => undefined);
    await owner.stopAll();
    await printer?.close();
    fs.rmSync(STATE_FILE, { force: true });
    process.exit(code);
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) {
      // A second Ctrl-C: leave now; the owner's reaper still removes every process and temp dir.
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    process.stdout.write(`\n${sig}: stopping the stack...\n`);
    void shutdown(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => fs.rmSync(STATE_FILE, { force: true }));

  const promConfig = path.join(ROOT, 'alerts', 'prometheus.yml');
  const amConfig = path.join(ROOT, 'alerts', 'alertmanager.yml');
  const hasProm = fs.existsSync(promConfig);
  const hasAm = fs.existsSync(amConfig);
  if (!hasProm || !hasAm) process.stdout.write(`note: ${[!hasProm && 'alerts/prometheus.yml', !hasAm && 'alerts/alertmanager.yml'].filter(Boolean).join(' and ')} missing; starting without them\n`);
  try {
    printer = hasAm ? await startNotificationPrinter() : undefined;
    stack = await startStack({
      backend,
      owner,
      prometheus: hasProm ? { config: promConfig } : false,
      alertmanager: hasAm && printer ? { config: amConfig, webhookUrl: printer.url } : false,
      log: (line) => process.stdout.write(`  ${line}\n`),
    });
  } catch (err) {
    process.stderr.write(`stack: ${err instanceof Error ? err.message : String(err)}\n`);
    return shutdown(1);
  }
  const urls = stack.urls();
  fs.mkdirSync(path.dirname(STATE_FILE), { recursive: true });
  fs.writeFileSync(STATE_FILE, `${JSON.stringify({ pid: process.pid, urls, startedAt: new Date().toISOString() }, null, 2)}\n`);
  const width = Math.max(...Object.keys(urls).map((k) => k.length));
  process.stdout.write(`\nstack is up (${backend} backend):\n`);
  for (const [name, url] of Object.entries(urls)) process.stdout.write(`  ${name.padEnd(width)}  ${url}\n`);
  process.stdout.write(`logs: ${owner.runDir}${values['keep-logs'] ? ' (kept)' : ' (removed on stop; --keep-logs keeps them)'}\n`);
  process.stdout.write(`state: ${path.relative(ROOT, STATE_FILE)}; Ctrl-C stops everything.\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`stack: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
