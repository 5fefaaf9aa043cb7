// Trading alerts: order rejections and failures, broker errors and rate limits, no orders, the circuit breaker, failing
// orchestration runs and orders stuck unsubmitted.
import { numberOf, windowOf, type AlertDef } from '../model.ts';
import { AFTER, BEFORE, FAULT_S, GW, MARKET_OPEN, OR, TOTAL, ratioAlert, scrapedThroughout, upSeries } from './builders.ts';
import { samples, series } from '../series.ts';

/** Order requests the gateway received, whatever became of them: the kit's RED counter for POST /orders. */
const ORDER_REQUESTS_METRIC = 'execution_gateway_http_requests_total';
const ORDER_REQUEST_LABELS = { ...GW, method: 'POST', route: '/orders', status_class: '2xx' };
const ORDER_REQUESTS = `${ORDER_REQUESTS_METRIC}{method="POST",route="/orders"}`;

export const TRADING: readonly AlertDef[] = [
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
        ...scrapedThroughout('execution-gateway', w),
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
