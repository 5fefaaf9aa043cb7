// `npm run stack`: the whole stack on this machine until Ctrl-C, with its URLs printed and recorded in .tmp/stack.json.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { ProcessOwner } from './processes.ts';
import { resolveBackend, startStack, type LocalStack } from './index.ts';
import { attachFileFor, type StackState, type StateTarget } from './attach-file.ts';
import { PROMETHEUS_3_VERSION, ensurePrometheusTools, prometheusMajor } from './prometheus-version.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Where other tools (the load runner, an attached harness) find a running stack: StackState. */
const DEFAULT_STATE_FILE = path.join(ROOT, '.tmp', 'stack.json');
const USAGE = `usage: npm run stack -- [--backend process|container] [--prometheus 2|3] [--keep-logs] [--state <file>] [--harness-webhook <host:port>]
  Starts Postgres, Redis, the five services, and Prometheus + Alertmanager with alerts/*.yml (when present), with a
  fault proxy on every hop. Prints every URL, writes the state file (default .tmp/stack.json) and an attach file
  beside it (attach.yaml), and stops everything on Ctrl-C. Then, from another terminal:
    npm run verify-alerts -- --attach .tmp/attach.yaml
  --prometheus       2 = Debian's 2.42 (default), 3 = ${PROMETHEUS_3_VERSION} (built once with Go by
                     scripts/ensure-tools --prometheus 3); env ALERTPROOF_PROMETHEUS
  --harness-webhook  Alertmanager also sends every notification to http://<host:port>/alertmanager, where an
                     attached harness listens; without it, the harness reads Alertmanager's /api/v2/alerts.`;

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
function checkNoRunningStack(stateFile: string): void {
  if (!fs.existsSync(stateFile)) return;
  try {
    const { pid } = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { pid?: number };
    if (typeof pid === 'number' && pid !== process.pid && isAlive(pid)) {
      throw new Error(`a stack is already running (pid ${pid}, see ${path.relative(ROOT, stateFile)}); stop it with Ctrl-C or kill ${pid} first`);
    }
  } catch (err) {
    if (err instanceof SyntaxError) return;
    throw err;
  }
}

/**
 * The control API an attached harness's signal driver uses to start a process again after killing it:
 * POST /targets/<name>/start. Each start rewrites the target's pid file.
 */
async function startControlApi(stack: LocalStack, writePid: (name: string) => void): Promise<{ url: string; close(): Promise<void> }> {
  const token = process.env.ADMIN_TOKEN?.trim();
  const server = http.createServer((req, res) => {
    const m = /^\/targets\/([a-z-]+)\/start$/.exec(req.url ?? '');
    const answer = (status: number, body: object): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (token && req.headers.authorization !== `Bearer ${token}`) return answer(401, { error: 'this control API wants Authorization: Bearer $ADMIN_TOKEN' });
    if (req.method !== 'POST' || !m) return answer(404, { error: 'POST /targets/<name>/start is the only route' });
    const binding = stack.targets[m[1]!]?.process;
    if (binding?.kind !== 'handle') return answer(404, { error: `no process named ${m[1]} in this stack (${Object.keys(stack.targets).join(', ')})` });
    binding.start().then(
      () => {
        writePid(m[1]!);
        answer(200, { started: m[1], pid: binding.process()?.pid });
      },
      (err: Error) => answer(500, { error: err.message }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string' },
      'keep-logs': { type: 'boolean' },
      state: { type: 'string' },
      'harness-webhook': { type: 'string' },
      prometheus: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const backend = resolveBackend(values.backend);
  const { major } = ensurePrometheusTools(prometheusMajor(values.prometheus));
  const STATE_FILE = values.state ? path.resolve(values.state) : DEFAULT_STATE_FILE;
  const ATTACH_FILE = path.join(path.dirname(STATE_FILE), 'attach.yaml');
  const PID_DIR = path.join(path.dirname(STATE_FILE), 'pids');
  const harnessWebhook = values['harness-webhook'];
  if (harnessWebhook !== undefined && !/^[^:\s]+:\d{1,5}$/.test(harnessWebhook)) throw new Error(`--harness-webhook wants host:port, got ${harnessWebhook}`);
  checkNoRunningStack(STATE_FILE);

  // Signals are handled here, so the state file goes and the receiver closes before we exit.
  const owner = new ProcessOwner({ keepLogs: values['keep-logs'], handleSignals: false });
  let stack: LocalStack | undefined;
  let printer: Awaited<ReturnType<typeof startNotificationPrinter>> | undefined;
  let control: Awaited<ReturnType<typeof startControlApi>> | undefined;
  let stopping = false;
  const removeState = (): void => {
    fs.rmSync(STATE_FILE, { force: true });
    fs.rmSync(ATTACH_FILE, { force: true });
    fs.rmSync(PID_DIR, { recursive: true, force: true });
  };
  const shutdown = async (code: number): Promise<never> => {
    stopping = true;
    await control?.close();
    await stack?.stop().catch(() => undefined);
    await owner.stopAll();
    await printer?.close();
    removeState();
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
  process.on('exit', removeState);

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
      // A local stack has no Slack or PagerDuty secrets: a run_id keeps its alerts off those routes (alerts/alertmanager.yml),
      // which would otherwise fail every critical and high notification (and rightly fire AlertmanagerNotificationsFailing).
      prometheus: hasProm ? { config: promConfig, major, externalLabels: { run_id: `npm-run-stack-${new Date().toISOString().replace(/[:.]/g, '-')}` } } : false,
      alertmanager: hasAm && printer ? { config: amConfig, webhookUrl: printer.url, alsoTo: harnessWebhook ? [`http://${harnessWebhook}/alertmanager`] : [] } : false,
      faultProxies: true,
      log: (line) => process.stdout.write(`  ${line}\n`),
    });
  } catch (err) {
    process.stderr.write(`stack: ${err instanceof Error ? err.message : String(err)}\n`);
    return shutdown(1);
  }
  const running = stack;
  fs.mkdirSync(PID_DIR, { recursive: true });
  const pidFile = (name: string): string => path.join(PID_DIR, `${name}.pid`);
  const writePid = (name: string): void => {
    const b = running.targets[name]?.process;
    const pid = b?.kind === 'handle' ? b.process()?.pid : undefined;
    if (pid !== undefined) fs.writeFileSync(pidFile(name), `${pid}\n`);
  };
  control = await startControlApi(running, writePid);
  const targets: Record<string, StateTarget> = {};
  for (const [name, t] of Object.entries(running.targets)) {
    const hasPid = t.process?.kind === 'handle' && t.process.process()?.pid !== undefined;
    if (hasPid) writePid(name);
    targets[name] = {
      ...(t.url ? { url: t.url } : {}),
      ...(hasPid ? { pidFile: pidFile(name), startUrl: `${control.url}/targets/${name}/start` } : {}),
      ...(t.proxy ? { proxy: t.proxy } : {}),
      ...(t.brokerAdmin ? { brokerAdmin: t.brokerAdmin } : {}),
      ...(t.databases ? { databases: t.databases } : {}),
    };
  }
  const urls = stack.urls();
  const state: StackState = { pid: process.pid, startedAt: new Date().toISOString(), urls, targets, ...(harnessWebhook ? { harnessWebhook } : {}) };
  fs.writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
  if (urls.prometheus && urls.alertmanager) fs.writeFileSync(ATTACH_FILE, `# Written by npm run stack from ${path.basename(STATE_FILE)}; removed when the stack stops.\n${YAML.stringify(attachFileFor(state))}`);
  const width = Math.max(...Object.keys(urls).map((k) => k.length));
  process.stdout.write(`\nstack is up (${backend} backend):\n`);
  for (const [name, url] of Object.entries(urls)) process.stdout.write(`  ${name.padEnd(width)}  ${url}\n`);
  process.stdout.write(`logs: ${owner.runDir}${values['keep-logs'] ? ' (kept)' : ' (removed on stop; --keep-logs keeps them)'}\n`);
  process.stdout.write(`state: ${path.relative(ROOT, STATE_FILE)}; attach: ${path.relative(ROOT, ATTACH_FILE)}; Ctrl-C stops everything.\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`stack: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
