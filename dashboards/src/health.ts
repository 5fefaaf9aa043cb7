// Service Health: processes up, each dependency link (Postgres, Redis, WebSocket, broker), circuit breaker, model, data flows.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { alertPanel, buildDashboard, RATE_INTERVAL } from './common.ts';

const up = (id: number) => alertPanel('health', id, { status: 'up-is-good', unit: 'bool' });

export function healthDashboard(): Dashboard {
  return buildDashboard({
    key: 'health',
    description: 'Is every process up, can each service reach what it depends on, and is data flowing through the platform.',
    tags: ['health'],
    sections: [
      { title: 'Processes', panels: [up(1), up(2), up(3), up(4), up(5), alertPanel('health', 17, { status: 'up-is-good', unit: 'bool' })] },
      {
        title: 'Dependencies',
        panels: [
          up(6),
          up(7),
          up(8),
          {
            id: 101,
            title: 'Circuit breaker',
            description: 'execution_gateway_circuit_breaker_status: 1 = tripped, every order is rejected (CircuitBreakerTripped).',
            kind: 'stat',
            unit: 'bool',
            status: 'one-is-bad',
            targets: [{ expr: 'execution_gateway_circuit_breaker_status' }],
          },
          up(9),
          up(10),
          up(11),
          up(12),
          up(13),
          up(14),
          up(15),
          alertPanel('health', 16, { status: 'up-is-good', unit: 'bool', extraTargets: [{ expr: 'signal_service_model_version', legend: 'version' }] }),
        ],
      },
      {
        title: 'Data flows',
        panels: [
          alertPanel('health', 18, { unit: 'ops', legend: '{{message_type}}' }),
          alertPanel('health', 19, {
            unit: 'ops',
            legend: 'signals generated',
            extraTargets: [{ expr: `sum(rate(signal_service_requests_total{endpoint="signals_generate"}[${RATE_INTERVAL}]))`, legend: 'signal requests' }],
          }),
          alertPanel('health', 20, { unit: 'short', legend: '{{status}}' }),
          alertPanel('health', 21, { unit: 'short', legend: 'reconnect attempts' }),
          alertPanel('health', 22, { unit: 'reqps', legend: '{{status}}' }),
          alertPanel('health', 23, { unit: 'short', legend: '{{status}}' }),
        ],
      },
    ],
  });
}
