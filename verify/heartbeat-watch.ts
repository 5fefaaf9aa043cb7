// The harness's dead man's switch: the Watchdog's notifications on the receiver's heartbeat channel feed a switch
// (verify/deadman.ts) whose period comes from the route the running Alertmanager gives the heartbeat.
import { AlertmanagerApi } from './alertmanager-api.ts';
import { createDeadmanSwitch } from './deadman.ts';
import type { HeartbeatGap } from './evaluate.ts';
import { heartbeatPolicy } from './heartbeat-policy.ts';
import type { Notification, WebhookReceiver } from './webhook.ts';

export interface HeartbeatWatch {
  alarmAfterS: number;
  /** Every stretch without heartbeats the switch alarmed on, oldest first. */
  gaps(): HeartbeatGap[];
  stop(): void;
}

export interface HeartbeatWatchOptions {
  webhook: WebhookReceiver;
  alertmanagerUrl: string;
  /** The always-firing alerts whose notifications are the heartbeat, and the labels their rules give them. */
  heartbeatLabels: Record<string, string>;
  alwaysFiring: readonly string[];
  log(line: string): void;
}

/** Reads the running Alertmanager's route for the heartbeat, then watches the heartbeat channel from now on. */
export async function watchHeartbeat(opts: HeartbeatWatchOptions): Promise<HeartbeatWatch> {
  const config = (await new AlertmanagerApi(opts.alertmanagerUrl).status()).config.original;
  const policy = heartbeatPolicy(config, opts.heartbeatLabels);
  const sw = createDeadmanSwitch({
    alarmAfterS: policy.alarmAfterS,
    onAlarm: (g) => opts.log(`  ! dead man's switch: no heartbeat for ${policy.alarmAfterS} s (${g.beforeFirstBeat ? 'none since the watch started' : `last at ${new Date(g.lastBeatAt).toISOString()}`})`),
    onResume: (g) => opts.log(`  ~ dead man's switch: heartbeat back after ${((g.resumedAt! - g.alarmedAt) / 1000).toFixed(1)} s`),
  });
  const onNotification = (n: Notification): void => {
    if (n.channel === 'heartbeat' && n.status === 'firing' && n.alerts.some((a) => opts.alwaysFiring.includes(a.labels.alertname ?? ''))) sw.beat(n.receivedAt);
  };
  opts.webhook.on('notification', onNotification);
  sw.start();
  opts.log(`dead man's switch: heartbeat every ${policy.expectedGapS} s (route of receiver ${policy.receiver}), alarm after ${policy.alarmAfterS} s without one`);
  return {
    alarmAfterS: policy.alarmAfterS,
    gaps: () => sw.episodes().map((e) => ({ lastBeatAt: e.lastBeatAt, alarmedAt: e.alarmedAt, ...(e.resumedAt === undefined ? {} : { resumedAt: e.resumedAt }) })),
    stop() {
      opts.webhook.off('notification', onNotification);
      sw.stop();
    },
  };
}
