// Grafana panels the alerts link to (dashboard_url): ids, titles and the query each panel should show.
// The dashboards helper builds dashboards/src from alerts/panels.yaml, which the generator writes from this table.
import { ALWAYS_FIRING } from './catalog/index.ts';
import type { DashboardKey } from './model.ts';
import { anyOf } from './promql.ts';

export interface Panel {
  id: number;
  title: string;
  query: string;
}

export const PANELS: Record<DashboardKey, Panel[]> = {
  health: [
    { id: 1, title: 'Execution gateway up', query: 'up{job="execution-gateway"}' },
    { id: 2, title: 'Signal service up', query: 'up{job="signal-service"}' },
    { id: 3, title: 'Orchestrator up', query: 'up{job="orchestrator"}' },
    { id: 4, title: 'Market data up', query: 'up{job="market-data"}' },
    { id: 5, title: 'Broker (fake Alpaca) up', query: 'up{job="fake-alpaca"}' },
    { id: 6, title: 'Gateway: Postgres', query: 'execution_gateway_database_connection_status' },
    { id: 7, title: 'Gateway: Redis', query: 'execution_gateway_redis_connection_status' },
    { id: 8, title: 'Gateway: Alpaca API', query: 'execution_gateway_alpaca_connection_status' },
    { id: 9, title: 'Signal service: Postgres', query: 'signal_service_database_connection_status' },
    { id: 10, title: 'Signal service: Redis', query: 'signal_service_redis_connection_status' },
    { id: 11, title: 'Orchestrator: Postgres', query: 'orchestrator_database_connection_status' },
    { id: 12, title: 'Orchestrator: signal service reachable', query: 'orchestrator_signal_service_available' },
    { id: 13, title: 'Orchestrator: execution gateway reachable', query: 'orchestrator_execution_gateway_available' },
    { id: 14, title: 'Market data: WebSocket stream', query: 'market_data_websocket_connection_status' },
    { id: 15, title: 'Market data: Redis', query: 'market_data_redis_connection_status' },
    { id: 16, title: 'Model loaded and version', query: 'signal_service_model_loaded_status' },
    { id: 17, title: `Alerting heartbeat (${ALWAYS_FIRING.join(', ')})`, query: `ALERTS{${anyOf('alertname', ALWAYS_FIRING)}}` },
    { id: 18, title: 'Stream messages by type', query: 'sum by (message_type) (rate(market_data_websocket_messages_received_total[20s]))' },
    { id: 19, title: 'Signals generated vs signal requests', query: 'sum(rate(signal_service_signals_generated_total[20s]))' },
    { id: 20, title: 'Model reloads by status', query: 'sum by (status) (increase(signal_service_model_reload_total[20s]))' },
    { id: 21, title: 'Stream reconnect attempts', query: 'increase(market_data_reconnect_attempts_total[20s])' },
    { id: 22, title: 'Subscription requests by status', query: 'sum by (status) (rate(market_data_subscription_requests_total[20s]))' },
    { id: 23, title: 'Position syncs by status', query: 'sum by (status) (increase(market_data_position_syncs_total[20s]))' },
  ],
  trading: [
    { id: 1, title: 'Orders by status', query: 'sum by (status) (rate(execution_gateway_orders_total[20s]))' },
    { id: 2, title: 'Rejected and failed share of orders', query: 'sum by (status) (rate(execution_gateway_orders_total{status=~"rejected|failed"}[20s])) / ignoring(status) group_left sum(rate(execution_gateway_orders_total[20s]))' },
    { id: 3, title: 'Circuit breaker', query: 'execution_gateway_circuit_breaker_status' },
    { id: 4, title: 'Orchestration runs by status', query: 'sum by (status) (rate(orchestrator_runs_total[20s]))' },
    { id: 5, title: 'Orders pending submit', query: 'execution_gateway_orders_pending_submit' },
    { id: 6, title: 'Alpaca API requests by endpoint and status', query: 'sum by (endpoint, status) (rate(execution_gateway_alpaca_api_requests_total[20s]))' },
  ],
  alerting: [
    { id: 1, title: 'Rule evaluation failures by group', query: 'sum by (rule_group) (increase(prometheus_rule_evaluation_failures_total[20s]))' },
    { id: 2, title: 'Alertmanagers Prometheus sends to', query: 'prometheus_notifications_alertmanagers_discovered' },
    { id: 3, title: 'Failed share of alert sends by Alertmanager', query: 'sum by (alertmanager) (rate(prometheus_notifications_errors_total[20s])) / sum by (alertmanager) (rate(prometheus_notifications_sent_total[20s]))' },
    { id: 4, title: 'Alerts dropped by Prometheus', query: 'sum(increase(prometheus_notifications_dropped_total[20s]))' },
    { id: 5, title: 'Prometheus config reload ok', query: 'prometheus_config_last_reload_successful' },
    { id: 6, title: 'Alertmanager config reload ok', query: 'alertmanager_config_last_reload_successful' },
    { id: 7, title: 'Failed notifications by integration', query: 'sum by (integration) (increase(alertmanager_notifications_failed_total[20s]))' },
    { id: 8, title: 'Discovered targets by scrape job', query: 'max by (config) (prometheus_sd_discovered_targets{name="scrape"})' },
    { id: 9, title: 'Alertmanager up', query: 'up{job="alertmanager"}' },
  ],
  performance: [
    { id: 1, title: 'Order placement p95', query: 'histogram_quantile(0.95, sum by (le) (rate(execution_gateway_order_placement_duration_seconds_bucket[20s])))' },
    { id: 2, title: 'Alpaca request p95 by endpoint', query: 'histogram_quantile(0.95, sum by (le, endpoint) (rate(execution_gateway_alpaca_request_duration_seconds_bucket[20s])))' },
    { id: 3, title: 'Signal generation p95', query: 'histogram_quantile(0.95, sum by (le) (rate(signal_service_signal_generation_duration_seconds_bucket[20s])))' },
    { id: 4, title: 'Orchestration run p95', query: 'histogram_quantile(0.95, sum by (le) (rate(orchestrator_orchestration_duration_seconds_bucket[20s])))' },
  ],
};
