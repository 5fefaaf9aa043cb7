// The platform's shared facts, each written once: the well-known ports, the env vars that carry addresses from one
// program to another, the ticker pattern and the default universe. Import-free on purpose: the k6 scripts may import
// only k6 modules and files in load/scenarios, so they carry a generated copy (load/scenarios/lib/platform.ts, written by
// `npx tsx load/platform-copy.ts`; tests/k6-scripts.test.ts fails when it is stale). YAML that cannot import this
// (docker-compose.yml, alerts/prometheus.yml) is checked against it by tests/platform.test.ts.

/**
 * Where each listener is when ports are fixed: docker compose, the scrape targets of alerts/prometheus.yml, the
 * instance labels of the alerts' promtool cases, and the examples in error messages. The process stack picks free
 * ports instead.
 */
export const PORTS = {
  'execution-gateway': 8080,
  'signal-service': 8082,
  orchestrator: 8083,
  'market-data': 8084,
  'fake-alpaca': 8090,
  /** fake-alpaca's admin listener, which serves its /metrics too (broker faults never close it). */
  'fake-alpaca-admin': 8091,
  prometheus: 9090,
  alertmanager: 9093,
  grafana: 3000,
  /** The harness webhook as alerts/alertmanager.yml writes it: a placeholder stack/render.ts replaces. */
  'harness-webhook': 9099,
} as const;

/** The env var that gives a program the address of each thing it talks to: a dependency, or a service it calls. */
export const LINK_ENV = {
  postgres: 'DATABASE_URL',
  redis: 'REDIS_URL',
  /** The broker's REST API (Alpaca, or fake-alpaca). */
  broker: 'ALPACA_BASE_URL',
  /** The broker's market-data WebSocket stream. */
  brokerStream: 'ALPACA_DATA_WS_URL',
  'execution-gateway': 'EXECUTION_GATEWAY_URL',
  'signal-service': 'SIGNAL_SERVICE_URL',
  orchestrator: 'ORCHESTRATOR_URL',
  'market-data': 'MARKET_DATA_URL',
} as const;

/** A ticker symbol: an upper-case letter, then up to nine upper-case letters, digits or dots (BRK.B). */
export const TICKER = /^[A-Z][A-Z0-9.]{0,9}$/;

/** The universe the services trade and the load drives unless SYMBOLS says otherwise. */
export const DEFAULT_SYMBOLS = 'AAPL,MSFT,GOOGL,AMZN,NVDA,META,TSLA,JPM,V,SPY';
