// The execution gateway's prom-client registry and every metric it exposes (names are part of the alerting contract).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { bucketsFor } from '../kit/buckets.ts';
import { RecordedHistogram, tuningRecorder } from '../kit/tuning.ts';

/**
 * The outcome of one order, counted once (docs/contracts.md "execution-gateway"): the broker's first decision
 * (filled, accepted, rejected) when the order leaves pending_submit, or the gateway's refusal of a placement that
 * was never recorded (risk_rejected, failed). An order waiting in pending_submit is not counted yet.
 */
export const ORDER_STATUSES = ['filled', 'accepted', 'rejected', 'risk_rejected', 'failed'] as const;
export type OrderOutcome = (typeof ORDER_STATUSES)[number];
/** POST /orders with a client_order_id already used: the same order again (replayed) or different fields (conflict). */
export const REPLAY_RESULTS = ['replayed', 'conflict'] as const;
export type ReplayResult = (typeof REPLAY_RESULTS)[number];
export const SIDES = ['buy', 'sell'] as const;
export const ALPACA_ENDPOINTS = ['orders', 'order_lookup', 'account', 'clock', 'positions'] as const;
export type AlpacaEndpoint = (typeof ALPACA_ENDPOINTS)[number];
/** '429' is the broker's rate limit, kept apart from '4xx' (the rejections): it is retried, and it is not about the order. */
export const ALPACA_STATUSES = ['2xx', '4xx', '429', '5xx', 'timeout', 'error'] as const;
export type AlpacaStatus = (typeof ALPACA_STATUSES)[number];

/** Placement spans a local fill (~5 ms) to a submit with retries (~2 s); boundaries live in services/buckets.json (the tuner rewrites them). */
export const PLACEMENT_BUCKETS = bucketsFor('execution_gateway_order_placement_duration_seconds');
/** One broker round trip: loopback fake-alpaca answers in ~1 ms, a real one in 10-300 ms, a timeout at ALPACA_TIMEOUT_MS. */
export const ALPACA_REQUEST_BUCKETS = bucketsFor('execution_gateway_alpaca_request_duration_seconds');

export interface GatewayMetrics {
  registry: Registry;
  /** Universe symbols plus "other": the only values the symbol label takes. */
  symbolLabels: readonly string[];
  ordersTotal: Counter<'symbol' | 'side' | 'status'>;
  orderReplays: Counter<'result'>;
  placementDuration: Histogram<string>;
  positionsCurrent: Gauge<'symbol'>;
  alpacaRequests: Counter<'endpoint' | 'status'>;
  alpacaRequestDuration: Histogram<'endpoint'>;
  databaseStatus: Gauge<string>;
  alpacaStatus: Gauge<string>;
  redisStatus: Gauge<string>;
  circuitBreakerStatus: Gauge<string>;
  ordersPendingSubmit: Gauge<string>;
  marketOpen: Gauge<string>;
  pnlRealized: Gauge<'symbol'>;
  pnlUnrealized: Gauge<'symbol'>;
  pnlTotal: Gauge<string>;
  backgroundRounds: Counter<string>;
}

/** One registry per gateway instance, so several gateways (a restart in a test) never share counters. */
export function createGatewayMetrics(symbols: readonly string[]): GatewayMetrics {
  const registry = new Registry();
  const symbolLabels = [...symbols, 'other'];
  const registers = [registry];
  const exact = tuningRecorder(registry);
  const m: GatewayMetrics = {
    registry,
    symbolLabels,
    ordersTotal: new Counter({
      name: 'execution_gateway_orders_total',
      help: 'Orders by outcome, each counted once: the broker\'s first decision, or the gateway\'s refusal; by symbol (universe or "other"), side and status.',
      labelNames: ['symbol', 'side', 'status'],
      registers,
    }),
    orderReplays: new Counter({
      name: 'execution_gateway_order_replays_total',
      help: 'POST /orders with a client_order_id already used: replayed (same order, answered 200) or conflict (different fields, 409).',
      labelNames: ['result'],
      registers,
    }),
    placementDuration: new RecordedHistogram(
      {
        name: 'execution_gateway_order_placement_duration_seconds',
        help: 'Time to handle POST /orders, on every path including errors.',
        buckets: PLACEMENT_BUCKETS,
        registers,
      },
      exact,
    ),
    positionsCurrent: new Gauge({
      name: 'execution_gateway_positions_current',
      help: 'Signed position quantity by symbol ("other" sums symbols outside the universe).',
      labelNames: ['symbol'],
      registers,
    }),
    alpacaRequests: new Counter({
      name: 'execution_gateway_alpaca_api_requests_total',
      help: 'Broker API requests by endpoint and outcome (status class, timeout, or connection error).',
      labelNames: ['endpoint', 'status'],
      registers,
    }),
    alpacaRequestDuration: new RecordedHistogram(
      {
        name: 'execution_gateway_alpaca_request_duration_seconds',
        help: 'Duration of one broker API request (one attempt), by endpoint.',
        labelNames: ['endpoint'],
        buckets: ALPACA_REQUEST_BUCKETS,
        registers,
      },
      exact,
    ),
    databaseStatus: new Gauge({ name: 'execution_gateway_database_connection_status', help: '1 if Postgres answered the last probe, else 0.', registers }),
    alpacaStatus: new Gauge({ name: 'execution_gateway_alpaca_connection_status', help: '1 if the broker answered the last probe without a 5xx, else 0.', registers }),
    redisStatus: new Gauge({ name: 'execution_gateway_redis_connection_status', help: '1 if Redis answered the last probe, else 0.', registers }),
    circuitBreakerStatus: new Gauge({ name: 'execution_gateway_circuit_breaker_status', help: '1 if the trading circuit breaker is tripped, else 0.', registers }),
    ordersPendingSubmit: new Gauge({ name: 'execution_gateway_orders_pending_submit', help: 'Orders accepted but not yet submitted to the broker.', registers }),
    marketOpen: new Gauge({ name: 'execution_gateway_market_open', help: '1 if the broker clock says the market is open, else 0.', registers }),
    pnlRealized: new Gauge({ name: 'execution_gateway_pnl_realized_dollars', help: 'Realized P&L in dollars by symbol.', labelNames: ['symbol'], registers }),
    pnlUnrealized: new Gauge({ name: 'execution_gateway_pnl_unrealized_dollars', help: 'Unrealized P&L in dollars by symbol, marked at the Redis quote.', labelNames: ['symbol'], registers }),
    pnlTotal: new Gauge({ name: 'execution_gateway_pnl_total_dollars', help: 'Realized plus unrealized P&L in dollars over all symbols.', registers }),
    backgroundRounds: new Counter({
      name: 'execution_gateway_background_rounds_total',
      help: 'Finished rounds of the background loop (resubmit pending orders, sync open ones, refresh the position and P&L gauges).',
      registers,
    }),
  };
  // Every series exists from the start, so rate() and absence checks see zeros instead of missing data.
  for (const symbol of symbolLabels) {
    for (const side of SIDES) for (const status of ORDER_STATUSES) m.ordersTotal.inc({ symbol, side, status }, 0);
    m.positionsCurrent.set({ symbol }, 0);
    m.pnlRealized.set({ symbol }, 0);
    m.pnlUnrealized.set({ symbol }, 0);
  }
  for (const result of REPLAY_RESULTS) m.orderReplays.inc({ result }, 0);
  for (const endpoint of ALPACA_ENDPOINTS) {
    for (const status of ALPACA_STATUSES) m.alpacaRequests.inc({ endpoint, status }, 0);
    m.alpacaRequestDuration.zero({ endpoint });
  }
  for (const g of [m.databaseStatus, m.alpacaStatus, m.redisStatus, m.circuitBreakerStatus, m.ordersPendingSubmit, m.marketOpen, m.pnlTotal]) g.set(0);
  return m;
}
