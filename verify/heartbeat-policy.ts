// How often the Watchdog heartbeat must arrive, read from the Alertmanager route it takes, and how long after the last
// one a dead man's switch alarms; plus the static check that the alarm comes within the budget.
import { parse } from 'yaml';
import { matches } from '../alerts/budget.ts';
import { seconds } from '../alerts/model.ts';
import { BUDGET_S } from '../alerts/settings.ts';

export interface HeartbeatPolicy {
  /** The receiver the heartbeat is delivered to. */
  receiver: string;
  /** Where that route is in the tree, e.g. "route.routes[0]". */
  route: string;
  /** Its webhook URLs, in config order. */
  webhookUrls: string[];
  groupWaitS: number;
  groupIntervalS: number;
  repeatIntervalS: number;
  /** The longest gap between two heartbeats of a healthy pipeline. */
  expectedGapS: number;
  /** No heartbeat for this long after the last one is an alarm. */
  alarmAfterS: number;
}

/**
 * The gap between heartbeats. Alertmanager only sends at group_interval ticks, and resends at a tick when its
 * notification log's last send is older than now - repeat_interval. The log's timestamp is taken after the send, a
 * few ms after its tick, so when repeat_interval is a multiple of group_interval the tick exactly repeat_interval
 * later usually finds the entry not old enough, and the next tick sends: the gap is the first multiple of
 * group_interval strictly above repeat_interval. Measured with Alertmanager 0.25, Watchdog posted every 5 s with
 * endsAt now + 20 s, 2 minutes each (every gap within 10 ms of these):
 *   group_interval 5 s,  repeat 10 s: 15 s (7 of 7 gaps; in two other runs 1 and 2 of 8 were 10 s)
 *   group_interval 5 s,  repeat 15 s: 20 s (4 of 6, the other 2 were 15 s; 5 of 5 under a CPU hog)
 *   group_interval 5 s,  repeat 5 s:  10 s (11 of 11)
 *   group_interval 10 s, repeat 10 s: 20 s (5 of 5)
 * When repeat_interval is not a multiple, the formula gives the only tick that can send.
 */
export function heartbeatGapS(groupIntervalS: number, repeatIntervalS: number): number {
  return (Math.floor(repeatIntervalS / groupIntervalS) + 1) * groupIntervalS;
}

/**
 * How late a heartbeat may be before it counts as missing. One group_interval: a delivery the receiver refuses is
 * retried with backoff and again at every later tick (measured: 1 refused attempt made the heartbeat 0.5 s late,
 * 4 refused 4.0 s, 12 refused over 15 s: delivered at the next retry, 3.3 s after the last refusal), so a heartbeat that misses its
 * tick comes at the next one. Plus LATE_S for a machine too busy to run the timers on time: under a CPU hog of
 * 4 workers on 2 cores the gaps stayed within 10 ms of the formula, so 5 s is far more than measured, and still
 * leaves the alarm inside the budget (deadmanDetectionWorstS).
 */
export const LATE_S = 5;

export function alarmAfterS(groupIntervalS: number, repeatIntervalS: number): number {
  return heartbeatGapS(groupIntervalS, repeatIntervalS) + groupIntervalS + LATE_S;
}

interface AmRoute {
  receiver?: string;
  matchers?: string[];
  match?: Record<string, string>;
  match_re?: Record<string, string>;
  continue?: boolean;
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: AmRoute[];
}

interface AmReceiver {
  name: string;
  webhook_configs?: Array<{ url?: string; url_file?: string }>;
}

interface Delivering {
  receiver: string;
  groupWaitS: number;
  groupIntervalS: number;
  repeatIntervalS: number;
  /** Route path from the root, e.g. "route.routes[0]"; the root alone is "route". */
  at: string;
}

function routeMatches(route: AmRoute, labels: Record<string, string>): boolean {
  const equal = Object.entries(route.match ?? {}).every(([k, v]) => (labels[k] ?? '') === v);
  const regex = Object.entries(route.match_re ?? {}).every(([k, v]) => new RegExp(`^(?:${v})$`).test(labels[k] ?? ''));
  return equal && regex && (route.matchers ?? []).every((m) => matches(m, labels));
}

/** Alertmanager's tree walk: depth first, the first matching child wins unless `continue`; timing inherited. */
function delivering(route: AmRoute, labels: Record<string, string>, inherited: Omit<Delivering, 'at'>, at: string): Delivering[] {
  const here: Delivering = {
    receiver: route.receiver ?? inherited.receiver,
    groupWaitS: route.group_wait === undefined ? inherited.groupWaitS : seconds(route.group_wait),
    groupIntervalS: route.group_interval === undefined ? inherited.groupIntervalS : seconds(route.group_interval),
    repeatIntervalS: route.repeat_interval === undefined ? inherited.repeatIntervalS : seconds(route.repeat_interval),
    at,
  };
  const out: Delivering[] = [];
  for (const [i, child] of (route.routes ?? []).entries()) {
    if (!routeMatches(child, labels)) continue;
    out.push(...delivering(child, labels, here, `${at}.routes[${i}]`));
    if (!child.continue) break;
  }
  return out.length > 0 ? out : [here];
}

const describeLabels = (labels: Record<string, string>): string =>
  `{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ')}}`;

/**
 * The heartbeat's route in an Alertmanager config: the first route below the root that delivers an alert with
 * heartbeatLabels to a receiver with a webhook. source names the config in errors (a file, or "the running
 * Alertmanager's config").
 */
export function heartbeatPolicy(alertmanagerYaml: string, heartbeatLabels: Record<string, string>, source = 'the Alertmanager config'): HeartbeatPolicy {
  let config: { route?: AmRoute; receivers?: AmReceiver[] } | null;
  try {
    config = parse(alertmanagerYaml) as { route?: AmRoute; receivers?: AmReceiver[] } | null;
  } catch (err) {
    throw new Error(`${source} is not valid YAML: ${(err as Error).message}`);
  }
  const root = config?.route;
  if (!root) throw new Error(`${source} has no route; is it an Alertmanager config?`);
  // Alertmanager's defaults for a root route that leaves them out.
  const defaults = { receiver: root.receiver ?? '', groupWaitS: 30, groupIntervalS: 300, repeatIntervalS: 4 * 3600 };
  let walked: Delivering[];
  try {
    walked = delivering(root, heartbeatLabels, defaults, 'route');
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`);
  }
  const routes = walked.filter((r) => r.at !== 'route');
  const labels = describeLabels(heartbeatLabels);
  if (routes.length === 0) {
    throw new Error(
      `no route in ${source} matches the heartbeat ${labels}: it would fall through to the root receiver "${root.receiver ?? ''}" and repeat only every ${root.repeat_interval ?? '4h'}; ` +
        `add a route with matchers ['alertname="${heartbeatLabels.alertname ?? 'Watchdog'}"'] to a webhook receiver (alerts/alertmanager.template.yml has one)`,
    );
  }
  const receivers = new Map((config?.receivers ?? []).map((r) => [r.name, r]));
  const hooked = routes.map((r) => ({ route: r, urls: (receivers.get(r.receiver)?.webhook_configs ?? []).map((w) => w.url ?? `(url_file ${w.url_file ?? '?'})`) }));
  const found = hooked.find((h) => h.urls.length > 0);
  if (!found) {
    const where = routes.map((r) => `${r.at} -> receiver "${r.receiver}"`).join(', ');
    throw new Error(`the heartbeat ${labels} is routed in ${source} (${where}) but no such receiver has webhook_configs; give it a webhook the dead man's switch listens on`);
  }
  const { receiver, groupWaitS, groupIntervalS, repeatIntervalS, at } = found.route;
  return {
    receiver,
    route: at,
    webhookUrls: found.urls,
    groupWaitS,
    groupIntervalS,
    repeatIntervalS,
    expectedGapS: heartbeatGapS(groupIntervalS, repeatIntervalS),
    alarmAfterS: alarmAfterS(groupIntervalS, repeatIntervalS),
  };
}

export interface DeadmanDetection {
  /** From Prometheus dying to the alarm: Alertmanager keeps its last Watchdog (and heartbeats) until endsAt. */
  prometheusDownS: number;
  /** From Alertmanager dying to the alarm. */
  alertmanagerDownS: number;
  budgetS: number;
  /** Empty when both are within the budget. */
  problems: string[];
}

/**
 * Worst time from a dead Prometheus or Alertmanager to the switch's alarm. Prometheus sends a firing alert with
 * endsAt = now + 4 x max(resend delay, evaluation interval); Alertmanager keeps it firing, and heartbeating, until
 * then (measured: the last heartbeat came up to 19.996 s after the last post with the 20 s validity), and the
 * alarm follows alarmAfterS after that last heartbeat. A dead Alertmanager sends nothing more at once (measured: no
 * heartbeat after its SIGKILL).
 */
export function deadmanDetectionWorstS(policy: Pick<HeartbeatPolicy, 'alarmAfterS'>, prometheus: { resendDelayS: number; evaluationIntervalS: number }): DeadmanDetection {
  const validityS = 4 * Math.max(prometheus.resendDelayS, prometheus.evaluationIntervalS);
  const prometheusDownS = validityS + policy.alarmAfterS;
  const alertmanagerDownS = policy.alarmAfterS;
  const problems: string[] = [];
  if (prometheusDownS > BUDGET_S) {
    problems.push(
      `a dead Prometheus is noticed only after ${prometheusDownS} s (its last alert stays valid ${validityS} s, then ${policy.alarmAfterS} s without heartbeat), over the ${BUDGET_S} s budget; ` +
        'shorten the heartbeat route\'s repeat_interval/group_interval or Prometheus\' --rules.alert.resend-delay',
    );
  }
  if (alertmanagerDownS > BUDGET_S) {
    problems.push(`a dead Alertmanager is noticed only after ${alertmanagerDownS} s, over the ${BUDGET_S} s budget; shorten the heartbeat route's repeat_interval/group_interval`);
  }
  return { prometheusDownS, alertmanagerDownS, budgetS: BUDGET_S, problems };
}
