// orchestrator's own prom-client registry and metrics (names fixed by docs/DESIGN "Metrics").
import { Counter, Gauge, Registry } from 'prom-client';
import { bucketsFor } from '../kit/buckets.ts';
import { RecordedHistogram, tuningRecorder } from '../kit/tuning.ts';

export const RUN_STATUSES = ['completed', 'partial', 'failed'] as const;
/** accepted: 200/201; pending: 202 (gateway kept it, broker down); rejected: 4xx; failed: gateway unreachable or 5xx. */
export const ORDER_STATUSES = ['accepted', 'pending', 'rejected', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export type OrchestratorMetrics = ReturnType<typeof createOrchestratorMetrics>;

/** One set per service instance, so tests can run several instances in one process. */
export function createOrchestratorMetrics() {
  const registry = new Registry();
  const m = {
    registry,
    runs: new Counter({ name: 'orchestrator_runs_total', help: 'Orchestration runs by final status.', labelNames: ['status'], registers: [registry] }),
    duration: new RecordedHistogram(
      {
        name: 'orchestrator_orchestration_duration_seconds',
        help: 'Wall time of one run: signals, sizing, order submission and recording.',
        buckets: bucketsFor('orchestrator_orchestration_duration_seconds'),
        registers: [registry],
      },
      tuningRecorder(registry),
    ),
    signalsReceived: new Counter({ name: 'orchestrator_signals_received_total', help: 'Signals received from the signal service.', registers: [registry] }),
    ordersSubmitted: new Counter({
      name: 'orchestrator_orders_submitted_total',
      help: 'Orders sent to the execution gateway, by outcome.',
      labelNames: ['status'],
      registers: [registry],
    }),
    positionsAdjusted: new Counter({
      name: 'orchestrator_positions_adjusted_total',
      help: 'Position adjustments the gateway accepted (one per accepted or pending order).',
      registers: [registry],
    }),
    dbStatus: new Gauge({ name: 'orchestrator_database_connection_status', help: '1 while Postgres answers; 0 otherwise.', registers: [registry] }),
    signalServiceAvailable: new Gauge({
      name: 'orchestrator_signal_service_available',
      help: '1 while the signal service answers GET /health; 0 otherwise.',
      registers: [registry],
    }),
    gatewayAvailable: new Gauge({
      name: 'orchestrator_execution_gateway_available',
      help: '1 while the execution gateway answers GET /health; 0 otherwise.',
      registers: [registry],
    }),
  };
  // Zero every labelled series up front so rate() and absence checks see them from the first scrape.
  for (const s of RUN_STATUSES) m.runs.inc({ status: s }, 0);
  for (const s of ORDER_STATUSES) m.ordersSubmitted.inc({ status: s }, 0);
  m.dbStatus.set(0);
  m.signalServiceAvailable.set(0);
  m.gatewayAvailable.set(0);
  return m;
}
