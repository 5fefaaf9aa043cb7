// Alerting Pipeline: Prometheus and Alertmanager watching themselves — rule evaluation, the link between them,
// config reloads, failed notifications and the scrape jobs; the heartbeat's end is the dead man's switch's to see.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { alertPanel, buildDashboard } from './common.ts';

export function alertingDashboard(): Dashboard {
  return buildDashboard({
    key: 'alerting',
    description: 'Can an alert get from a rule to a person: rules evaluate, Prometheus reaches Alertmanager, configs reload, receivers accept notifications, every scrape job is there.',
    tags: ['alerting'],
    sections: [
      {
        title: 'Prometheus',
        panels: [
          alertPanel('alerting', 1, { unit: 'short', legend: '{{rule_group}}' }),
          alertPanel('alerting', 2, { kind: 'stat', unit: 'short' }),
          alertPanel('alerting', 3, { unit: 'percentunit', legend: '{{alertmanager}}' }),
          alertPanel('alerting', 4, { unit: 'short', legend: 'dropped' }),
          alertPanel('alerting', 5, { status: 'up-is-good', unit: 'bool' }),
          alertPanel('alerting', 8, { unit: 'short', legend: '{{config}}' }),
        ],
      },
      {
        title: 'Alertmanager',
        panels: [
          alertPanel('alerting', 9, { status: 'up-is-good', unit: 'bool' }),
          alertPanel('alerting', 6, { status: 'up-is-good', unit: 'bool' }),
          alertPanel('alerting', 7, { unit: 'short', legend: '{{integration}}' }),
        ],
      },
    ],
  });
}
