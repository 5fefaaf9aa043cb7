// Performance alerts: p95 latency of order placement, broker requests, signal generation and orchestration runs.
import type { AlertDef } from '../model.ts';
import { GW, OR, SS, latencyAlert } from './builders.ts';

export const PERFORMANCE: readonly AlertDef[] = [
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
