// The client-side SLO as k6 thresholds: what users of the platform may expect at baseline load.
import type { Threshold } from 'k6/options';

export type Thresholds = Record<string, Threshold[]>;

/**
 * Latency budgets per flow. Orders are the money path (p95 250 ms, p99 500 ms incl. the broker round trip);
 * a run chains signals, positions and several orders, so it gets 4x; reads from Postgres/Redis are fast.
 */
export const BASELINE_SLO: Readonly<Thresholds> = {
  http_req_failed: ['rate<0.01'],
  checks: ['rate>0.99'],
  dropped_iterations: ['count<1'],
  'http_req_duration{flow:orders,name:place_order}': ['p(95)<250', 'p(99)<500'],
  'http_req_duration{flow:runs}': ['p(95)<1000', 'p(99)<2000'],
  'http_req_duration{flow:signals}': ['p(95)<200', 'p(99)<400'],
  'http_req_duration{flow:subscriptions}': ['p(95)<500', 'p(99)<1000'],
  'http_req_duration{flow:positions}': ['p(95)<150', 'p(99)<300'],
  'http_req_duration{flow:pnl}': ['p(95)<150', 'p(99)<300'],
};
