// Counts each order once on execution_gateway_orders_total, and replays on their own counter (docs/contracts.md).
import { boundedLabel } from '../kit/labels.ts';
import type { GatewayMetrics, OrderOutcome, ReplayResult } from './metrics.ts';
import type { Order, StoredStatus } from './store.ts';

export interface OrderOutcomes {
  /** The order left pending_submit (OrderStore's onDecided): the broker's first decision, or a local fill or rejection. */
  decided(order: Pick<Order, 'symbol' | 'side' | 'status'>): void;
  /** A placement refused before anything was recorded: the order never existed, so this is its only count. */
  refused(order: Pick<Order, 'symbol' | 'side'>, outcome: Extract<OrderOutcome, 'risk_rejected' | 'failed'>): void;
  replayed(result: ReplayResult): void;
}

function outcomeOfStatus(status: Exclude<StoredStatus, 'pending_submit'>): OrderOutcome {
  // A broker that cancels an order before it ever rested refused it: for the ratio alerts that is a rejection.
  return status === 'canceled' ? 'rejected' : status;
}

export function orderOutcomes(metrics: GatewayMetrics, symbols: readonly string[]): OrderOutcomes {
  const universe = new Set(symbols);
  const count = (order: Pick<Order, 'symbol' | 'side'>, status: OrderOutcome): void => {
    metrics.ordersTotal.inc({ symbol: boundedLabel(order.symbol, universe), side: order.side, status });
  };
  return {
    decided(order) {
      if (order.status !== 'pending_submit') count(order, outcomeOfStatus(order.status));
    },
    refused: count,
    replayed(result) {
      metrics.orderReplays.inc({ result });
    },
  };
}
