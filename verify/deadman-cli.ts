// `npm run deadman`: a dead man's switch outside Prometheus and Alertmanager, fed by the Watchdog's webhook posts.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadRules } from '../alerts/budget.ts';
import { ALWAYS_FIRING } from '../alerts/catalog/index.ts';
import { ALERTS_DIR } from '../alerts/model.ts';
import { createDeadmanSwitch, type DeadmanEpisode } from './deadman.ts';
import { heartbeatPolicy, type HeartbeatPolicy } from './heartbeat-policy.ts';
import { startWebhookReceiver, type Notification } from './webhook.ts';

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 9095;
const DEFAULT_CONFIG = path.join(ALERTS_DIR, 'alertmanager.yml');

const USAGE = `usage: npm run deadman -- [--listen <host:port>] [--path /heartbeat] [--config alerts/alertmanager.yml] [--keep-running]
  Listens for Alertmanager's webhook posts of the always-firing ${ALWAYS_FIRING.join(', ')} alert and alarms when they stop.
  --listen        where to listen (default ${DEFAULT_HOST}:${DEFAULT_PORT}; a bare port means ${DEFAULT_HOST}:<port>;
                  0.0.0.0:${DEFAULT_PORT} takes posts from other machines)
  --path          the path Alertmanager's watchdog receiver posts to (default /heartbeat)
  --config        the Alertmanager config whose heartbeat route sets the expected period (default alerts/alertmanager.yml)
  --keep-running  on an alarm, keep watching and say when the heartbeat resumes (default: exit 1)
  Exits 1 on an alarm, 0 on Ctrl-C / SIGTERM, 2 on bad flags or a config without a heartbeat route.`;

function fail(msg: string): never {
  process.stderr.write(`deadman: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

/** A flag that is fine but points at something unusable: the problem alone, the usage would bury it. */
function unusable(msg: string): never {
  process.stderr.write(`deadman: ${msg}\n`);
  process.exit(2);
}

function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:(.*):)?(\d+)$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) fail(`--listen must be <host:port> or <port>, got "${value}"`);
  return { host: m[1] || DEFAULT_HOST, port };
}

function readPolicy(configFile: string): HeartbeatPolicy {
  let text: string;
  try {
    text = fs.readFileSync(configFile, 'utf8');
  } catch (err) {
    unusable(`cannot read --config ${configFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const rule = loadRules().find((r) => ALWAYS_FIRING.includes(r.alert));
  if (!rule) unusable(`alerts/rules/ has no always-firing rule (${ALWAYS_FIRING.join(', ') || 'none in the catalog'}); run npx tsx alerts/generate.ts`);
  try {
    return heartbeatPolicy(text, { ...rule.labels, alertname: rule.alert }, configFile);
  } catch (err) {
    unusable((err as Error).message);
  }
}

/** A path as short as it can be said from here: relative inside the working directory, absolute outside it. */
const shown = (file: string): string => {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : path.resolve(file);
};
const iso = (ms: number): string => new Date(ms).toISOString();
const secondsBetween = (from: number, to: number): string => ((to - from) / 1000).toFixed(0);

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        listen: { type: 'string', default: `${DEFAULT_HOST}:${DEFAULT_PORT}` },
        path: { type: 'string', default: '/heartbeat' },
        config: { type: 'string', default: DEFAULT_CONFIG },
        'keep-running': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { host, port } = parseListen(values.listen);
  if (!/^\/\S*$/.test(values.path)) fail(`--path must start with / and hold no spaces, got "${values.path}"`);
  const keepRunning = values['keep-running'];
  const policy = readPolicy(values.config);

  // A watch runs for months: the heartbeats are emitted to the switch, never kept.
  const receiver = await startWebhookReceiver({ host, port, path: values.path, keep: false }).catch((err: Error) => unusable(err.message));
  let stopped = false;
  const stop = async (code: number): Promise<void> => {
    if (stopped) return;
    stopped = true;
    receiver.off('notification', onNotification);
    deadman.stop();
    await receiver.close();
    process.exit(code);
  };
  const deadman = createDeadmanSwitch({
    alarmAfterS: policy.alarmAfterS,
    onAlarm(e: DeadmanEpisode) {
      const last = e.beforeFirstBeat ? `none since the start at ${iso(e.lastBeatAt)}` : `last at ${iso(e.lastBeatAt)}`;
      process.stderr.write(`ALARM: no heartbeat for ${secondsBetween(e.lastBeatAt, e.alarmedAt)} s (${last})\n`);
      if (!keepRunning) void stop(1);
    },
    onResume(e: DeadmanEpisode) {
      process.stdout.write(`heartbeat resumed after ${secondsBetween(e.lastBeatAt, e.resumedAt!)} s\n`);
    },
  });
  let beats = 0;
  function onNotification(n: Notification): void {
    const heartbeat = n.status === 'firing' && n.alerts.find((a) => a.status === 'firing' && ALWAYS_FIRING.includes(a.labels.alertname ?? ''));
    if (!heartbeat) return;
    if (beats++ === 0) process.stdout.write(`first heartbeat at ${iso(n.receivedAt)} (${heartbeat.labels.alertname} from receiver ${n.receiver})\n`);
    deadman.beat(n.receivedAt);
  }
  receiver.on('notification', onNotification);
  deadman.start();
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  const wants = `${policy.route} -> receiver ${policy.receiver} in ${shown(values.config)}: group_interval ${policy.groupIntervalS}s, repeat_interval ${policy.repeatIntervalS}s`;
  process.stdout.write(
    `deadman: listening on ${receiver.url}; heartbeat expected every ${policy.expectedGapS} s (${wants}); alarm after ${policy.alarmAfterS} s without one${keepRunning ? ', keeps running' : ''}\n`,
  );
}

await main();
