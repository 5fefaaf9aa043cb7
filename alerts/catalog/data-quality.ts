// Data-quality alerts: market data or signals that stop arriving, failing model reloads, stream reconnect storms,
// unconfirmed subscriptions and failing position syncs.
import { windowOf, type AlertDef } from '../model.ts';
import { AFTER, BEFORE, FAULT_S, GW, MARKET_OPEN, MD, SS, TOTAL, counterIncrease, ratioAlert, scrapedThroughout, upSeries } from './builders.ts';
import { samples, series } from '../series.ts';

const MSG = 'market_data_websocket_messages_received_total';

export const DATA_QUALITY: readonly AlertDef[] = [
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
        ...scrapedThroughout('market-data', w),
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
        // Instant selectors still see the last values from before the gap; the counters have no samples to increase.
        name: 'Prometheus not scraping for 40 s (restarted), then scraping again',
        series: [
          series(MSG, { ...MD, message_type: 'q' }, samples().grow(25, BEFORE).missing(8).grow(25, AFTER - 8)),
          series('market_data_subscribed_symbols_current', MD, samples().hold(BEFORE, 5).missing(8).hold(AFTER - 8, 5)),
          series(MARKET_OPEN, GW, samples().hold(BEFORE, 1).missing(8).hold(AFTER - 8, 1)),
          series('up', MD, samples().hold(BEFORE, 1).missing(8).hold(AFTER - 8, 1)),
        ],
        evalAtS: [85, 95, 100, 105, 115],
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
        ...scrapedThroughout('signal-service', w),
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
