// alerts/alertmanager-config.ts: the dead-man's switch route and the inhibit rules of alerts/alertmanager.yml come from
// the catalog (alwaysFiring, serviceDown, dependency), the rest from alerts/alertmanager.template.yml.
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { alertmanagerConfig } from '../alerts/alertmanager-config.ts';
import { CATALOG } from '../alerts/catalog/index.ts';
import { ALERTS_DIR, type AlertDef } from '../alerts/model.ts';

const test = suite('alerts alertmanager config');
const TEMPLATE = fs.readFileSync(path.join(ALERTS_DIR, 'alertmanager.template.yml'), 'utf8');

interface Config {
  route: { routes: Array<{ matchers: string[]; receiver: string }> };
  inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[]; equal: string[] }>;
}
const render = (catalog: readonly AlertDef[]): Config => parse(alertmanagerConfig(TEMPLATE, catalog)) as Config;
const defOf = (name: string): AlertDef => CATALOG.find((d) => d.name === name)!;

test('routes the always-firing alerts to the watchdog receiver and inhibits from every Down alert', () => {
  const config = render(CATALOG);
  assert.equal(config.route.routes[0], { ...config.route.routes[0]!, matchers: ['alertname="Watchdog"'], receiver: 'watchdog' });
  const [own, ...dependants] = config.inhibit_rules;
  const down = 'ExecutionGatewayDown|SignalServiceDown|OrchestratorDown|MarketDataDown|FakeAlpacaDown|AlertmanagerDown';
  assert.equal(own, { source_matchers: [`alertname=~"${down}"`], target_matchers: [`alertname!~"${down}|Watchdog"`], equal: ['service', 'run_id'] });
  // Only the services some alert names as its dependency get a rule of their own, in the catalog's order.
  assert.equal(dependants.map((r) => [r.source_matchers, r.target_matchers, r.equal]), [
    [['alertname="ExecutionGatewayDown"'], ['dependency="execution-gateway"'], ['run_id']],
    [['alertname="SignalServiceDown"'], ['dependency="signal-service"'], ['run_id']],
    [['alertname="FakeAlpacaDown"'], ['dependency="fake-alpaca"'], ['run_id']],
  ]);
});

test('a second always-firing alert joins the route and is never inhibited', () => {
  const heartbeat = { ...defOf('Watchdog'), name: 'RulesHeartbeat' };
  const config = render([...CATALOG, heartbeat]);
  assert.equal(config.route.routes[0]!.matchers, ['alertname=~"Watchdog|RulesHeartbeat"']);
  assert.match(config.inhibit_rules[0]!.target_matchers[0]!, /\|Watchdog\|RulesHeartbeat"$/);
});

test('a new dependency gets its inhibit rule from the Down alert of that service', () => {
  const catalog = CATALOG.map((d) => (d.name === 'SlowOrchestration' ? { ...d, service: 'signal-service', dependency: 'orchestrator' } : d));
  const rules = render(catalog).inhibit_rules;
  assert.ok(rules.some((r) => r.source_matchers[0] === 'alertname="OrchestratorDown"' && r.target_matchers[0] === 'dependency="orchestrator"'));
});

test('refuses a dependency no Down alert covers, and a catalog without a heartbeat', () => {
  const orphan = CATALOG.map((d) => (d.name === 'NoMarketData' ? { ...d, dependency: 'postgres' } : d));
  assert.throws(() => render(orphan), /no serviceDown alert covers postgres \(the dependency of NoMarketData\)/);
  assert.throws(() => render(CATALOG.filter((d) => !d.alwaysFiring)), /no alwaysFiring alert/);
});

test('refuses a template without its slots, or with one twice', () => {
  assert.throws(() => alertmanagerConfig(TEMPLATE.replace("'@alwaysFiring@'", "'alertname=\"Watchdog\"'"), CATALOG), /must contain "@alwaysFiring@" exactly once/);
  assert.throws(() => alertmanagerConfig(`${TEMPLATE}  # @inhibitRules@\n`, CATALOG), /"# @inhibitRules@" exactly once/);
});

test.run();
