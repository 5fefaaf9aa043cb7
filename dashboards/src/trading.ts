// Trading Overview: orders, P&L and positions, signals and orchestration runs, subscriptions.
import { QueryVariableBuilder, VariableRefresh, VariableSort, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { alertPanel, buildDashboard, DATASOURCE, RATE_INTERVAL } from './common.ts';

/** Filters the per-symbol panels; "All" matches every symbol, including the "other" bucket. */
const symbolVariable = new QueryVariableBuilder('symbol')
  .label('Symbol')
  .datasource(DATASOURCE)
  .query({ query: 'label_values(execution_gateway_positions_current, symbol)', refId: 'PrometheusVariableQueryEditor-VariableQuery' })
  .refresh(VariableRefresh.OnTimeRangeChanged)
  .sort(VariableSort.AlphabeticalAsc)
  .multi(true)
  .includeAll(true)
  .allValue('.*')
  .current({ text: 'All', value: '$__all' });

const SYM = 'symbol=~"$symbol"';

export function tradingDashboard(): Dashboard {
  return buildDashboard({
    key: 'trading',
    description: 'Real-time trading: order flow and outcomes, P&L and positions, signals, orchestration runs, subscriptions.',
    tags: ['trading'],
    variables: [symbolVariable],
    sections: [
      {
        title: 'Orders',
        panels: [
          alertPanel('trading', 1, { unit: 'ops', legend: '{{status}}' }),
          alertPanel('trading', 2, { unit: 'percentunit', legend: '{{status}}', min: 0, max: 1 }),
          {
            id: 101,
            title: 'Orders by symbol and side',
            description: 'Orders per second by symbol and side (all statuses).',
            kind: 'timeseries',
            unit: 'ops',
            targets: [{ expr: `sum by (symbol, side) (rate(execution_gateway_orders_total{${SYM}}[${RATE_INTERVAL}]))`, legend: '{{symbol}} {{side}}' }],
          },
          alertPanel('trading', 3, { status: 'one-is-bad', unit: 'bool' }),
          alertPanel('trading', 5, { kind: 'stat', unit: 'suffix: orders' }),
          {
            id: 102,
            title: 'Market session',
            description: 'execution_gateway_market_open, from the broker clock; absence alerts are gated on it.',
            kind: 'stat',
            unit: 'bool',
            status: 'open-closed',
            targets: [{ expr: 'execution_gateway_market_open' }],
          },
          alertPanel('trading', 6, { unit: 'reqps', legend: '{{endpoint}} {{status}}', w: 12 }),
        ],
      },
      {
        title: 'P&L and positions',
        panels: [
          {
            id: 103,
            title: 'Total P&L',
            description: 'Realized plus unrealized P&L across all symbols (execution_gateway_pnl_total_dollars).',
            kind: 'stat',
            unit: 'currencyUSD',
            w: 6,
            h: 8,
            targets: [{ expr: 'execution_gateway_pnl_total_dollars' }],
          },
          {
            id: 104,
            title: 'P&L: realized, unrealized, total',
            description: 'The gateway values open positions at the latest market-data price.',
            kind: 'timeseries',
            unit: 'currencyUSD',
            w: 9,
            targets: [
              { expr: `sum(execution_gateway_pnl_realized_dollars{${SYM}})`, legend: 'realized' },
              { expr: `sum(execution_gateway_pnl_unrealized_dollars{${SYM}})`, legend: 'unrealized' },
              { expr: 'execution_gateway_pnl_total_dollars', legend: 'total (all symbols)' },
            ],
          },
          {
            id: 105,
            title: 'Unrealized P&L by symbol',
            description: 'Mark-to-market P&L of each open position.',
            kind: 'timeseries',
            unit: 'currencyUSD',
            w: 9,
            targets: [{ expr: `execution_gateway_pnl_unrealized_dollars{${SYM}}`, legend: '{{symbol}}' }],
          },
          {
            id: 106,
            title: 'Positions by symbol',
            description: 'Signed position per symbol (negative = short).',
            kind: 'timeseries',
            unit: 'suffix: shares',
            w: 12,
            targets: [{ expr: `execution_gateway_positions_current{${SYM}}`, legend: '{{symbol}}' }],
          },
          {
            id: 107,
            title: 'Orchestrator position adjustments',
            description: 'Orders the orchestrator submitted by outcome, and the adjustments the gateway accepted.',
            kind: 'timeseries',
            unit: 'ops',
            w: 12,
            targets: [
              { expr: `sum by (status) (rate(orchestrator_orders_submitted_total[${RATE_INTERVAL}]))`, legend: 'submitted {{status}}' },
              { expr: `sum(rate(orchestrator_positions_adjusted_total[${RATE_INTERVAL}]))`, legend: 'positions adjusted' },
            ],
          },
        ],
      },
      {
        title: 'Signals and orchestration',
        panels: [
          alertPanel('trading', 4, { unit: 'ops', legend: '{{status}}' }),
          {
            id: 108,
            title: 'Signals by model version',
            description: 'Actionable signals (non-zero target weight) per second, by the model version that produced them.',
            kind: 'timeseries',
            unit: 'ops',
            targets: [{ expr: `sum by (model_version) (rate(signal_service_signals_generated_total[${RATE_INTERVAL}]))`, legend: 'v{{model_version}}' }],
          },
          {
            id: 109,
            title: 'Signals received by the orchestrator',
            description: 'Signals the orchestrator received from the signal service per second.',
            kind: 'timeseries',
            unit: 'ops',
            targets: [{ expr: `sum(rate(orchestrator_signals_received_total[${RATE_INTERVAL}]))`, legend: 'received' }],
          },
        ],
      },
      {
        title: 'Subscriptions',
        panels: [
          {
            id: 110,
            title: 'Subscribed symbols',
            description: 'Quote symbols the market-data stream confirmed (market_data_subscribed_symbols_current).',
            kind: 'stat',
            unit: 'suffix: symbols',
            targets: [{ expr: 'market_data_subscribed_symbols_current' }],
          },
          {
            id: 111,
            title: 'Subscription changes by status',
            description: 'Subscribe and unsubscribe requests per second: success (stream confirmed), invalid, failure.',
            kind: 'timeseries',
            unit: 'reqps',
            w: 20,
            targets: [{ expr: `sum by (status) (rate(market_data_subscription_requests_total[${RATE_INTERVAL}]))`, legend: '{{status}}' }],
          },
        ],
      },
    ],
  });
}
