// The order state machine: the stored statuses, what Alpaca's statuses mean in them, and which reports may move an order.

/**
 * pending_submit -> accepted -> filled | canceled | rejected. A partial fill is `accepted` with 0 < filled_qty < qty:
 * the broker may still fill the rest, so the order stays open (it counts as exposure and is synced).
 */
export const STORED_STATUSES = ['pending_submit', 'accepted', 'filled', 'canceled', 'rejected'] as const;
export type StoredStatus = (typeof STORED_STATUSES)[number];

/** Position in the lifecycle; the terminal statuses share the last one, so none of them follows another. */
const STAGE: Record<StoredStatus, number> = { pending_submit: 0, accepted: 1, filled: 2, canceled: 2, rejected: 2 };

export const isTerminal = (status: StoredStatus): boolean => STAGE[status] === STAGE.filled;

/**
 * Alpaca's order statuses (Alpaca docs, "Order Lifecycle") by what they mean here. Only filled, canceled, expired,
 * replaced and rejected are final at Alpaca; done_for_day, calculated, stopped, held and the pending_* ones may still fill.
 */
const FROM_ALPACA: Readonly<Record<string, StoredStatus>> = {
  filled: 'filled',
  canceled: 'canceled',
  expired: 'canceled',
  replaced: 'canceled',
  rejected: 'rejected',
};

/** Any status Alpaca may add later is treated as still open: the sync keeps asking until it hears a final one. */
export const fromAlpacaStatus = (status: string): StoredStatus => FROM_ALPACA[status] ?? 'accepted';

export interface OrderState {
  status: StoredStatus;
  filled_qty: number;
}

export interface Transition extends OrderState {
  /** The report moved the status forward, so its reject reason belongs to the order. */
  advanced: boolean;
  /** The report knows of more filled shares, so its average price is the newer one. */
  filledMore: boolean;
}

/**
 * The state after a report (a broker answer, a sync, a local fill) about an order in `current`. Reports can arrive
 * late and out of order (a submit's answer after the sync saw the fill), so only forward moves apply: the status
 * only advances, filled_qty only grows, and a terminal order never changes.
 */
export function nextOrderState(current: OrderState, report: OrderState): Transition {
  if (isTerminal(current.status)) return { ...current, advanced: false, filledMore: false };
  const advanced = STAGE[report.status] > STAGE[current.status];
  const filledMore = report.filled_qty > current.filled_qty;
  return {
    status: advanced ? report.status : current.status,
    filled_qty: filledMore ? report.filled_qty : current.filled_qty,
    advanced,
    filledMore,
  };
}
