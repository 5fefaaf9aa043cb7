// The alert catalogue: every alert's expression, labels, texts, runbook and promtool cases, in one place.
// Numbers that are estimates come from alerts/thresholds.yaml; alerts/generate.ts renders everything else from here.
import { numberOf, windowOf, seconds, type AlertDef, type DashboardKey, type Runbook, type SeriesInput, type Severity } from './model.ts';
import { histogram, samples, series, type HistogramPhase } from './series.ts';

/** Every case puts the fault at 60 s (sample 12) and runs 36 samples (0..175 s). */
const FAULT_S = 60;
const BEFORE = 12;
const AFTER = 24;
const TOTAL = BEFORE + AFTER;

const target = (job: string, port: number): Record<string, string> => ({ job, instance: `${job}:${port}` });
const GW = target('execution-gateway', 8080);
const SS = target('signal-service', 8082);
const OR = target('orchestrator', 8083);
const MD = target('market-data', 8084);
const FA = target('fake-alpaca', 8091);

const upSeries = (labels: Record<string, string>): SeriesInput => series('up', labels, samples().hold(TOTAL, 1));

// ---------------------------------------------------------------------------------------------------------------
// Service health: targets and dependency probes.

interface TargetDownSpec {
  name: string;
  labels: Record<string, string>;
  severity: Severity;
  panel: number;
  what: string;
  impact: string;
  diagnosis: string[];
  mitigation: string[];
}

function targetDown(s: TargetDownSpec): AlertDef {
  const job = s.labels.job!;
  return {
    name: s.name,
    category: 'service-health',
    severity: s.severity,
    service: job,
    panel: { dashboard: 'health', id: s.panel },
    expr: () => `up{job="${job}"} == 0`,
    // A SIGSTOPped process fails its scrape only when the scrape times out (scrape_timeout 4 s).
    sourceDelayS: () => 4,
    summary: `${s.what} is down`,
    description: `Prometheus cannot scrape ${job} at {{ $labels.instance }} (up = {{ $value }}); ${s.impact}`,
    runbook: {
      meaning: `Prometheus could not scrape the ${job} /metrics endpoint on consecutive scrapes: the process is dead, stopped (SIGSTOP), or not listening.`,
      impact: s.impact,
      diagnosis: [
        `Check the target on the Prometheus targets page (job "${job}"): the last scrape error says whether the connection was refused (process gone) or timed out (process hung or stopped).`,
        `Look at the process: \`ps -o pid,stat,cmd -C node | grep ${job}\`; state T means stopped, no line means it exited. Its log (the stack keeps one per process) shows the last words.`,
        ...s.diagnosis,
      ],
      mitigation: [
        `Restart the service (\`npm run stack\` restarts the whole stack; a stopped process continues with SIGCONT).`,
        ...s.mitigation,
        'Dependency and latency alerts for this service are inhibited while this alert fires; check them again once it resolves.',
      ],
    },
    firing: () => [
      {
        name: `${job} stops answering scrapes`,
        series: [series('up', s.labels, samples().hold(BEFORE, 1).hold(AFTER, 0))],
        faultAtS: FAULT_S,
        expect: [{ labels: s.labels, value: 0 }],
      },
    ],
    quiet: () => [
      { name: `${job} scraped on every interval`, series: [upSeries(s.labels)], evalAtS: [60, 120, 175] },
      {
        name: `${job} misses one scrape (a blip, not an outage)`,
        series: [series('up', s.labels, samples().hold(BEFORE, 1).hold(1, 0).hold(AFTER - 1, 1))],
        evalAtS: [65, 70, 80],
      },
    ],
  };
}

interface ProbeSpec {
  name: string;
  metric: string;
  labels: Record<string, string>;
  severity: Severity;
  dependency?: string;
  panel: number;
  dependsOn: string;
  summary: string;
  impact: string;
  diagnosis: string[];
  mitigation: string[];
  faults: string;
}

/** A dependency probe gauge (1 reachable, 0 not) that the service refreshes every PROBE_INTERVAL_MS (1 s). */
function probeDown(s: ProbeSpec): AlertDef {
  const job = s.labels.job!;
  return {
    name: s.name,
    category: 'service-health',
    severity: s.severity,
    service: job,
    ...(s.dependency ? { dependency: s.dependency } : {}),
    panel: { dashboard: 'health', id: s.panel },
    expr: () => `${s.metric} == 0`,
    // One probe period (1 s) plus the probe's own timeout (1 s) before the gauge drops to 0.
    sourceDelayS: () => 2,
    summary: s.summary,
    description: `${job} at {{ $labels.instance }} reports ${s.metric} = {{ $value }}: its probe of ${s.dependsOn} is failing. ${s.impact}`,
    runbook: {
      meaning: `The ${job} probe of ${s.dependsOn} has failed for consecutive probe rounds (\`${s.metric}\` is 0). Typical causes: ${s.faults}.`,
      impact: s.impact,
      diagnosis: [
        `Confirm on the Service Health dashboard that \`${s.metric}\` dropped and when; \`/ready\` on ${job} names the failing check and its error.`,
        ...s.diagnosis,
      ],
      mitigation: s.mitigation,
    },
    firing: () => [
      {
        name: `${s.dependsOn} becomes unreachable from ${job}`,
        series: [series(s.metric, s.labels, samples().hold(BEFORE, 1).hold(AFTER, 0))],
        faultAtS: FAULT_S,
        expect: [{ labels: s.labels, value: 0 }],
      },
    ],
    quiet: () => [
      { name: `${s.dependsOn} reachable throughout`, series: [series(s.metric, s.labels, samples().hold(TOTAL, 1))], evalAtS: [60, 120, 175] },
      {
        name: `one failed probe round`,
        series: [series(s.metric, s.labels, samples().hold(BEFORE, 1).hold(1, 0).hold(AFTER - 1, 1))],
        evalAtS: [65, 70],
      },
      {
        name: `${job} itself is down (its gauges vanish; ServiceDown covers it)`,
        series: [series(s.metric, s.labels, samples().hold(BEFORE, 1).gap(AFTER))],
        evalAtS: [70, 120],
      },
    ],
  };
}

const restartPostgres =
  'Bring Postgres back (`pg_ctl status -D <datadir>`; restart it, or SIGCONT it if stopped) and clear whatever sits between the service and Postgres (the fault proxy in the harness).';
const restartRedis = 'Bring Redis back (`redis-cli -p <port> ping`; restart it or SIGCONT it) and clear any proxy fault between the service and Redis.';

const serviceHealth: AlertDef[] = [
  targetDown({
    name: 'ExecutionGatewayDown',
    labels: GW,
    severity: 'critical',
    panel: 1,
    what: 'Execution gateway',
    impact: 'no order can be placed, replayed or resubmitted, and positions and P&L are not served.',
    diagnosis: ['Orchestrator runs fail with gateway errors while this lasts (OrchestratorExecutionGatewayUnavailable is inhibited by this alert).'],
    mitigation: ['Orders accepted before the outage are persisted in Postgres; after a restart the resubmit loop sends any still in pending_submit.'],
  }),
  targetDown({
    name: 'SignalServiceDown',
    labels: SS,
    severity: 'high',
    panel: 2,
    what: 'Signal service',
    impact: 'orchestration runs cannot get signals, so no rebalancing happens; existing positions are untouched.',
    diagnosis: ['Orchestrator runs fail while this lasts; OrchestratorSignalServiceUnavailable is inhibited by this alert.'],
    mitigation: ['After a restart the active model is loaded from the registry before signals are served; check SignalServiceModelNotLoaded stays quiet.'],
  }),
  targetDown({
    name: 'OrchestratorDown',
    labels: OR,
    severity: 'high',
    panel: 3,
    what: 'Orchestrator',
    impact: 'no scheduled rebalancing runs happen; direct orders through the gateway still work.',
    diagnosis: ['`GET /runs?limit=5` on the orchestrator after restart shows the last runs and their errors.'],
    mitigation: ['Runs are idempotent per run id (client_order_id run-<runId>-<symbol>), so restarting mid-run never duplicates orders.'],
  }),
  targetDown({
    name: 'MarketDataDown',
    labels: MD,
    severity: 'high',
    panel: 4,
    what: 'Market data service',
    impact: 'quotes in Redis go stale: signals are computed from old prices and P&L is marked at old quotes.',
    diagnosis: ['`redis-cli hget quote:<SYM> ts` shows how old the last quote is.'],
    mitigation: ['On restart it reconnects, re-authenticates and re-subscribes the universe and held symbols by itself.'],
  }),
  targetDown({
    name: 'FakeAlpacaDown',
    labels: FA,
    severity: 'medium',
    panel: 5,
    what: 'Broker (fake Alpaca)',
    impact: 'the broker is gone: orders queue as pending_submit, the market-data stream drops, the market clock is unknown.',
    diagnosis: ['fake-alpaca is scraped on its admin listener, which faults never close, so this means the process itself is gone or stopped.'],
    mitigation: ['Gateway Alpaca and market-data WebSocket alerts are inhibited while this fires (they carry dependency="fake-alpaca").'],
  }),
  probeDown({
    name: 'ExecutionGatewayDatabaseDisconnected',
    metric: 'execution_gateway_database_connection_status',
    labels: GW,
    severity: 'critical',
    panel: 6,
    dependsOn: 'Postgres',
    summary: 'Execution gateway lost Postgres',
    impact: 'Orders cannot be persisted, so the gateway refuses them with 503 (nothing is accepted without a durable record).',
    faults: 'Postgres stopped or SIGSTOPped, a network black hole or reset between the gateway and Postgres, pool exhaustion',
    diagnosis: ['`psql "$DATABASE_URL" -c "select 1"` from the gateway host; compare with ExecutionGatewayDown to rule out the gateway itself.'],
    mitigation: [restartPostgres, 'No order is lost: clients got 503 and may retry with the same client_order_id.'],
  }),
  probeDown({
    name: 'ExecutionGatewayRedisDisconnected',
    metric: 'execution_gateway_redis_connection_status',
    labels: GW,
    severity: 'high',
    panel: 7,
    dependsOn: 'Redis',
    summary: 'Execution gateway lost Redis',
    impact: 'The circuit breaker state and quotes are unreadable: orders fail closed and P&L cannot be marked.',
    faults: 'Redis stopped or SIGSTOPped, a proxy black hole or reset between the gateway and Redis',
    diagnosis: ['`redis-cli -u "$REDIS_URL" ping`; `GET /circuit-breaker` on the gateway returns 503 while Redis is unreachable.'],
    mitigation: [restartRedis],
  }),
  probeDown({
    name: 'ExecutionGatewayAlpacaDisconnected',
    metric: 'execution_gateway_alpaca_connection_status',
    labels: GW,
    severity: 'critical',
    dependency: 'fake-alpaca',
    panel: 8,
    dependsOn: 'the Alpaca API',
    summary: 'Execution gateway cannot reach Alpaca',
    impact: 'New orders are accepted (202) but stay pending_submit until the broker answers again; nothing reaches the market.',
    faults: 'the broker refusing connections, answering 5xx, or a black hole between gateway and broker',
    diagnosis: [
      '`curl -H "APCA-API-KEY-ID: ..." -H "APCA-API-SECRET-KEY: ..." $ALPACA_BASE_URL/v2/clock` from the gateway host.',
      'In the harness, `GET /admin/faults` on fake-alpaca lists the injected broker faults.',
    ],
    mitigation: ['Restore broker connectivity; the resubmit loop then sends every pending_submit order exactly once (client_order_id is the idempotency key).'],
  }),
  probeDown({
    name: 'SignalServiceDatabaseDisconnected',
    metric: 'signal_service_database_connection_status',
    labels: SS,
    severity: 'high',
    panel: 9,
    dependsOn: 'Postgres (the model registry)',
    summary: 'Signal service lost the model registry database',
    impact: 'Signals are still served from the loaded model, but model changes and hot reloads are not picked up.',
    faults: 'Postgres stopped or SIGSTOPped, or a proxy fault between the signal service and Postgres',
    diagnosis: ['`psql "$DATABASE_URL" -c "select id, name, version, active from models"`.'],
    mitigation: [restartPostgres],
  }),
  probeDown({
    name: 'SignalServiceRedisDisconnected',
    metric: 'signal_service_redis_connection_status',
    labels: SS,
    severity: 'high',
    panel: 10,
    dependsOn: 'Redis (price history)',
    summary: 'Signal service lost Redis',
    impact: 'Signals cannot be computed (price history lives in Redis): POST /signals fails and orchestration runs fail.',
    faults: 'Redis stopped or SIGSTOPped, or a proxy fault between the signal service and Redis',
    diagnosis: ['`redis-cli -u "$REDIS_URL" llen prices:<SYM>`.'],
    mitigation: [restartRedis],
  }),
  probeDown({
    name: 'OrchestratorDatabaseDisconnected',
    metric: 'orchestrator_database_connection_status',
    labels: OR,
    severity: 'high',
    panel: 11,
    dependsOn: 'Postgres (run records)',
    summary: 'Orchestrator lost Postgres',
    impact: 'Runs cannot be recorded, so they are refused; no rebalancing happens.',
    faults: 'Postgres stopped or SIGSTOPped, or a proxy fault between the orchestrator and Postgres',
    diagnosis: ['`psql "$DATABASE_URL" -c "select id, status, created_at from runs order by id desc limit 5"`.'],
    mitigation: [restartPostgres],
  }),
  probeDown({
    name: 'OrchestratorSignalServiceUnavailable',
    metric: 'orchestrator_signal_service_available',
    labels: OR,
    severity: 'high',
    dependency: 'signal-service',
    panel: 12,
    dependsOn: 'the signal service /health',
    summary: 'Orchestrator cannot reach the signal service',
    impact: 'Runs fail at their first step (getting signals).',
    faults: 'the signal service down or hung, or a network problem between the two',
    diagnosis: ['`curl $SIGNAL_SERVICE_URL/health` from the orchestrator host; if SignalServiceDown fires too, this alert is inhibited.'],
    mitigation: ['Fix the signal service (see SignalServiceDown); runs recover on the next schedule.'],
  }),
  probeDown({
    name: 'OrchestratorExecutionGatewayUnavailable',
    metric: 'orchestrator_execution_gateway_available',
    labels: OR,
    severity: 'high',
    dependency: 'execution-gateway',
    panel: 13,
    dependsOn: 'the execution gateway /health',
    summary: 'Orchestrator cannot reach the execution gateway',
    impact: 'Runs cannot read positions or place orders.',
    faults: 'the gateway down or hung, or a network problem between the two',
    diagnosis: ['`curl $EXECUTION_GATEWAY_URL/health` from the orchestrator host; if ExecutionGatewayDown fires too, this alert is inhibited.'],
    mitigation: ['Fix the gateway (see ExecutionGatewayDown).'],
  }),
  probeDown({
    name: 'MarketDataWebSocketDisconnected',
    metric: 'market_data_websocket_connection_status',
    labels: MD,
    severity: 'high',
    dependency: 'fake-alpaca',
    panel: 14,
    dependsOn: 'the Alpaca market-data stream',
    summary: 'Market data stream disconnected',
    impact: 'No new quotes reach Redis; signals and P&L use stale prices.',
    faults: 'the stream dropping connections (wsDrop), a silent stream declared stale after STALE_AFTER_MS (wsSilent), the broker refusing connections',
    diagnosis: [
      'MarketDataReconnectStorm and NoMarketData usually fire with this one; the market-data log shows close codes and auth errors.',
      'A status of 0 with a connected socket means the stream went silent longer than STALE_AFTER_MS (5 s).',
    ],
    mitigation: ['The service reconnects by itself with backoff (100 ms .. 5 s); if the broker keeps refusing, fix the broker side or credentials.'],
  }),
  probeDown({
    name: 'MarketDataRedisDisconnected',
    metric: 'market_data_redis_connection_status',
    labels: MD,
    severity: 'high',
    panel: 15,
    dependsOn: 'Redis',
    summary: 'Market data service lost Redis',
    impact: 'Quotes arrive but cannot be stored or published: everything downstream sees stale prices.',
    faults: 'Redis stopped or SIGSTOPped, or a proxy fault between market-data and Redis',
    diagnosis: ['`redis-cli -u "$REDIS_URL" hgetall quote:<SYM>` and compare `ts` with now.'],
    mitigation: [restartRedis],
  }),
  {
    name: 'SignalServiceModelNotLoaded',
    category: 'service-health',
    severity: 'critical',
    service: 'signal-service',
    panel: { dashboard: 'health', id: 16 },
    expr: () => 'signal_service_model_loaded_status == 0',
    // The registry is polled every MODEL_POLL_MS (2 s).
    sourceDelayS: () => 2,
    summary: 'Signal service has no model loaded',
    description: 'signal-service at {{ $labels.instance }} has no usable model (model_loaded_status = {{ $value }}); POST /signals answers 503.',
    runbook: {
      meaning: 'The signal service has no valid model in memory: the registry has no active model, or it started while only a broken model was active.',
      impact: 'No signals, so every orchestration run fails and the portfolio is not rebalanced.',
      diagnosis: [
        '`GET /models` on the signal service lists the registry; exactly one row should be `active`.',
        'SignalServiceModelReloadFailing firing too means the active model exists but is invalid (bad kind or params).',
      ],
      mitigation: ['Activate a known-good model: `POST /models/<id>/activate`, then `POST /models/reload` to load it now.'],
    },
    firing: () => [
      {
        name: 'the active model is deactivated',
        series: [series('signal_service_model_loaded_status', SS, samples().hold(BEFORE, 1).hold(AFTER, 0))],
        faultAtS: FAULT_S,
        expect: [{ labels: SS, value: 0 }],
      },
    ],
    quiet: () => [
      { name: 'a model stays loaded', series: [series('signal_service_model_loaded_status', SS, samples().hold(TOTAL, 1))], evalAtS: [60, 175] },
      { name: 'signal-service down (gauge absent)', series: [series('signal_service_model_loaded_status', SS, samples().hold(BEFORE, 1).gap(AFTER))], evalAtS: [80] },
    ],
  },
  {
    name: 'Watchdog',
    category: 'service-health',
    severity: 'low',
    service: 'alerting',
    panel: { dashboard: 'health', id: 17 },
    expr: () => 'vector(1)',
    sourceDelayS: () => 0,
    summary: 'Alerting pipeline heartbeat (always firing)',
    description: 'Always firing (value {{ $value }}) so that the end of its notifications proves the Prometheus -> Alertmanager -> receiver path is broken.',
    alwaysFiring: true,
    runbook: {
      meaning: 'A dead-man\'s switch: this alert fires all the time. Its repeated notifications are the heartbeat of the alerting pipeline.',
      impact: 'None while it fires. When its notifications STOP, no other alert can reach anyone either.',
      diagnosis: [
        'If the heartbeat stopped: is Prometheus up and evaluating rules (Status > Rules)? Does it reach Alertmanager (Status > Runtime, "Alertmanagers")? Is Alertmanager up, and does its receiver accept the webhook?',
      ],
      mitigation: ['Restore the broken link; the harness control window expects exactly this alert and nothing else on a healthy baseline.'],
      design:
        'It has no quiet case: an alert that can stop firing on its own is not a dead-man\'s switch. It waits one evaluation (`for: 5s`) because an alert that fires at Prometheus\' first evaluation after start is dropped before any Alertmanager is discovered and only resent after the 1 m resend delay.',
    },
    firing: () => [{ name: 'always', series: [], faultAtS: 0, expect: [{ labels: {}, value: 1 }] }],
    quiet: () => [],
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Trading operations.

interface RatioSpec {
  name: string;
  metric: string;
  labels: Record<string, string>;
  badStatus: string;
  goodStatus: string;
  service: string;
  severity: Severity;
  category: AlertDef['category'];
  dependency?: string;
  panel: { dashboard: DashboardKey; id: number };
  what: string;
  summary: string;
  runbook: Runbook;
}

/** Share of `metric` with status in badStatus over the window, once enough events happen for a share to mean anything. */
function ratioAlert(s: RatioSpec): AlertDef {
  const bad = s.badStatus.includes('|') ? `status=~"${s.badStatus}"` : `status="${s.badStatus}"`;
  return {
    name: s.name,
    category: s.category,
    severity: s.severity,
    service: s.service,
    ...(s.dependency ? { dependency: s.dependency } : {}),
    panel: s.panel,
    thresholdUnit: 'ratio',
    expr: (t) => {
      const w = windowOf(t, s.name);
      return [
        `sum(rate(${s.metric}{${bad}}[${w}])) / sum(rate(${s.metric}[${w}])) > ${numberOf(t, 'threshold', s.name)}`,
        `and on() sum(rate(${s.metric}[${w}])) > ${numberOf(t, 'minRate', s.name)}`,
      ].join('\n');
    },
    sourceDelayS: () => 0,
    summary: s.summary,
    description: `{{ printf "%.2f" $value }} of ${s.what} over the last window were ${s.badStatus.replaceAll('|', '/')}.`,
    runbook: s.runbook,
    firing: (t) => {
      const good = { ...s.labels, status: s.goodStatus };
      const badLabels = { ...s.labels, status: s.badStatus.split('|')[0]! };
      // 6 of every 10 events go bad from the fault on.
      const badShare = 6 / 10;
      if (badShare <= numberOf(t, 'threshold', s.name)) throw new Error(`${s.name}: the case's bad share ${badShare} no longer crosses the threshold; raise it`);
      return [
        {
          name: `60% of ${s.what} go ${badLabels.status}`,
          series: [
            series(s.metric, good, samples().grow(10, BEFORE).grow(4, AFTER)),
            series(s.metric, badLabels, samples().hold(BEFORE, 0).grow(6, AFTER)),
          ],
          faultAtS: FAULT_S,
          expect: [{ labels: {}, value: badShare }],
        },
      ];
    },
    quiet: () => {
      const good = { ...s.labels, status: s.goodStatus };
      const badLabels = { ...s.labels, status: s.badStatus.split('|')[0]! };
      return [
        {
          name: `all ${s.what} succeed`,
          series: [series(s.metric, good, samples().grow(10, TOTAL)), series(s.metric, badLabels, samples().hold(TOTAL, 0))],
          evalAtS: [60, 120, 175],
        },
        {
          // One event per window is a rate of 1/window, which minRate must not undercut: one event is not a rate.
          name: `a single bad event while traffic is below minRate`,
          series: [
            series(s.metric, good, samples().hold(BEFORE, 0).hold(AFTER, 0)),
            series(s.metric, badLabels, samples().hold(BEFORE, 0).grow(1, 1).hold(AFTER - 1)),
          ],
          evalAtS: [60, 65, 80],
        },
      ];
    },
  };
}

const MARKET_OPEN = 'execution_gateway_market_open';
/** Order requests the gateway received, whatever became of them: the kit's RED counter for POST /orders. */
const ORDER_REQUESTS_METRIC = 'execution_gateway_http_requests_total';
const ORDER_REQUEST_LABELS = { ...GW, method: 'POST', route: '/orders', status_class: '2xx' };
const ORDER_REQUESTS = `${ORDER_REQUESTS_METRIC}{method="POST",route="/orders"}`;

const trading: AlertDef[] = [
  ratioAlert({
    name: 'OrderRejectionRateHigh',
    metric: 'execution_gateway_orders_total',
    labels: { ...GW, symbol: 'AAPL', side: 'buy' },
    badStatus: 'rejected',
    goodStatus: 'filled',
    service: 'execution-gateway',
    severity: 'high',
    category: 'trading',
    panel: { dashboard: 'trading', id: 2 },
    what: 'orders',
    summary: 'The broker rejects a high share of orders',
    runbook: {
      meaning: 'A large share of orders placed through the gateway came back rejected by the broker (Alpaca 403/422, e.g. "insufficient buying power").',
      impact: 'Intended trades are not executed; the portfolio drifts from its targets.',
      diagnosis: [
        'Trading Overview: orders by status. `GET /orders?limit=20` on the gateway shows the rejected orders and the broker message.',
        'Check buying power: `GET /v2/account` at the broker. In the harness, fake-alpaca `rejectRate` produces exactly this.',
        'Risk rejections by the gateway itself (circuit breaker, position limit) are status risk_rejected and do not count here.',
      ],
      mitigation: ['Fix the cause the broker names (fund the account, reduce order size); the orchestrator retries on its next run.'],
    },
  }),
  ratioAlert({
    name: 'OrderFailureRateHigh',
    metric: 'execution_gateway_orders_total',
    labels: { ...GW, symbol: 'AAPL', side: 'buy' },
    badStatus: 'failed',
    goodStatus: 'filled',
    service: 'execution-gateway',
    severity: 'high',
    category: 'trading',
    panel: { dashboard: 'trading', id: 2 },
    what: 'orders',
    summary: 'A high share of orders fail',
    runbook: {
      meaning: 'A large share of orders ended as failed: the gateway could not complete them (broker errors after retries, unexpected broker answers).',
      impact: 'Orders are not executed and callers see errors; automated runs end partial or failed.',
      diagnosis: [
        'Trading Overview: orders by status, and AlpacaApiErrorRateHigh for the broker side.',
        'The gateway log has one warning per failed submit with the broker status and message.',
        'Gateway-side outages count as failed too: with Postgres unreachable orders are refused with 503, with Redis unreachable the circuit breaker cannot be read; check the gateway connection alerts first.',
      ],
      mitigation: ['Fix the broker-side cause; resubmit failed orders with their original client_order_id so none is duplicated.'],
    },
  }),
  ratioAlert({
    name: 'AlpacaApiErrorRateHigh',
    metric: 'execution_gateway_alpaca_api_requests_total',
    labels: { ...GW, endpoint: 'orders' },
    badStatus: '5xx|timeout|error',
    goodStatus: '2xx',
    service: 'execution-gateway',
    severity: 'high',
    category: 'trading',
    dependency: 'fake-alpaca',
    panel: { dashboard: 'trading', id: 6 },
    what: 'Alpaca API requests',
    summary: 'Alpaca API requests are failing',
    runbook: {
      meaning: 'A large share of the gateway\'s requests to the Alpaca API end in 5xx, a timeout, or a connection error.',
      impact: 'Orders are retried, then left pending_submit; the market clock and positions may be stale.',
      diagnosis: [
        'Trading Overview: Alpaca requests by endpoint and status. A high `timeout` share points at latency or a black hole, `error` at refused connections, `5xx` at the broker itself.',
        'In the harness: fake-alpaca `errorRate`, `refuseConnections`, or a broker proxy fault.',
      ],
      mitigation: ['Wait out a broker incident (orders stay safe in pending_submit) or fix connectivity; trip the circuit breaker if the broker answers inconsistently.'],
    },
  }),
  ratioAlert({
    name: 'AlpacaRateLimited',
    metric: 'execution_gateway_alpaca_api_requests_total',
    // Every endpoint, like AlpacaApiErrorRateHigh: Alpaca limits requests per account, so order posts, lookups, the
    // clock probe and order syncs all spend one budget, and a limit shows wherever the requests are.
    labels: { ...GW, endpoint: 'orders' },
    badStatus: '429',
    goodStatus: '2xx',
    service: 'execution-gateway',
    severity: 'high',
    category: 'trading',
    dependency: 'fake-alpaca',
    panel: { dashboard: 'trading', id: 6 },
    what: 'Alpaca API requests',
    summary: 'Alpaca is rate limiting the gateway',
    runbook: {
      meaning: 'A large share of the gateway\'s requests to the Alpaca API are answered 429 (rate limit exceeded): the account sends more requests than Alpaca allows per minute.',
      impact: 'Orders are not rejected but delayed: each 429 is retried after its Retry-After (at most 1 s), and an order limited on every attempt answers 202 and stays pending_submit until the resubmit loop gets it through. Fills come later, at other prices.',
      diagnosis: [
        'Trading Overview: Alpaca requests by endpoint and status (status "429"). A limit on every endpoint is the account\'s budget; look for what raised the request rate (order bursts, more gateway instances, another client on the same key).',
        '`GET /orders?limit=20` on the gateway lists the pending_submit orders waiting on the limit; OrdersStuckPendingSubmit fires when they pile up.',
        'In the harness: fake-alpaca `rateLimit` (`GET /admin/faults` shows the share and Retry-After).',
      ],
      mitigation: [
        'Lower the request rate: fewer or batched orders, a longer RESUBMIT_INTERVAL_MS, one gateway per Alpaca key. Nothing is lost meanwhile: limited orders wait in pending_submit and are resubmitted with their client_order_id.',
        'If the rate is legitimate, ask Alpaca for a higher limit.',
      ],
      design: 'Its own alert, not part of AlpacaApiErrorRateHigh or OrderRejectionRateHigh: a 429 means the broker is up and the order was never judged, so it is neither an outage nor a rejection, and its fix (send fewer requests) is different from both.',
    },
  }),
  {
    name: 'NoOrdersWhileMarketOpen',
    category: 'trading',
    severity: 'high',
    service: 'execution-gateway',
    panel: { dashboard: 'trading', id: 1 },
    expr: (t) => {
      const w = windowOf(t, 'NoOrdersWhileMarketOpen');
      return [
        `(sum(increase(${ORDER_REQUESTS}[${w}])) or on() vector(0)) == 0`,
        `and on() max(${MARKET_OPEN}) == 1`,
        `and on() sum(increase(orchestrator_runs_total{status=~"completed|partial"}[${w}])) > 0`,
        `unless on() min(min_over_time(up{job="execution-gateway"}[${w}])) == 0`,
        `unless on() max(execution_gateway_database_connection_status) == 0`,
      ].join('\n');
    },
    sourceDelayS: () => 0,
    summary: 'No orders while the market is open',
    description: 'The gateway received {{ $value }} order requests in the last window although the market is open and orchestration runs keep completing.',
    runbook: {
      meaning: 'Order requests to the gateway (POST /orders) stopped completely while the market is open and the orchestrator keeps completing runs.',
      impact: 'Nothing trades: intended rebalancing and client orders are not reaching the gateway.',
      diagnosis: [
        'Trading Overview: orders by status and orchestration runs. Runs completing without orders means their order step never calls the gateway.',
        'Check the clients that send orders directly (in the harness: the load generator\'s orders flow).',
      ],
      mitigation: ['Restore the order path from the clients (network, credentials, client bugs); the gateway itself is up and its database reachable, or this alert would be silent.'],
      design:
        'It counts order requests (the RED counter of POST /orders), not execution_gateway_orders_total: that counts an order at its outcome, so while the broker is down every order waits in pending_submit uncounted, and a broker outage would read as no orders. The classic form "0 orders in 5 m" cannot page within a minute, so the window is short (see thresholds.yaml). A short silence only means something under the gates: the market is open (execution_gateway_market_open), orchestration runs are completing (so orders are expected), the gateway was up for the whole window (a restart empties the counters; ExecutionGatewayDown covers an outage) and its database is reachable (ExecutionGatewayDatabaseDisconnected covers that).',
    },
    firing: () => [
      {
        name: 'orders stop while runs continue and the market is open',
        series: [
          series(ORDER_REQUESTS_METRIC, ORDER_REQUEST_LABELS, samples().grow(5, BEFORE).hold(AFTER)),
          series(MARKET_OPEN, GW, samples().hold(TOTAL, 1)),
          series('orchestrator_runs_total', { ...OR, status: 'completed' }, samples().grow(1, TOTAL)),
          upSeries(GW),
          series('execution_gateway_database_connection_status', GW, samples().hold(TOTAL, 1)),
        ],
        faultAtS: FAULT_S,
        expect: [{ labels: {}, value: 0 }],
      },
    ],
    quiet: () => {
      const ordersStop = series(ORDER_REQUESTS_METRIC, ORDER_REQUEST_LABELS, samples().grow(5, BEFORE).hold(AFTER));
      const runs = series('orchestrator_runs_total', { ...OR, status: 'completed' }, samples().grow(1, TOTAL));
      const db = series('execution_gateway_database_connection_status', GW, samples().hold(TOTAL, 1));
      return [
        {
          name: 'orders keep flowing',
          series: [
            series(ORDER_REQUESTS_METRIC, ORDER_REQUEST_LABELS, samples().grow(5, TOTAL)),
            series(MARKET_OPEN, GW, samples().hold(TOTAL, 1)),
            runs,
            upSeries(GW),
            db,
          ],
          evalAtS: [60, 120, 175],
        },
        { name: 'market closed', series: [ordersStop, series(MARKET_OPEN, GW, samples().hold(BEFORE, 1).hold(AFTER, 0)), runs, upSeries(GW), db], evalAtS: [120, 175] },
        {
          name: 'orchestration runs stopped too',
          series: [ordersStop, series(MARKET_OPEN, GW, samples().hold(TOTAL, 1)), series('orchestrator_runs_total', { ...OR, status: 'completed' }, samples().grow(1, BEFORE).hold(AFTER)), upSeries(GW), db],
          evalAtS: [120, 175],
        },
        {
          name: 'gateway down (ExecutionGatewayDown covers it)',
          series: [
            series(ORDER_REQUESTS_METRIC, ORDER_REQUEST_LABELS, samples().grow(5, BEFORE).gap(AFTER)),
            series(MARKET_OPEN, GW, samples().hold(BEFORE, 1).gap(AFTER)),
            runs,
            series('up', GW, samples().hold(BEFORE, 1).hold(AFTER, 0)),
            series('execution_gateway_database_connection_status', GW, samples().hold(BEFORE, 1).gap(AFTER)),
          ],
          evalAtS: [90, 120, 175],
        },
        {
          name: 'gateway just restarted (empty counters)',
          series: [
            series(ORDER_REQUESTS_METRIC, ORDER_REQUEST_LABELS, samples().grow(5, BEFORE).gap(2).hold(AFTER - 2, 0)),
            series(MARKET_OPEN, GW, samples().hold(BEFORE, 1).gap(2).hold(AFTER - 2, 1)),
            runs,
            series('up', GW, samples().hold(BEFORE, 1).hold(2, 0).hold(AFTER - 2, 1)),
            series('execution_gateway_database_connection_status', GW, samples().hold(BEFORE, 1).gap(2).hold(AFTER - 2, 1)),
          ],
          evalAtS: [70, 75, 80, 90],
        },
        { name: 'gateway database unreachable (its own alert covers it)', series: [ordersStop, series(MARKET_OPEN, GW, samples().hold(TOTAL, 1)), runs, upSeries(GW), series('execution_gateway_database_connection_status', GW, samples().hold(BEFORE, 1).hold(AFTER, 0))], evalAtS: [120, 175] },
      ];
    },
  },
  {
    name: 'CircuitBreakerTripped',
    category: 'trading',
    severity: 'critical',
    service: 'execution-gateway',
    panel: { dashboard: 'trading', id: 3 },
    expr: () => 'execution_gateway_circuit_breaker_status == 1',
    // The gateway refreshes the gauge from Redis in its 1 s probe loop.
    sourceDelayS: () => 2,
    summary: 'Trading circuit breaker is tripped',
    description: 'The circuit breaker on {{ $labels.instance }} is tripped (status {{ $value }}): every new order is risk-rejected.',
    runbook: {
      meaning: 'The trading circuit breaker (Redis key circuit_breaker:state) is tripped, so the gateway risk-rejects every new order with 422.',
      impact: 'No trading at all until someone resets it.',
      diagnosis: ['`GET /circuit-breaker` on the gateway returns the state and the reason given when it was tripped (`redis-cli get circuit_breaker:reason`).'],
      mitigation: ['Deal with the reason first (it is a deliberate stop), then `POST /circuit-breaker/reset`.'],
    },
    firing: () => [
      {
        name: 'the breaker is tripped',
        series: [series('execution_gateway_circuit_breaker_status', GW, samples().hold(BEFORE, 0).hold(AFTER, 1))],
        faultAtS: FAULT_S,
        expect: [{ labels: GW, value: 1 }],
      },
    ],
    quiet: () => [{ name: 'breaker closed', series: [series('execution_gateway_circuit_breaker_status', GW, samples().hold(TOTAL, 0))], evalAtS: [60, 175] }],
  },
  ratioAlert({
    name: 'OrchestrationRunsFailing',
    metric: 'orchestrator_runs_total',
    labels: OR,
    badStatus: 'failed',
    goodStatus: 'completed',
    service: 'orchestrator',
    severity: 'high',
    category: 'trading',
    panel: { dashboard: 'trading', id: 4 },
    what: 'orchestration runs',
    summary: 'Orchestration runs are failing',
    runbook: {
      meaning: 'Most orchestration runs end failed: the orchestrator could not get signals, read positions, or place any order.',
      impact: 'The portfolio is not rebalanced to the model\'s targets.',
      diagnosis: [
        '`GET /runs?limit=10` on the orchestrator: each failed run carries its error.',
        'Usual companions: SignalServiceModelNotLoaded, OrchestratorSignalServiceUnavailable, OrchestratorExecutionGatewayUnavailable, CircuitBreakerTripped.',
      ],
      mitigation: ['Fix the dependency the run errors name; runs resume on the next schedule.'],
    },
  }),
  {
    name: 'OrdersStuckPendingSubmit',
    category: 'trading',
    severity: 'high',
    service: 'execution-gateway',
    dependency: 'fake-alpaca',
    panel: { dashboard: 'trading', id: 5 },
    thresholdUnit: 'count',
    expr: (t) => `execution_gateway_orders_pending_submit > ${numberOf(t, 'threshold', 'OrdersStuckPendingSubmit')}`,
    // Orders must accumulate: at the baseline order rate (~1/s and up) the threshold is crossed within ~5 s.
    sourceDelayS: () => 5,
    summary: 'Orders are piling up unsubmitted',
    description: '{{ $value }} orders on {{ $labels.instance }} are accepted but not submitted to the broker.',
    runbook: {
      meaning: 'Orders were accepted and persisted (202) but could not be sent to the broker, and they are accumulating.',
      impact: 'Clients believe their orders are in; none reaches the market until the broker answers again.',
      diagnosis: ['ExecutionGatewayAlpacaDisconnected and AlpacaApiErrorRateHigh show why submission fails; `GET /orders?limit=20` lists pending_submit orders.'],
      mitigation: ['Restore the broker path; the resubmit loop drains the queue with the original client_order_id, so nothing is duplicated.'],
    },
    firing: () => [
      {
        name: 'broker unreachable while orders arrive',
        series: [series('execution_gateway_orders_pending_submit', GW, samples().hold(BEFORE, 0).grow(4, 3).hold(AFTER - 3))],
        faultAtS: FAULT_S,
        expect: [{ labels: GW, value: 12 }],
      },
    ],
    quiet: () => [
      { name: 'every order submitted at once', series: [series('execution_gateway_orders_pending_submit', GW, samples().hold(TOTAL, 0))], evalAtS: [60, 175] },
      { name: 'a short broker hiccup drains quickly', series: [series('execution_gateway_orders_pending_submit', GW, samples().hold(BEFORE, 0).hold(1, 3).hold(AFTER - 1, 0))], evalAtS: [60, 65, 70] },
    ],
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Data quality.

const MSG = 'market_data_websocket_messages_received_total';

const dataQuality: AlertDef[] = [
  {
    name: 'NoMarketData',
    category: 'data-quality',
    severity: 'high',
    service: 'market-data',
    dependency: 'fake-alpaca',
    panel: { dashboard: 'health', id: 18 },
    expr: (t) => {
      const w = windowOf(t, 'NoMarketData');
      return [
        `(sum(increase(${MSG}{message_type=~"q|t"}[${w}])) or on() vector(0)) == 0`,
        `and on() max(market_data_subscribed_symbols_current) > 0`,
        `unless on() max(${MARKET_OPEN}) == 0`,
        `unless on() min(min_over_time(up{job="market-data"}[${w}])) == 0`,
      ].join('\n');
    },
    sourceDelayS: () => 0,
    summary: 'No market data is arriving',
    description: 'market-data received {{ $value }} quotes or trades in the last window although symbols are subscribed and the market is not closed.',
    runbook: {
      meaning: 'The market-data service received no quotes and no trades for a whole window while it has subscribed symbols.',
      impact: 'Prices in Redis freeze: signals and P&L are computed on stale data without any error.',
      diagnosis: [
        'Service Health: stream messages by type and the WebSocket status. A connected but silent stream (status drops only after STALE_AFTER_MS) points at the feed; a disconnected one at the connection.',
        'In the harness: fake-alpaca `wsSilent` or `wsDrop`.',
      ],
      mitigation: ['The service re-connects a silent stream by itself; if the feed stays silent, fail over to another feed or pause trading (trip the circuit breaker).'],
      design:
        'Absence only means something when data is expected: symbols are subscribed, the market is not known to be closed (execution_gateway_market_open == 0 suppresses it), and market-data was up the whole window (MarketDataDown covers an outage and a restart empties the counters). The window is short enough for the one-minute budget.',
    },
    firing: () => [
      {
        name: 'the stream goes silent',
        series: [
          series(MSG, { ...MD, message_type: 'q' }, samples().grow(25, BEFORE).hold(AFTER)),
          series(MSG, { ...MD, message_type: 't' }, samples().grow(10, BEFORE).hold(AFTER)),
          series('market_data_subscribed_symbols_current', MD, samples().hold(TOTAL, 5)),
          series(MARKET_OPEN, GW, samples().hold(TOTAL, 1)),
          upSeries(MD),
        ],
        faultAtS: FAULT_S,
        expect: [{ labels: {}, value: 0 }],
      },
    ],
    quiet: () => [
      {
        name: 'quotes keep arriving',
        series: [series(MSG, { ...MD, message_type: 'q' }, samples().grow(25, TOTAL)), series('market_data_subscribed_symbols_current', MD, samples().hold(TOTAL, 5)), series(MARKET_OPEN, GW, samples().hold(TOTAL, 1)), upSeries(MD)],
        evalAtS: [60, 120, 175],
      },
      {
        name: 'nothing subscribed',
        series: [series(MSG, { ...MD, message_type: 'q' }, samples().hold(TOTAL, 0)), series('market_data_subscribed_symbols_current', MD, samples().hold(TOTAL, 0)), series(MARKET_OPEN, GW, samples().hold(TOTAL, 1)), upSeries(MD)],
        evalAtS: [60, 120, 175],
      },
      {
        name: 'market closed',
        series: [series(MSG, { ...MD, message_type: 'q' }, samples().grow(25, BEFORE).hold(AFTER)), series('market_data_subscribed_symbols_current', MD, samples().hold(TOTAL, 5)), series(MARKET_OPEN, GW, samples().hold(BEFORE, 1).hold(AFTER, 0)), upSeries(MD)],
        evalAtS: [120, 175],
      },
      {
        name: 'market-data down (MarketDataDown covers it)',
        series: [
          series(MSG, { ...MD, message_type: 'q' }, samples().grow(25, BEFORE).gap(AFTER)),
          series('market_data_subscribed_symbols_current', MD, samples().hold(BEFORE, 5).gap(AFTER)),
          series(MARKET_OPEN, GW, samples().hold(TOTAL, 1)),
          series('up', MD, samples().hold(BEFORE, 1).hold(AFTER, 0)),
        ],
        evalAtS: [90, 120, 175],
      },
    ],
  },
  {
    name: 'NoSignalsGenerated',
    category: 'data-quality',
    severity: 'high',
    service: 'signal-service',
    panel: { dashboard: 'health', id: 19 },
    expr: (t) => {
      const w = windowOf(t, 'NoSignalsGenerated');
      return [
        `(sum(increase(signal_service_signals_generated_total[${w}])) or on() vector(0)) == 0`,
        `and on() sum(increase(signal_service_requests_total{endpoint="signals_generate"}[${w}])) > 0`,
        `and on() max(signal_service_model_loaded_status) == 1`,
        `unless on() min(min_over_time(up{job="signal-service"}[${w}])) == 0`,
      ].join('\n');
    },
    sourceDelayS: () => 0,
    summary: 'Signal requests produce no signals',
    description: 'The signal service generated {{ $value }} signals in the last window although it has a model loaded and signal requests keep arriving.',
    runbook: {
      meaning: 'Clients keep asking for signals and a model is loaded, yet not a single actionable signal came out for a whole window.',
      impact: 'Orchestration runs have nothing to act on: no rebalancing, silently.',
      diagnosis: [
        'Service Health: signals generated vs signal requests by status. 5xx answers point at Redis (price history) — see SignalServiceRedisDisconnected.',
        '`redis-cli llen prices:<SYM>`: too little price history (fewer than the model\'s lookback) yields no signal for that symbol; check that market-data is feeding Redis (NoMarketData).',
      ],
      mitigation: ['Restore the price history path (Redis, market-data); activate a model whose lookback fits the available history.'],
      design:
        'The classic "no signals in 5 m" cannot page within a minute. Absence is gated on signal requests arriving (endpoint signals_generate), a model being loaded (SignalServiceModelNotLoaded covers the opposite) and the service being up for the whole window (SignalServiceDown covers an outage; a restart empties the counters).',
    },
    firing: () => [
      {
        name: 'requests keep arriving, signals stop',
        series: [
          series('signal_service_signals_generated_total', { ...SS, model_version: '1' }, samples().grow(8, BEFORE).hold(AFTER)),
          series('signal_service_requests_total', { ...SS, endpoint: 'signals_generate', status: '2xx' }, samples().grow(2, BEFORE).hold(AFTER)),
          series('signal_service_requests_total', { ...SS, endpoint: 'signals_generate', status: '5xx' }, samples().hold(BEFORE, 0).grow(2, AFTER)),
          series('signal_service_model_loaded_status', SS, samples().hold(TOTAL, 1)),
          upSeries(SS),
        ],
        faultAtS: FAULT_S,
        expect: [{ labels: {}, value: 0 }],
      },
    ],
    quiet: () => [
      {
        name: 'signals keep coming',
        series: [
          series('signal_service_signals_generated_total', { ...SS, model_version: '1' }, samples().grow(8, TOTAL)),
          series('signal_service_requests_total', { ...SS, endpoint: 'signals_generate', status: '2xx' }, samples().grow(2, TOTAL)),
          series('signal_service_model_loaded_status', SS, samples().hold(TOTAL, 1)),
          upSeries(SS),
        ],
        evalAtS: [60, 120, 175],
      },
      {
        name: 'nobody asks for signals',
        series: [
          series('signal_service_signals_generated_total', { ...SS, model_version: '1' }, samples().grow(8, BEFORE).hold(AFTER)),
          series('signal_service_requests_total', { ...SS, endpoint: 'signals_generate', status: '2xx' }, samples().grow(2, BEFORE).hold(AFTER)),
          series('signal_service_model_loaded_status', SS, samples().hold(TOTAL, 1)),
          upSeries(SS),
        ],
        evalAtS: [120, 175],
      },
      {
        name: 'no model loaded (SignalServiceModelNotLoaded covers it)',
        series: [
          series('signal_service_signals_generated_total', { ...SS, model_version: '1' }, samples().grow(8, BEFORE).hold(AFTER)),
          series('signal_service_requests_total', { ...SS, endpoint: 'signals_generate', status: '5xx' }, samples().grow(2, TOTAL)),
          series('signal_service_model_loaded_status', SS, samples().hold(BEFORE, 1).hold(AFTER, 0)),
          upSeries(SS),
        ],
        evalAtS: [120, 175],
      },
      {
        name: 'signal-service down (SignalServiceDown covers it)',
        series: [
          series('signal_service_signals_generated_total', { ...SS, model_version: '1' }, samples().grow(8, BEFORE).gap(AFTER)),
          series('signal_service_requests_total', { ...SS, endpoint: 'signals_generate', status: '2xx' }, samples().grow(2, BEFORE).gap(AFTER)),
          series('signal_service_model_loaded_status', SS, samples().hold(BEFORE, 1).gap(AFTER)),
          series('up', SS, samples().hold(BEFORE, 1).hold(AFTER, 0)),
        ],
        evalAtS: [90, 175],
      },
    ],
  },
  counterIncrease({
    name: 'SignalServiceModelReloadFailing',
    metric: 'signal_service_model_reload_total',
    labels: { ...SS, status: 'failure' },
    op: '>',
    service: 'signal-service',
    severity: 'medium',
    panel: 20,
    // The registry is polled every MODEL_POLL_MS (2 s); each poll of a broken active model counts one failure.
    sourceDelayS: 2,
    perSample: 2,
    summary: 'Model reloads are failing',
    what: 'failed model reloads',
    runbook: {
      meaning: 'The active model in the registry cannot be loaded (invalid kind or params); the service keeps serving the last good model.',
      impact: 'Signals come from an older model than the registry says is active; a model change has silently not taken effect.',
      diagnosis: ['`GET /models` shows the active row; `POST /models/reload` returns the validation error (422) naming the bad field.'],
      mitigation: ['Fix the model row (create a corrected version and activate it) or re-activate the previous good version.'],
    },
  }),
  counterIncrease({
    name: 'MarketDataReconnectStorm',
    metric: 'market_data_reconnect_attempts_total',
    labels: MD,
    op: '>',
    service: 'market-data',
    severity: 'medium',
    dependency: 'fake-alpaca',
    panel: 21,
    sourceDelayS: 0,
    perSample: 2,
    summary: 'Market data stream keeps reconnecting',
    what: 'stream reconnect attempts',
    runbook: {
      meaning: 'The market-data stream reconnected more times in one window than a healthy connection ever does: connections are dropped, refused, or go stale right after connecting.',
      impact: 'Quotes arrive in bursts with gaps; each reconnect costs an auth and a resubscribe.',
      diagnosis: ['Market-data log: close codes and errors per attempt. Alpaca limits connections per account; a second consumer with the same key causes exactly this.', 'In the harness: fake-alpaca `wsDrop` or `refuseConnections`.'],
      mitigation: ['Remove the cause of the drops (duplicate consumers, network, broker); backoff caps attempts at one per 5 s so the storm itself is harmless.'],
    },
  }),
  ratioAlert({
    name: 'MarketDataSubscriptionFailures',
    metric: 'market_data_subscription_requests_total',
    labels: MD,
    badStatus: 'failure',
    goodStatus: 'success',
    service: 'market-data',
    severity: 'medium',
    category: 'data-quality',
    dependency: 'fake-alpaca',
    panel: { dashboard: 'health', id: 22 },
    what: 'subscription requests',
    summary: 'Market data subscriptions are not confirmed',
    runbook: {
      meaning: 'Most subscribe/unsubscribe requests were not confirmed by the stream in time (status failure; invalid symbols are status invalid and do not count).',
      impact: 'Newly held or requested symbols get no quotes.',
      diagnosis: ['Usually the stream is down or silent: check MarketDataWebSocketDisconnected. `GET /subscriptions` on market-data lists what the stream confirmed.'],
      mitigation: ['Restore the stream; the service re-subscribes everything after reconnecting.'],
    },
  }),
  counterIncrease({
    name: 'MarketDataPositionSyncFailing',
    metric: 'market_data_position_syncs_total',
    labels: { ...MD, status: 'failure' },
    op: '>=',
    service: 'market-data',
    severity: 'medium',
    dependency: 'execution-gateway',
    panel: 23,
    // A sync runs every POSITION_SYNC_MS (5 s); the threshold counts failed rounds.
    sourceDelayS: 5,
    perSample: 1,
    summary: 'Market data cannot sync positions from the gateway',
    what: 'failed position syncs',
    runbook: {
      meaning: 'market-data\'s periodic GET /positions on the execution gateway fails round after round.',
      impact: 'Newly held symbols are not auto-subscribed, so their quotes (and the P&L marked from them) go stale.',
      diagnosis: ['`curl $EXECUTION_GATEWAY_URL/positions` from the market-data host; a 503 names the gateway dependency that is down. Inhibited while ExecutionGatewayDown fires.'],
      mitigation: ['Fix the gateway side; the next successful sync subscribes whatever is missing.'],
    },
  }),
];

interface CounterSpec {
  name: string;
  metric: string;
  labels: Record<string, string>;
  op: '>' | '>=';
  service: string;
  severity: Severity;
  dependency?: string;
  panel: number;
  sourceDelayS: number;
  perSample: number;
  summary: string;
  what: string;
  runbook: Runbook;
}

/** Events counted within the window crossing a threshold. */
function counterIncrease(s: CounterSpec): AlertDef {
  const matcher = Object.entries(s.labels)
    .filter(([k]) => k !== 'job' && k !== 'instance')
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const selector = matcher ? `${s.metric}{${matcher}}` : s.metric;
  return {
    name: s.name,
    category: 'data-quality',
    severity: s.severity,
    service: s.service,
    ...(s.dependency ? { dependency: s.dependency } : {}),
    panel: { dashboard: 'health', id: s.panel },
    thresholdUnit: 'count',
    expr: (t) => `sum(increase(${selector}[${windowOf(t, s.name)}])) ${s.op} ${numberOf(t, 'threshold', s.name)}`,
    sourceDelayS: () => s.sourceDelayS,
    summary: s.summary,
    description: `{{ $value }} ${s.what} in the last window.`,
    runbook: s.runbook,
    firing: (t) => {
      const windowSamples = seconds(windowOf(t, s.name)) / 5;
      const value = s.perSample * windowSamples;
      const threshold = numberOf(t, 'threshold', s.name);
      if (s.op === '>' ? value <= threshold : value < threshold) throw new Error(`${s.name}: the case's ${value} events per window no longer cross the threshold; raise perSample`);
      return [{ name: `${s.perSample} ${s.what} per scrape`, series: [series(s.metric, s.labels, samples().hold(BEFORE, 0).grow(s.perSample, AFTER))], faultAtS: FAULT_S, expect: [{ labels: {}, value }] }];
    },
    quiet: (t) => {
      const threshold = numberOf(t, 'threshold', s.name);
      // Just below the threshold within any window: a single event (or none, for a ">" 0 threshold).
      const below = s.op === '>' ? threshold : threshold - 1;
      return [
        { name: `no ${s.what}`, series: [series(s.metric, s.labels, samples().hold(TOTAL, 0))], evalAtS: [60, 120, 175] },
        ...(below > 0
          ? [{ name: `${below} ${s.what} (not above the threshold)`, series: [series(s.metric, s.labels, samples().hold(BEFORE, 0).grow(below, 1).hold(AFTER - 1))], evalAtS: [60, 65, 80] }]
          : []),
      ];
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Performance: p95 latency from histograms.

interface LatencySpec {
  name: string;
  metric: string;
  labels: Record<string, string>;
  service: string;
  severity: Severity;
  dependency?: string;
  panel: number;
  summary: string;
  what: string;
  runbook: Runbook;
}

/** Upper-bound multipliers for the case's slow bucket; the first whose p95 does not sit on a %.2f rounding tie is used. */
const SLOW_MULTIPLIERS = [2, 3, 4, 1.5];

function slowBucket(threshold: number): { upper: number; p95: number } {
  for (const m of SLOW_MULTIPLIERS) {
    const upper = threshold * m;
    const p95 = threshold + (upper - threshold) * 0.95;
    const frac = Math.abs(((p95 * 1000) % 10) - 5);
    if (frac > 0.01) return { upper, p95 };
  }
  throw new Error(`no slow bucket for threshold ${threshold} avoids a rounding tie; add a multiplier to SLOW_MULTIPLIERS`);
}

function latencyAlert(s: LatencySpec): AlertDef {
  return {
    name: s.name,
    category: 'performance',
    severity: s.severity,
    service: s.service,
    ...(s.dependency ? { dependency: s.dependency } : {}),
    panel: { dashboard: 'performance', id: s.panel },
    thresholdUnit: 'seconds',
    expr: (t) => {
      const w = windowOf(t, s.name);
      return [
        `histogram_quantile(0.95, sum by (le) (rate(${s.metric}_bucket[${w}]))) > ${numberOf(t, 'threshold', s.name)}`,
        `and on() sum(rate(${s.metric}_count[${w}])) > ${numberOf(t, 'minRate', s.name)}`,
      ].join('\n');
    },
    // A slow operation is observed only when it completes, i.e. at least `threshold` seconds after it started.
    sourceDelayS: (t) => numberOf(t, 'threshold', s.name),
    summary: s.summary,
    description: `p95 ${s.what} is {{ printf "%.2f" $value }} s over the last window.`,
    runbook: s.runbook,
    firing: (t) => {
      const thr = numberOf(t, 'threshold', s.name);
      const bounds = [thr / 8, thr / 4, thr / 2, thr];
      const slow = slowBucket(thr);
      bounds.push(slow.upper, Math.max(slow.upper, thr * 4) * 2);
      const phases: HistogramPhase[] = [
        { samples: BEFORE, observations: [[thr / 8, 10]] },
        { samples: AFTER, observations: [[slow.upper, 10]] },
      ];
      return [{ name: `every ${s.what.split(' ')[0]} lands above the threshold`, series: histogram(s.metric, s.labels, bounds, phases), faultAtS: FAULT_S, expect: [{ labels: {}, value: slow.p95 }] }];
    },
    quiet: (t) => {
      const thr = numberOf(t, 'threshold', s.name);
      const bounds = [thr / 8, thr / 4, thr / 2, thr, thr * 2, thr * 8];
      return [
        { name: 'fast throughout', series: histogram(s.metric, s.labels, bounds, [{ samples: TOTAL, observations: [[thr / 4, 10]] }]), evalAtS: [60, 120, 175] },
        {
          name: 'a few slow outliers (below 5%)',
          series: histogram(s.metric, s.labels, bounds, [
            { samples: BEFORE, observations: [[thr / 4, 40]] },
            { samples: AFTER, observations: [[thr / 4, 39], [thr * 2, 1]] },
          ]),
          evalAtS: [120, 175],
        },
        {
          name: 'slow but nearly idle (below minRate)',
          series: histogram(s.metric, s.labels, bounds, [
            { samples: BEFORE, observations: [] },
            { samples: 1, observations: [[thr * 2, 1]] },
            { samples: AFTER - 1, observations: [] },
          ]),
          evalAtS: [60, 65, 80],
        },
      ];
    },
  };
}

const performance: AlertDef[] = [
  latencyAlert({
    name: 'SlowOrderPlacement',
    metric: 'execution_gateway_order_placement_duration_seconds',
    labels: GW,
    service: 'execution-gateway',
    severity: 'high',
    panel: 1,
    summary: 'Order placement is slow',
    what: 'order placement time',
    runbook: {
      meaning: 'The 95th percentile of POST /orders handling time is above the threshold: persist, risk checks and broker submit (with retries) take too long.',
      impact: 'Orders reach the market late; at market prices that is slippage, and clients may time out and retry.',
      diagnosis: ['Performance dashboard: compare with SlowAlpacaRequests (broker side) and the Postgres/Redis connection panels (local side).', 'In the harness: fake-alpaca `latencyMs`, or latency on the Postgres, Redis or broker proxy.'],
      mitigation: ['Remove the slow dependency; if the broker is slow, consider tripping the circuit breaker rather than trading on delayed fills.'],
      design: 'A classic "p95 > 60 s" rule needs a minute of data and cannot page within a minute; p95 over a short window (thresholds.yaml) with a short `for` can, and the threshold sits at a histogram bucket boundary so the estimate is exact at the threshold.',
    },
  }),
  latencyAlert({
    name: 'SlowAlpacaRequests',
    metric: 'execution_gateway_alpaca_request_duration_seconds',
    labels: { ...GW, endpoint: 'orders' },
    service: 'execution-gateway',
    severity: 'medium',
    dependency: 'fake-alpaca',
    panel: 2,
    summary: 'Alpaca API requests are slow',
    what: 'Alpaca request time',
    runbook: {
      meaning: 'The 95th percentile of a single Alpaca API request (one attempt) is above the threshold.',
      impact: 'Order placement slows down with it; requests beyond ALPACA_TIMEOUT_MS turn into timeouts and retries.',
      diagnosis: ['Performance dashboard: broker request p95 by endpoint; fake-alpaca `latencyMs` or a broker proxy latency fault in the harness.'],
      mitigation: ['Usually external: watch the broker status page; reduce order rate or trip the circuit breaker while it lasts.'],
      design: 'Short-window p95 instead of a long one so it can fire within a minute (see SlowOrderPlacement).',
    },
  }),
  latencyAlert({
    name: 'SlowSignalGeneration',
    metric: 'signal_service_signal_generation_duration_seconds',
    labels: SS,
    service: 'signal-service',
    severity: 'medium',
    panel: 3,
    summary: 'Signal generation is slow',
    what: 'signal generation time',
    runbook: {
      meaning: 'The 95th percentile time to generate one signal set (read price history from Redis, score, rank, cache) is above the threshold.',
      impact: 'Orchestration runs take longer and may time out; signals are computed on prices that are older by the delay.',
      diagnosis: ['Redis latency is the usual cause (generation reads one list per symbol): check `redis-cli --latency` and the proxy in the harness.'],
      mitigation: ['Remove the Redis slowness; reduce the universe or the model lookback if the data volume grew.'],
      design: 'Short-window p95 instead of a long one so it can fire within a minute (see SlowOrderPlacement).',
    },
  }),
  latencyAlert({
    name: 'SlowOrchestration',
    metric: 'orchestrator_orchestration_duration_seconds',
    labels: OR,
    service: 'orchestrator',
    severity: 'medium',
    panel: 4,
    summary: 'Orchestration runs are slow',
    what: 'orchestration run time',
    runbook: {
      meaning: 'The 95th percentile wall time of an orchestration run (signals, sizing, orders, recording) is above the threshold.',
      impact: 'Rebalancing lags the signals; overlapping schedules may pile up.',
      diagnosis: ['Break the run down on the Performance dashboard: SlowSignalGeneration and SlowOrderPlacement show which step is slow; otherwise suspect the orchestrator\'s Postgres.'],
      mitigation: ['Fix the slow step; runs are idempotent, so a timed-out run can be repeated.'],
      design:
        'Runs happen every few seconds, so a window holds only a handful and p95 is close to the maximum; that is intended (one slow run in a short window is worth a look). A classic "p95 > 60 s" cannot fire within a minute.',
    },
  }),
];

export const CATALOG: readonly AlertDef[] = [...serviceHealth, ...trading, ...dataQuality, ...performance];

