// market-data's own prom-client registry and metrics (names fixed by docs/DESIGN "Metrics").
import { Counter, Gauge, Registry } from 'prom-client';
import { bucketsFor } from '../kit/buckets.ts';
import { RecordedHistogram, tuningRecorder } from '../kit/tuning.ts';

/** Closed set of stream message types; anything else is counted as "other". */
export const MESSAGE_TYPES = ['q', 't', 'b', 'success', 'subscription', 'error', 'other'] as const;
export const SUBSCRIPTION_STATUSES = ['success', 'invalid', 'failure'] as const;
export const SYNC_STATUSES = ['success', 'failure'] as const;

export type MarketDataMetrics = ReturnType<typeof createMarketDataMetrics>;

/** One set per service instance, so tests can run several instances in one process. */
export function createMarketDataMetrics() {
  const registry = new Registry();
  const m = {
    registry,
    subscriptionRequests: new Counter({
      name: 'market_data_subscription_requests_total',
      help: 'Subscribe/unsubscribe requests by outcome (success: confirmed by the stream; invalid: rejected with 400; failure: not confirmed).',
      labelNames: ['status'],
      registers: [registry],
    }),
    subscriptionDuration: new RecordedHistogram(
      {
        name: 'market_data_subscription_duration_seconds',
        help: 'Time from a subscription request to the stream confirming it (or giving up).',
        buckets: bucketsFor('market_data_subscription_duration_seconds'),
        registers: [registry],
      },
      tuningRecorder(registry),
    ),
    subscribedSymbols: new Gauge({
      name: 'market_data_subscribed_symbols_current',
      help: 'Symbols market-data is subscribed to and re-subscribes after every reconnect; whether quotes flow is market_data_websocket_connection_status.',
      registers: [registry],
    }),
    messagesReceived: new Counter({
      name: 'market_data_websocket_messages_received_total',
      help: 'Stream messages received, by Alpaca message type.',
      labelNames: ['message_type'],
      registers: [registry],
    }),
    positionSyncs: new Counter({
      name: 'market_data_position_syncs_total',
      help: 'Position syncs from the execution gateway, by outcome.',
      labelNames: ['status'],
      registers: [registry],
    }),
    wsConnectionStatus: new Gauge({
      name: 'market_data_websocket_connection_status',
      help: '1 while the stream is connected, authenticated and not stale; 0 otherwise.',
      registers: [registry],
    }),
    redisConnectionStatus: new Gauge({
      name: 'market_data_redis_connection_status',
      help: '1 while Redis answers PING; 0 otherwise.',
      registers: [registry],
    }),
    reconnectAttempts: new Counter({
      name: 'market_data_reconnect_attempts_total',
      help: 'Stream reconnect attempts after a lost, refused or stale connection.',
      registers: [registry],
    }),
  };
  // Zero every labelled series up front so rate() and absence checks see them from the first scrape.
  for (const t of MESSAGE_TYPES) m.messagesReceived.inc({ message_type: t }, 0);
  for (const s of SUBSCRIPTION_STATUSES) m.subscriptionRequests.inc({ status: s }, 0);
  for (const s of SYNC_STATUSES) m.positionSyncs.inc({ status: s }, 0);
  m.wsConnectionStatus.set(0);
  m.redisConnectionStatus.set(0);
  m.subscribedSymbols.set(0);
  return m;
}
