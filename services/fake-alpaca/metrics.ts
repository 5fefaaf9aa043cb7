// fake-alpaca's own metrics, on a registry per instance so several fakes can run in one test process.
import { Counter, Gauge, Registry } from 'prom-client';

export const FAULT_LABELS = [
  'latency',
  'error_rate',
  'rate_limit',
  'error_symbols',
  'reject_rate',
  'refuse_connections',
  'ws_drop',
  'ws_drop_after_auth',
  'ws_silent',
  'market_closed',
] as const;
export type FaultLabel = (typeof FAULT_LABELS)[number];

export interface FakeAlpacaMetrics {
  registry: Registry;
  requests: Counter<'endpoint' | 'status'>;
  orders: Counter<'status'>;
  streamClients: Gauge;
  faultActive: Gauge<'fault'>;
}

export function createFakeAlpacaMetrics(): FakeAlpacaMetrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'fake_alpaca_requests_total',
    help: 'REST requests served by fake-alpaca, by route template and HTTP status code.',
    labelNames: ['endpoint', 'status'] as const,
    registers: [registry],
  });
  const orders = new Counter({
    name: 'fake_alpaca_orders_total',
    help: 'Orders by the status they reached (accepted, new, filled, canceled, rejected).',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const streamClients = new Gauge({
    name: 'fake_alpaca_stream_clients',
    help: 'Open market-data stream WebSocket connections.',
    registers: [registry],
  });
  const faultActive = new Gauge({
    name: 'fake_alpaca_fault_active',
    help: 'Injected fault state: 1 while the fault is active, else 0.',
    labelNames: ['fault'] as const,
    registers: [registry],
  });
  // Every fault series exists from the start, so "0" is visible rather than absent.
  for (const fault of FAULT_LABELS) faultActive.set({ fault }, 0);
  return { registry, requests, orders, streamClients, faultActive };
}
