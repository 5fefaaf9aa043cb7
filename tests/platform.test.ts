// services/kit/platform.ts is the one place for the well-known ports, the link env var names and the default universe;
// the YAML that cannot import it (alerts/prometheus.yml, docker-compose.yml) must agree with it.
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { loadGatewayConfig } from '../services/execution-gateway/config.ts';
import { loadFakeAlpacaConfig } from '../services/fake-alpaca/config.ts';
import { TICKER, DEFAULT_SYMBOLS, LINK_ENV, PORTS } from '../services/kit/platform.ts';
import { loadMarketDataConfig } from '../services/market-data/config.ts';
import { loadOrchestratorConfig } from '../services/orchestrator/config.ts';
import { loadSignalConfig } from '../services/signal-service/config.ts';

const test = suite('platform facts');
const ROOT = path.resolve(import.meta.dirname, '..');

interface ComposeService {
  environment?: Record<string, string>;
  ports?: string[];
}
const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const ADMIN_TOKEN = '0123456789abcdef0123456789abcdef';
/** A service's compose environment as compose interpolates it with ADMIN_TOKEN set and nothing else. */
function composeEnv(service: string): Record<string, string> {
  const env = compose.services[service]?.environment;
  if (!env) throw new Error(`docker-compose.yml has no environment for ${service}`);
  const interpolate = (v: string): string => String(v).replace(/\$\{(\w+)(?::?[-?]([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => (name === 'ADMIN_TOKEN' ? ADMIN_TOKEN : (fallback ?? '')));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(v)]));
}

/** Each service's config loader, and the port it read. */
const LOADERS: Record<string, (env: NodeJS.ProcessEnv) => unknown> = {
  'execution-gateway': loadGatewayConfig,
  'signal-service': loadSignalConfig,
  orchestrator: loadOrchestratorConfig,
  'market-data': loadMarketDataConfig,
  'fake-alpaca': loadFakeAlpacaConfig,
};

test('alerts/prometheus.yml scrapes each service, itself and Alertmanager, and reaches Alertmanager, on its port', () => {
  const prom = parse(fs.readFileSync(path.join(ROOT, 'alerts/prometheus.yml'), 'utf8')) as {
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
  };
  const scraped = Object.fromEntries(prom.scrape_configs.map((j) => [j.job_name, j.static_configs[0]!.targets[0]]));
  assert.equal(scraped, {
    'execution-gateway': `execution-gateway:${PORTS['execution-gateway']}`,
    'signal-service': `signal-service:${PORTS['signal-service']}`,
    orchestrator: `orchestrator:${PORTS.orchestrator}`,
    'market-data': `market-data:${PORTS['market-data']}`,
    'fake-alpaca': `fake-alpaca:${PORTS['fake-alpaca-admin']}`,
    prometheus: `prometheus:${PORTS.prometheus}`,
    alertmanager: `alertmanager:${PORTS.alertmanager}`,
  });
  assert.equal(prom.alerting.alertmanagers[0]!.static_configs[0]!.targets, [`alertmanager:${PORTS.alertmanager}`]);
});

test('docker compose runs each service on its port and publishes the ports people open', () => {
  for (const name of Object.keys(LOADERS)) {
    const config = LOADERS[name]!(composeEnv(name)) as { port?: number; PORT?: number };
    assert.is(config.port ?? config.PORT, PORTS[name as keyof typeof PORTS], `${name} PORT`);
  }
  assert.is(Number(composeEnv('fake-alpaca').ADMIN_PORT), PORTS['fake-alpaca-admin']);
  assert.is(Number(composeEnv('grafana').GF_SERVER_HTTP_PORT), PORTS.grafana);
  const published = (compose.services.net?.ports ?? []).map((p) => Number(p.split(':').at(-1)));
  for (const name of ['grafana', 'prometheus', 'alertmanager', 'execution-gateway', 'signal-service', 'orchestrator', 'market-data'] as const) {
    assert.ok(published.includes(PORTS[name]), `${name} port ${PORTS[name]} published`);
  }
});

test('each service\'s compose environment is a configuration its loader accepts, links under the LINK_ENV names', () => {
  for (const [name, load] of Object.entries(LOADERS)) load(composeEnv(name));
  const links = Object.values(LINK_ENV) as string[];
  for (const name of Object.keys(LOADERS)) {
    const named = Object.keys(composeEnv(name)).filter((k) => k.endsWith('_URL'));
    assert.equal(named.filter((k) => !links.includes(k)), [], `${name} is given an address under a name LINK_ENV lacks`);
  }
  const load = composeEnv('load');
  for (const service of ['execution-gateway', 'signal-service', 'orchestrator', 'market-data'] as const) {
    assert.is(new URL(load[LINK_ENV[service]]!).port, String(PORTS[service]), `load's ${LINK_ENV[service]}`);
  }
});

test('docker compose trades the default universe, every symbol a ticker', () => {
  for (const name of Object.keys(LOADERS)) assert.is(composeEnv(name).SYMBOLS, DEFAULT_SYMBOLS, name);
  assert.ok(DEFAULT_SYMBOLS.split(',').every((s) => TICKER.test(s)));
  assert.equal(['AAPL', 'BRK.B', 'aapl', '1X', 'TOOLONGTICKR'].map((s) => TICKER.test(s)), [true, true, false, false, false]);
});

test.run();
