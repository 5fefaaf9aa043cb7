// Performance: p50/p95/p99 of order placement, signal generation, orchestration and subscription; request rates; client vs server latency.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { alertPanel, buildDashboard, quantiles, RATE_INTERVAL } from './common.ts';

export function performanceDashboard(): Dashboard {
  return buildDashboard({
    key: 'performance',
    description: 'Server-side latency quantiles from the services\' histograms, request rates, and the load generator\'s client-side view.',
    tags: ['performance'],
    sections: [
      {
        title: 'Alerted latencies (p95)',
        panels: [
          alertPanel('performance', 1, { unit: 's', legend: 'p95', w: 6 }),
          alertPanel('performance', 2, { unit: 's', legend: '{{endpoint}}', w: 6 }),
          alertPanel('performance', 3, { unit: 's', legend: 'p95', w: 6 }),
          alertPanel('performance', 4, { unit: 's', legend: 'p95', w: 6 }),
        ],
      },
      {
        title: 'Latency quantiles',
        panels: [
          { id: 101, title: 'Order placement p50/p95/p99', description: 'POST /orders on the gateway, persisted and submitted.', kind: 'timeseries', unit: 's', w: 12, targets: quantiles('execution_gateway_order_placement_duration_seconds') },
          { id: 102, title: 'Signal generation p50/p95/p99', description: 'POST /signals on the signal service.', kind: 'timeseries', unit: 's', w: 12, targets: quantiles('signal_service_signal_generation_duration_seconds') },
          { id: 103, title: 'Orchestration run p50/p95/p99', description: 'One orchestrator run: signals, sizing, order deltas, gateway calls.', kind: 'timeseries', unit: 's', w: 12, targets: quantiles('orchestrator_orchestration_duration_seconds') },
          { id: 104, title: 'Subscription p50/p95/p99', description: 'Market-data subscription changes until the stream confirms them.', kind: 'timeseries', unit: 's', w: 12, targets: quantiles('market_data_subscription_duration_seconds') },
        ],
      },
      {
        title: 'Request rates',
        panels: [
          {
            id: 105,
            title: 'Requests per second by service',
            description: 'Orders, signal-service requests, orchestration runs and subscription changes per second.',
            kind: 'timeseries',
            unit: 'reqps',
            w: 12,
            targets: [
              { expr: `sum(rate(execution_gateway_orders_total[${RATE_INTERVAL}]))`, legend: 'gateway orders' },
              { expr: `sum by (endpoint) (rate(signal_service_requests_total[${RATE_INTERVAL}]))`, legend: 'signal-service {{endpoint}}' },
              { expr: `sum(rate(orchestrator_runs_total[${RATE_INTERVAL}]))`, legend: 'orchestrator runs' },
              { expr: `sum(rate(market_data_subscription_requests_total[${RATE_INTERVAL}]))`, legend: 'market-data subscriptions' },
              { expr: `sum(rate(execution_gateway_alpaca_api_requests_total[${RATE_INTERVAL}]))`, legend: 'gateway -> broker' },
            ],
          },
          {
            id: 106,
            title: 'Load generator requests by flow and status',
            description: 'Client-side request rate of the load generator (scrape job loadgen); empty when no load runs.',
            kind: 'timeseries',
            unit: 'reqps',
            w: 12,
            targets: [{ expr: `sum by (flow, status) (rate(loadgen_http_requests_total[${RATE_INTERVAL}]))`, legend: '{{flow}} {{status}}' }],
          },
        ],
      },
      {
        title: 'Client-side vs server-side',
        panels: [
          {
            id: 107,
            title: 'Order placement p95: client vs server',
            description: 'The load generator\'s measured p95 of the orders flow next to the gateway\'s histogram estimate; the gap is network, queueing and client overhead.',
            kind: 'timeseries',
            unit: 's',
            w: 12,
            targets: [
              { expr: `histogram_quantile(0.95, sum by (le) (rate(loadgen_http_request_duration_seconds_bucket{flow="orders"}[${RATE_INTERVAL}])))`, legend: 'client (load generator) p95' },
              { expr: `histogram_quantile(0.95, sum by (le) (rate(execution_gateway_order_placement_duration_seconds_bucket[${RATE_INTERVAL}])))`, legend: 'server (gateway) p95' },
            ],
          },
          {
            id: 108,
            title: 'Client-side p95 by flow',
            description: 'Load generator request duration p95 per flow (k6-style http_req_duration).',
            kind: 'timeseries',
            unit: 's',
            w: 12,
            targets: quantiles('loadgen_http_request_duration_seconds', ['flow'], [0.95]),
          },
        ],
      },
    ],
  });
}
