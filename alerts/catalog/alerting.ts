// Alerting-pipeline alerts: Prometheus and Alertmanager watching themselves (rule evaluation, the link between them,
// config reloads, failing notifications, a scrape job gone from the config, Alertmanager down). What none of them can
// see, Prometheus itself gone, is the dead man's switch's (verify/deadman.ts, docs/deadman.md).
import { numberOf, scrapeJobs, seconds, windowOf, type AlertDef, type ExpectedAlert, type Runbook, type SeriesInput, type Severity, type ThresholdUnit, type Tuning } from '../model.ts';
import { AFTER, AM, BEFORE, FAULT_S, PROM, TOTAL, targetDown } from './builders.ts';
import { STEP_S, samples, series } from '../series.ts';

/** The rule group the promtool cases put a failing rule in (Prometheus labels it "<file>;<group>"). */
const GROUP = { ...PROM, rule_group: '/etc/alertproof/alerts/rules/extra.yml;extra' };
/** The Alertmanager label Prometheus' notifier metrics carry. */
const AM_URL = { ...PROM, alertmanager: 'http://alertmanager:9093/api/v2/alerts' };

const alertmanagerDiagnosis = 'Prometheus > Status > Runtime & Build Information lists the Alertmanagers it sends to; `curl -s <alertmanager>/-/ready` says whether Alertmanager answers.';

interface MetaSpec {
  name: string;
  service: 'prometheus' | 'alertmanager';
  severity: Severity;
  panel: number;
  dependency?: string;
  thresholdUnit?: ThresholdUnit;
  singleEvent?: boolean;
  expr(t: Tuning): string;
  sourceDelayS: number;
  summary: string;
  description: string;
  runbook: Runbook;
  /** The metric's series before (healthy) and after the fault, and the alert's labels and value once it fires. */
  healthy: SeriesInput[];
  faulty: SeriesInput[];
  expect(t: Tuning): ExpectedAlert;
  faultName: string;
  /** Extra quiet cases beyond "healthy throughout". */
  quiet?: Array<{ name: string; series: SeriesInput[]; evalAtS: number[] }>;
}

function meta(s: MetaSpec): AlertDef {
  return {
    name: s.name,
    category: 'alerting',
    severity: s.severity,
    service: s.service,
    ...(s.dependency ? { dependency: s.dependency } : {}),
    panel: { dashboard: 'alerting', id: s.panel },
    ...(s.thresholdUnit ? { thresholdUnit: s.thresholdUnit } : {}),
    ...(s.singleEvent ? { singleEvent: true } : {}),
    expr: s.expr,
    sourceDelayS: () => s.sourceDelayS,
    summary: s.summary,
    description: s.description,
    runbook: s.runbook,
    firing: (t) => [{ name: s.faultName, series: s.faulty, faultAtS: FAULT_S, expect: [s.expect(t)] }],
    quiet: () => [{ name: 'healthy throughout', series: s.healthy, evalAtS: [60, 120, 175] }, ...(s.quiet ?? [])],
  };
}

/** A counter that stays flat, then grows by perSample every scrape from the fault on. */
const flatThenGrowing = (name: string, labels: Record<string, string>, perSample = 1): SeriesInput => series(name, labels, samples().hold(BEFORE, 0).grow(perSample, AFTER));
const flat = (name: string, labels: Record<string, string>, value = 0): SeriesInput => series(name, labels, samples().hold(TOTAL, value));
/** A gauge at one level before the fault and another after it. */
const gauge = (name: string, labels: Record<string, string>, before: number, after: number): SeriesInput => series(name, labels, samples().hold(BEFORE, before).hold(AFTER, after));

const JOBS = scrapeJobs();
/** Targets Prometheus discovers per scrape config (name="scrape") or Alertmanager config (name="notify"). */
const DISCOVERED = 'prometheus_sd_discovered_targets';

/** When Prometheus last (re)loaded its config: its own start counts, since a start loads it too. */
const RELOADED_AT = 'prometheus_config_last_reload_success_timestamp_seconds';
/** After a (re)load the notifier applies its discovered Alertmanagers within 5 s, and one more scrape shows the drops. */
const REDISCOVERY_S = 10;

/**
 * increase() over the window of a counter growing 1 per scrape from the fault on, checked that long after the fault:
 * the samples since the fault, or the whole window once it is full of them.
 */
const eventsSeen = (t: Tuning, alert: string) => (checkAfterFaultS: number): number => Math.min(seconds(windowOf(t, alert)), checkAfterFaultS + STEP_S) / STEP_S;

/** A daemon's last config reload failed: `<daemon>_config_last_reload_successful` reads 0. */
function reloadFailed(s: { daemon: 'Prometheus' | 'Alertmanager'; labels: Record<string, string>; panel: number; still: string; meaning: string; impact: string; log: string; check: string }): AlertDef {
  const job = s.labels.job! as 'prometheus' | 'alertmanager';
  const metric = `${job}_config_last_reload_successful`;
  return meta({
    name: `${s.daemon}ConfigReloadFailed`,
    service: job,
    severity: 'high',
    panel: s.panel,
    expr: () => `${metric} == 0`,
    sourceDelayS: 0,
    summary: `${s.daemon} could not reload its configuration`,
    description: `The last configuration reload of ${s.daemon} at {{ $labels.instance }} failed (value {{ $value }}): ${s.still}.`,
    runbook: {
      meaning: s.meaning,
      impact: s.impact,
      diagnosis: [`${s.daemon}${s.daemon.endsWith('s') ? "'" : "'s"} log has ${s.log}; \`${s.check} <file>\` reproduces it.`],
      mitigation: [`Fix the file (\`${s.check}\`), reload, and check \`${metric}\` is 1.`],
    },
    healthy: [flat(metric, s.labels, 1)],
    faulty: [gauge(metric, s.labels, 1, 0)],
    expect: () => ({ labels: s.labels, value: 0 }),
    faultName: 'a reload fails',
  });
}

export const ALERTING: readonly AlertDef[] = [
  meta({
    name: 'PrometheusRuleEvaluationFailures',
    singleEvent: true,
    service: 'prometheus',
    severity: 'high',
    panel: 1,
    thresholdUnit: 'count',
    expr: (t) => `sum by (rule_group) (increase(prometheus_rule_evaluation_failures_total[${windowOf(t, 'PrometheusRuleEvaluationFailures')}])) > ${numberOf(t, 'threshold', 'PrometheusRuleEvaluationFailures')}`,
    // The failing group evaluates within one interval of the reload that loaded it.
    sourceDelayS: 5,
    summary: 'Prometheus fails to evaluate rules',
    description: 'Rule group {{ $labels.rule_group }} failed {{ $value }} evaluations in the last window: its alerts cannot fire.',
    runbook: {
      meaning: 'A rule in the group errors at evaluation time (a many-to-many match, a vector where a scalar is required, a query timeout), so Prometheus records a failure instead of a result on every evaluation.',
      impact: 'Every alert in the failing rule is blind: it can neither fire nor resolve. Recording rules that fail leave gaps the dashboards and other rules read as "no data".',
      diagnosis: [
        'Prometheus > Status > Rules shows the failing rule with its `lastError` (or `curl -s <prometheus>/api/v1/rules | jq \'.data.groups[].rules[] | select(.health != "ok")\'`).',
        '`promtool check rules` cannot see these: the rule parses; it fails only against real series (e.g. two series on one side of a one-to-one match after a new label appeared).',
        'In the harness: the fault scenario rule-fails-at-evaluation loads a rule `up * on() up` by a live reload.',
      ],
      mitigation: ['Fix the matching (on/ignoring, group_left) or aggregate away the duplicate series, reload, and check the rule health turns ok.', 'Until then, treat the alerts in that group as silenced.'],
      design: 'Per rule group, so the alert names the file and group to fix. `increase` over a short window pages within the budget; a rule that fails once (a query timeout under load) still pages, because a rule that cannot evaluate cannot alert.',
    },
    healthy: [flat('prometheus_rule_evaluation_failures_total', GROUP)],
    faulty: [flatThenGrowing('prometheus_rule_evaluation_failures_total', GROUP)],
    expect: (t) => ({ labels: { rule_group: GROUP.rule_group }, value: eventsSeen(t, 'PrometheusRuleEvaluationFailures') }),
    faultName: 'every evaluation of one group fails',
  }),
  meta({
    name: 'PrometheusNotConnectedToAlertmanagers',
    service: 'prometheus',
    severity: 'critical',
    panel: 2,
    expr: (t) => `max_over_time(prometheus_notifications_alertmanagers_discovered[${windowOf(t, 'PrometheusNotConnectedToAlertmanagers')}]) < 1`,
    // Prometheus' notifier applies a changed Alertmanager list at most every 5 s.
    sourceDelayS: 5,
    summary: 'Prometheus is not connected to any Alertmanager',
    description: 'Prometheus has discovered {{ $value }} Alertmanagers for the whole window: every alert it fires goes nowhere.',
    runbook: {
      meaning: 'The `alerting.alertmanagers` section of the running Prometheus config yields no Alertmanager: removed by a config change, or its service discovery finds nothing.',
      impact: 'No alert reaches anyone, this one included. Only the dead man\'s switch can tell: the Watchdog heartbeat stops.',
      diagnosis: [alertmanagerDiagnosis, 'Compare the running config (Status > Configuration, or `/api/v1/status/config`) with the deployed file: the `alerting` block is empty or its discovery returns no targets.'],
      mitigation: ['Restore the alerting block (or its discovery) and reload; the alerts still firing are sent within one resend delay (5 s).'],
      design:
        'Delivery is impossible by construction, so the harness judges it firing, and the dead man\'s switch proves the outage reaches a person. max_over_time over the window keeps a restart\'s first moments (0 before discovery has run) from paging.',
    },
    healthy: [flat('prometheus_notifications_alertmanagers_discovered', PROM, 1)],
    faulty: [gauge('prometheus_notifications_alertmanagers_discovered', PROM, 1, 0)],
    expect: () => ({ labels: PROM, value: 0 }),
    faultName: 'the Alertmanager list becomes empty',
    quiet: [{ name: 'one scrape reads 0 (a restart before discovery ran)', series: [series('prometheus_notifications_alertmanagers_discovered', PROM, samples().hold(BEFORE, 1).hold(1, 0).hold(AFTER - 1, 1))], evalAtS: [65, 70, 80] }],
  }),
  meta({
    name: 'PrometheusErrorSendingAlertsToAlertmanager',
    service: 'prometheus',
    severity: 'high',
    panel: 3,
    thresholdUnit: 'ratio',
    expr: (t) => {
      const w = windowOf(t, 'PrometheusErrorSendingAlertsToAlertmanager');
      return `sum by (alertmanager) (rate(prometheus_notifications_errors_total[${w}])) / sum by (alertmanager) (rate(prometheus_notifications_sent_total[${w}])) > ${numberOf(t, 'threshold', 'PrometheusErrorSendingAlertsToAlertmanager')}`;
    },
    // Prometheus sends (and re-sends every 5 s, --rules.alert.resend-delay) whatever fires; the Watchdog always does.
    sourceDelayS: 5,
    summary: 'Prometheus fails to send alerts to an Alertmanager',
    description: '{{ printf "%.2f" $value }} of the alert batches Prometheus sent to {{ $labels.alertmanager }} in the last window failed.',
    runbook: {
      meaning: 'POSTs from Prometheus\' notifier to one Alertmanager fail (connection refused, timeout, 4xx/5xx): Alertmanager is down, unreachable, or rejects the payload.',
      impact: 'Alerts sent to that Alertmanager are lost until it is back; with one Alertmanager, nobody is notified of anything. Prometheus re-sends what still fires every resend delay, so nothing firing stays lost once the link is back.',
      diagnosis: [alertmanagerDiagnosis, 'Prometheus\' log says why ("Error sending alert" with the error); AlertmanagerDown fires too when Alertmanager is gone.'],
      mitigation: ['Bring Alertmanager back or fix the network path; watch the heartbeat (the dead man\'s switch) resume.'],
      design: 'The share of sent alerts whose batch failed, per Alertmanager (kube-prometheus\' shape), over a short window. It stays firing one window after the link is back, long enough for the re-send to deliver it: the notification that says alerts were lost arrives when delivery works again.',
    },
    healthy: [flat('prometheus_notifications_errors_total', AM_URL), series('prometheus_notifications_sent_total', AM_URL, samples().grow(2, TOTAL))],
    faulty: [flatThenGrowing('prometheus_notifications_errors_total', AM_URL), series('prometheus_notifications_sent_total', AM_URL, samples().grow(2, TOTAL))],
    expect: () => ({ labels: { alertmanager: AM_URL.alertmanager }, value: 0.5 }),
    faultName: 'every batch to the Alertmanager fails',
  }),
  meta({
    name: 'PrometheusNotificationsDropped',
    singleEvent: true,
    service: 'prometheus',
    severity: 'high',
    panel: 4,
    thresholdUnit: 'count',
    expr: (t) => {
      const w = windowOf(t, 'PrometheusNotificationsDropped');
      return [
        `sum(increase(prometheus_notifications_dropped_total[${w}])) > ${numberOf(t, 'threshold', 'PrometheusNotificationsDropped')}`,
        `unless on() time() - max(prometheus_config_last_reload_success_timestamp_seconds) < ${seconds(w) + REDISCOVERY_S}`,
      ].join('\n');
    },
    sourceDelayS: 5,
    summary: 'Prometheus drops alerts',
    description: 'Prometheus dropped {{ $value }} alerts in the last window: no Alertmanager accepted them, or its queue overflowed.',
    runbook: {
      meaning: 'Alerts left Prometheus\' queue without any Alertmanager accepting them: every Alertmanager failed the batch, or the notification queue (--alertmanager.notification-queue-capacity) overflowed.',
      impact: 'Those alert sends are lost; firing alerts are re-sent every resend delay, but an alert that fired and resolved in between is never seen by anyone.',
      diagnosis: [alertmanagerDiagnosis, '`prometheus_notifications_queue_length` near `prometheus_notifications_queue_capacity` means overflow; PrometheusErrorSendingAlertsToAlertmanager firing as well means the Alertmanagers fail.'],
      mitigation: ['Restore an Alertmanager; for overflow, raise the queue capacity or find the rule that fires thousands of alerts.'],
      design:
        'Not within a window (plus rediscovery) of a config (re)load: a reload or a start rebuilds the notifier, and what it sends in the ~5 s before it has rediscovered its Alertmanagers is dropped (measured on every reload). Those alerts still fire and are re-sent 5 s later; a lost link is PrometheusNotConnectedToAlertmanagers\' to report.',
    },
    healthy: [flat('prometheus_notifications_dropped_total', PROM), flat(RELOADED_AT, PROM, 0)],
    faulty: [flatThenGrowing('prometheus_notifications_dropped_total', PROM), flat(RELOADED_AT, PROM, 0)],
    quiet: [
      {
        name: 'sends dropped right after a reload (the notifier rediscovering its Alertmanagers)',
        series: [series('prometheus_notifications_dropped_total', PROM, samples().hold(BEFORE, 0).grow(1, 2).hold(AFTER - 2)), flat(RELOADED_AT, PROM, FAULT_S - STEP_S)],
        evalAtS: [65, 70, 80, 90],
      },
    ],
    expect: (t) => ({ labels: {}, value: eventsSeen(t, 'PrometheusNotificationsDropped') }),
    faultName: 'every batch is dropped',
  }),
  reloadFailed({
    daemon: 'Prometheus',
    labels: PROM,
    panel: 5,
    still: 'it still runs the previous config',
    meaning: 'A reload (`POST /-/reload` or SIGHUP) found the config or a rule file invalid; Prometheus keeps running the last good one.',
    impact: 'Nothing breaks now, which is the danger: the change that was meant to land (a new alert, a fixed target) is not running, and the next restart fails to start at all.',
    log: '"Error reloading config" with the parse error',
    check: 'promtool check config',
  }),
  reloadFailed({
    daemon: 'Alertmanager',
    labels: AM,
    panel: 6,
    still: 'it still routes with the previous config',
    meaning: 'A reload (`POST /-/reload` or SIGHUP) found alertmanager.yml or a template invalid; Alertmanager keeps the last good configuration.',
    impact: 'Routing, receivers and inhibitions are not what was deployed; a restart would fail to start.',
    log: '"Loading configuration file failed" with the error',
    check: 'amtool check-config',
  }),
  meta({
    name: 'AlertmanagerNotificationsFailing',
    singleEvent: true,
    service: 'alertmanager',
    severity: 'high',
    panel: 7,
    thresholdUnit: 'count',
    expr: (t) => `sum by (integration) (increase(alertmanager_notifications_failed_total[${windowOf(t, 'AlertmanagerNotificationsFailing')}])) > ${numberOf(t, 'threshold', 'AlertmanagerNotificationsFailing')}`,
    // A failing receiver is counted when Alertmanager next notifies it: the heartbeat's next repeat (10 s, at a 5 s
    // group tick) plus the 10 s Alertmanager retries a failing send before it counts the notification failed.
    sourceDelayS: 25,
    summary: 'Alertmanager fails to deliver notifications',
    description: '{{ $value }} notifications through the {{ $labels.integration }} integration failed in the last window.',
    runbook: {
      meaning: 'Alertmanager tried to notify a receiver and gave up after its retries: the receiver (a webhook, Slack, PagerDuty) refused, failed or timed out.',
      impact: 'Whoever that receiver reaches is not told about the alerts it carries. This alert goes to its own receiver (`alerting`) so that it does not share the broken one.',
      diagnosis: [
        'Alertmanager\'s log names the receiver and the error ("Notify for alerts failed"); `alertmanager_notification_requests_failed_total` counts each attempt.',
        'Send a test through the receiver (`amtool alert add ... --annotation=summary=test`) once it is fixed.',
        'In the harness: the fault scenario heartbeat-receiver-failing makes the harness\'s heartbeat receiver answer 500.',
      ],
      mitigation: ['Fix the receiver (URL, credentials, the service behind it); Alertmanager retries at every group interval and delivers what still fires.'],
      design: 'A count of failed notifications, not a ratio: notifications are few, and one lost page is already the failure. The window outlasts the heartbeat\'s repeat, so a receiver failing every heartbeat keeps it firing.',
    },
    healthy: [flat('alertmanager_notifications_failed_total', { ...AM, integration: 'webhook' })],
    faulty: [flatThenGrowing('alertmanager_notifications_failed_total', { ...AM, integration: 'webhook' })],
    expect: (t) => ({ labels: { integration: 'webhook' }, value: eventsSeen(t, 'AlertmanagerNotificationsFailing') }),
    faultName: 'every webhook notification fails',
  }),
  {
    name: 'PrometheusTargetMissing',
    category: 'alerting',
    severity: 'high',
    service: 'prometheus',
    panel: { dashboard: 'alerting', id: 8 },
    expr: () =>
      [
        `max by (config) (${DISCOVERED}{name="scrape", config=~"${JOBS.join('|')}"}) < 1`,
        `or sum by (config) (${JOBS.map((job) => `absent(${DISCOVERED}{name="scrape", config="${job}"})`).join(' or ')})`,
      ].join('\n'),
    // Prometheus' own gauge drops (a job emptied) or vanishes (a job removed) at the reload; the next self-scrape shows it.
    sourceDelayS: () => 0,
    summary: 'A scrape job is missing from Prometheus',
    description: 'Prometheus discovers {{ $value }} targets for job {{ $labels.config }}, or has no such job: nothing about it is scraped, so none of its alerts can fire.',
    runbook: {
      meaning: 'A job alertproof\'s alerts rely on has no target in Prometheus: the job was removed from the config or renamed, or its service discovery returns nothing.',
      impact: 'The job\'s Down alert cannot fire (there is no `up == 0`, only no `up` at all), and neither can anything else about that service: it is unmonitored, silently.',
      diagnosis: [
        'Prometheus > Status > Targets: the job is not listed, or lists no target. Diff the running config (`/api/v1/status/config`) with alerts/prometheus.yml.',
        `The jobs this alert expects are alerts/prometheus.yml's: ${JOBS.join(', ')}.`,
      ],
      mitigation: ['Restore the job (or its discovery) and reload.'],
      design:
        'Read from Prometheus\' own `prometheus_sd_discovered_targets` per scrape config (the generator takes the jobs from alerts/prometheus.yml), not from `absent(up{job=...})`: a job removed by a reload writes no stale markers for its series (measured on 2.42: its `up` stays visible for the 5 min lookback), so absent(up) would take five minutes, while the discovery gauge vanishes at the next self-scrape. A job whose discovery finds nothing reads 0. `for` rides out Prometheus\' first evaluation after a start, which may come before its first self-scrape.',
    },
    firing: () => {
      const missing = JOBS[JOBS.length - 1]!;
      const emptied = JOBS[0]!;
      const discovered = (gone: string, how: 'removed' | 'emptied'): SeriesInput[] =>
        JOBS.map((job) => series(DISCOVERED, { ...PROM, config: job, name: 'scrape' }, job !== gone ? samples().hold(TOTAL, 1) : how === 'removed' ? samples().hold(BEFORE, 1).gap(AFTER) : samples().hold(BEFORE, 1).hold(AFTER, 0)));
      return [
        { name: `job ${missing} leaves the config`, series: discovered(missing, 'removed'), faultAtS: FAULT_S, expect: [{ labels: { config: missing }, value: 1 }] },
        { name: `job ${emptied}'s discovery finds no target`, series: discovered(emptied, 'emptied'), faultAtS: FAULT_S, expect: [{ labels: { config: emptied }, value: 0 }] },
      ];
    },
    quiet: () => [
      { name: 'every job has its target', series: JOBS.map((job) => series(DISCOVERED, { ...PROM, config: job, name: 'scrape' }, samples().hold(TOTAL, 1))), evalAtS: [60, 120, 175] },
      {
        name: 'a job with two targets, one gone (its Down alert, not a missing job)',
        series: JOBS.map((job, i) => series(DISCOVERED, { ...PROM, config: job, name: 'scrape' }, i === 0 ? samples().hold(BEFORE, 2).hold(AFTER, 1) : samples().hold(TOTAL, 1))),
        evalAtS: [80, 120, 175],
      },
    ],
  },
  targetDown({
    name: 'AlertmanagerDown',
    labels: AM,
    category: 'alerting',
    dashboard: 'alerting',
    severity: 'critical',
    panel: 9,
    what: 'Alertmanager',
    impact: 'no alert reaches anyone: Prometheus keeps firing and re-sending, and every send fails until Alertmanager is back. This alert cannot be delivered by the Alertmanager it is about: the dead man\'s switch (the Watchdog heartbeat stopping) is what pages.',
    diagnosis: ['The heartbeat receiver (`npm run deadman`, or the hosted dead man\'s switch) alarms within a minute; PrometheusErrorSendingAlertsToAlertmanager and PrometheusNotificationsDropped fire in Prometheus alongside.'],
    mitigation: ['After a restart Alertmanager loads its silences and notification log from its storage dir; Prometheus re-sends what still fires within its resend delay (5 s), and those notifications arrive.'],
  }),
];
