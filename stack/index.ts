// The full local stack: Postgres + Redis, the five services, Prometheus + Alertmanager, started in dependency order.
import fs from 'node:fs';
import path from 'node:path';
import { startAlertmanager, type AlertmanagerHandle } from './alertmanager.ts';
import { assertDockerReachable, startPostgresContainer, startRedisContainer } from './containers.ts';
import { freePort } from './ports.ts';
import { startPostgres, type PostgresHandle } from './postgres.ts';
import { ProcessOwner } from './processes.ts';
import { startPrometheus, type PrometheusHandle } from './prometheus.ts';
import type { PrometheusMajor } from './prometheus-version.ts';
import { startRedis, type RedisHandle } from './redis.ts';
import { renderAlertmanagerConfig, renderPrometheusConfig } from './render.ts';
import { SERVICE_NAMES, startService, type ServiceHandle, type ServiceName } from './services.ts';
import { startFaultProxyHost, type FaultProxyHost } from './fault-proxy-host.ts';
import type { ManagedProcess } from './processes.ts';
import type { FaultSignal, HandleBinding, Targets } from './targets.ts';
import { LINK_ENV } from '../services/kit/platform.ts';

export type { ServiceHandle, ServiceName } from './services.ts';
export type { PostgresHandle } from './postgres.ts';
export type { RedisHandle } from './redis.ts';
export type { PrometheusHandle } from './prometheus.ts';
export type { AlertmanagerHandle } from './alertmanager.ts';
export { SERVICE_NAMES } from './services.ts';

export type Backend = 'process' | 'container';
/** Hops a fault proxy sits on (faultProxies): the data stores, the broker, and the service-to-service links. */
export type Dependency = 'postgres' | 'redis' | 'broker' | 'execution-gateway' | 'signal-service';
/** The target whose proxy binding each hop is: the hop in front of the broker is fake-alpaca's. */
const HOP_TARGET: Record<Dependency, string> = { postgres: 'postgres', redis: 'redis', broker: 'fake-alpaca', 'execution-gateway': 'execution-gateway', 'signal-service': 'signal-service' };
export interface HostPort {
  host: string;
  port: number;
}

export interface StackOptions {
  /** Where Postgres and Redis run; default ALERTPROOF_BACKEND or 'process'. Services, Prometheus, Alertmanager are always processes. */
  backend?: Backend;
  /** Services to start (default all); each one's dependencies must be in the list too. */
  services?: ServiceName[];
  /** Not started when false or absent. config is a source file such as alerts/prometheus.yml; it is rendered, never edited. */
  prometheus?: { config: string; rulesDir?: string; externalLabels?: Record<string, string>; major?: PrometheusMajor } | false;
  /** Not started when false or absent. webhookUrl replaces the harness receiver's placeholder URL; alsoTo receive the same. */
  alertmanager?: { config: string; webhookUrl: string; alsoTo?: string[] } | false;
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /**
   * Place our TCP fault proxy on every hop (services -> postgres, redis, the broker; the links to the gateway and the
   * signal service), with a toxiproxy-compatible API in front of them all, so the proxy driver (in this process or
   * another) can inject network faults.
   */
  faultProxies?: boolean;
  /** Extra scrape jobs, job name -> "host:port" (e.g. loadgen). */
  extraScrapeTargets?: Record<string, string>;
  /** Keep the run dir (process logs) after stop; only applies when the stack creates its own owner. */
  keepLogs?: boolean;
  log?: (line: string) => void;
  /** Owner to spawn under; the caller then owns its lifetime (stop() still stops everything the stack started). */
  owner?: ProcessOwner;
}

/** What the harness and the load need of any stack, whichever backend runs it (or none: attached). */
export interface Stack {
  backend: Backend | 'attach';
  prometheusUrl?: string;
  alertmanagerUrl?: string;
  /** Each service's base URL. */
  serviceUrls: Partial<Record<ServiceName, string>>;
  /** How faults reach each part, by target name (services, postgres, redis, prometheus, alertmanager). */
  targets: Targets;
  /** Processes this stack started, by name, whose unexpected exit is a crash; none when attached. */
  watched(): Record<string, ManagedProcess>;
  /** Every URL worth printing. */
  urls(): Record<string, string>;
  /** Stops what this stack started (nothing, when attached). */
  stop(): Promise<void>;
}

/** A stack this process started (process or container backend), with a handle on every part. */
export interface LocalStack extends Stack {
  backend: Backend;
  owner: ProcessOwner;
  postgres: PostgresHandle;
  redis: RedisHandle;
  services: Partial<Record<ServiceName, ServiceHandle>>;
  prometheus?: PrometheusHandle;
  alertmanager?: AlertmanagerHandle;
  /** The fault proxies' toxiproxy-compatible API, with faultProxies. */
  faultProxyApi?: string;
}

interface Signallable {
  process?: ManagedProcess;
  stop(): Promise<void>;
  start(): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/** The signal driver's binding for a part this stack started: its own handle waits for the stop and restarts it. */
function handleBinding(describe: string, h: Signallable): HandleBinding {
  return {
    kind: 'handle',
    describe,
    process: () => h.process,
    async signal(sig: FaultSignal) {
      if (sig === 'SIGSTOP') return h.pause();
      // A container has no process here: docker's own stop is the nearest thing to a signal that ends it.
      if (!h.process) return h.stop();
      return sig === 'SIGKILL' ? h.process.kill() : h.process.stop(5000, sig);
    },
    resume: () => h.resume(),
    start: () => h.start(),
  };
}

/** Services each one calls; the stack refuses a subset that leaves a dependency out. */
export const SERVICE_DEPENDENCIES: Record<ServiceName, ServiceName[]> = {
  'fake-alpaca': [],
  'execution-gateway': ['fake-alpaca'],
  'signal-service': [],
  'market-data': ['fake-alpaca', 'execution-gateway'],
  orchestrator: ['signal-service', 'execution-gateway'],
};

/** Each service that keeps state in Postgres gets its own database. */
const DATABASES: Partial<Record<ServiceName, string>> = { 'execution-gateway': 'gateway', 'signal-service': 'signals', orchestrator: 'orchestrator' };

const WAVES: ServiceName[][] = [['fake-alpaca'], ['execution-gateway', 'signal-service'], ['market-data', 'orchestrator']];

export function resolveBackend(requested?: string): Backend {
  const value = requested ?? process.env.ALERTPROOF_BACKEND ?? 'process';
  if (value === 'process' || value === 'container') return value;
  throw new Error(`unknown stack backend "${value}" (from ${requested ? 'options' : 'ALERTPROOF_BACKEND'}); use process or container`);
}

function hostPort(url: string): HostPort {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

interface Stoppable {
  stop(): Promise<void>;
  /** Container handles: stop and remove. */
  remove?: () => Promise<void>;
}

/**
 * Registers every start that succeeded as one tier, so a sibling's failure (rethrown by value()) still stops it.
 * Tiers stop newest first; the members of a tier stop together.
 */
function register(results: PromiseSettledResult<Stoppable | undefined>[], tiers: Stoppable[][]): void {
  tiers.push(results.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : [])));
}

function value<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

function withHostPort(url: string, hp: HostPort): string {
  const u = new URL(url);
  u.hostname = hp.host;
  u.port = String(hp.port);
  return u.toString();
}

/** The directory Prometheus loads every *.yml rule file from (a rule_files entry `<dir>/*.yml`), if it has one. */
function loadedRulesDir(ruleFiles: string[]): string | undefined {
  const glob = ruleFiles.find((f) => path.basename(f) === '*.yml' && !/[*?[]/.test(path.dirname(f)));
  return glob === undefined ? undefined : path.dirname(glob);
}

export async function startStack(opts: StackOptions = {}): Promise<LocalStack> {
  const backend = resolveBackend(opts.backend);
  const log = opts.log ?? (() => undefined);
  const wanted = new Set(opts.services ?? SERVICE_NAMES);
  for (const name of wanted) {
    const missing = SERVICE_DEPENDENCIES[name].filter((d) => !wanted.has(d));
    if (missing.length) throw new Error(`${name} needs ${missing.join(', ')}; add ${missing.length > 1 ? 'them' : 'it'} to services`);
  }
  // Before anything starts, so a missing engine is one line, not a half-started stack's error.
  if (backend === 'container') await assertDockerReachable();
  const ownOwner = opts.owner === undefined;
  const owner = opts.owner ?? new ProcessOwner({ keepLogs: opts.keepLogs });
  // Clients stop before what they depend on, so shutdown logs show no spurious connection errors.
  const tiers: Stoppable[][] = [];
  let stopped = false;
  const stopAll = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const tier of [...tiers].reverse()) {
      await Promise.all(tier.map((h) => (h.remove ? h.remove() : h.stop()).catch(() => undefined)));
    }
    if (ownOwner) await owner.stopAll();
  };
  const timed = async <T>(what: string, start: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      const value = await start();
      log(`${what} up (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return value;
    } catch (err) {
      throw new Error(`stack: ${what} failed to start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };

  try {
    log(`starting (${backend} backend, run dir ${owner.runDir})`);
    // Both are started even if one fails, so whichever came up is registered and stopped by the catch below.
    const [pgResult, redisResult] = await Promise.allSettled([
      timed(backend === 'container' ? 'postgres (container)' : 'postgres', () => (backend === 'container' ? startPostgresContainer() : startPostgres(owner))),
      timed(backend === 'container' ? 'redis (container)' : 'redis', () => (backend === 'container' ? startRedisContainer() : startRedis(owner))),
    ]);
    register([pgResult, redisResult], tiers);
    const postgres = value(pgResult);
    const redis = value(redisResult);
    log(`postgres ${postgres.url}, redis ${redis.url}`);

    // The proxies run in a process of their own (stack/fault-proxy-main.ts), never in this one's event loop.
    let proxyHost: FaultProxyHost | undefined;
    if (opts.faultProxies) {
      proxyHost = await timed('fault proxies', () => startFaultProxyHost(owner));
      const started = proxyHost;
      // Stopped after every client of theirs (tiers stop last to first).
      tiers.unshift([{ stop: () => started.stop() }]);
    }
    const wrap = async (dep: Dependency, target: HostPort): Promise<HostPort> => {
      if (!proxyHost) return target;
      const hop = await proxyHost.add(dep, target);
      log(`${dep} reached through ${hop.host}:${hop.port}`);
      return hop;
    };
    const pgHop = await wrap('postgres', { host: postgres.host, port: postgres.port });
    const redisUrl = withHostPort(redis.url, await wrap('redis', { host: redis.host, port: redis.port })).replace(/\/$/, '');
    const databaseUrls: Partial<Record<ServiceName, string>> = {};
    /** Each database by name, reached directly (a registry fault is a statement, not a network fault). */
    const databases: Record<string, string> = {};
    for (const name of wanted) {
      const db = DATABASES[name];
      if (!db) continue;
      databases[db] = await postgres.createDatabase(db);
      databaseUrls[name] = withHostPort(databases[db], pgHop);
    }

    const services: Partial<Record<ServiceName, ServiceHandle>> = {};
    let brokerUrl = '';
    /** What callers use to reach the gateway and the signal service (through their hop, when wrapped). */
    const linkUrls: Partial<Record<'execution-gateway' | 'signal-service', string>> = {};
    const envFor = (name: ServiceName): Record<string, string> => {
      const env: Record<string, string> = {};
      if (databaseUrls[name]) env[LINK_ENV.postgres] = databaseUrls[name]!;
      if (name !== 'fake-alpaca') env[LINK_ENV.redis] = redisUrl;
      if (name === 'execution-gateway' || name === 'market-data') {
        env[LINK_ENV.broker] = brokerUrl;
        env[LINK_ENV.brokerStream] = `${brokerUrl.replace(/^http/, 'ws')}/v2/iex`;
      }
      if (name === 'market-data' || name === 'orchestrator') env[LINK_ENV['execution-gateway']] = linkUrls['execution-gateway']!;
      if (name === 'orchestrator') env[LINK_ENV['signal-service']] = linkUrls['signal-service']!;
      return { ...env, ...opts.serviceEnv?.[name] };
    };
    for (const wave of WAVES) {
      const names = wave.filter((n) => wanted.has(n));
      const results = await Promise.allSettled(names.map((name) => timed(name, () => startService(owner, { name, env: envFor(name) }))));
      register(results, tiers);
      for (const result of results) {
        const h = value(result);
        services[h.name] = h;
        log(`${h.name} ${h.url}${h.adminUrl ? ` (admin ${h.adminUrl})` : ''}`);
      }
      if (services['fake-alpaca'] && brokerUrl === '') {
        const hop = await wrap('broker', hostPort(services['fake-alpaca'].url));
        brokerUrl = `http://${hop.host}:${hop.port}`;
      }
      for (const link of ['execution-gateway', 'signal-service'] as const) {
        const target = services[link];
        if (target && linkUrls[link] === undefined) linkUrls[link] = withHostPort(target.url, await wrap(link, hostPort(target.url))).replace(/\/$/, '');
      }
    }

    let prometheus: PrometheusHandle | undefined;
    let alertmanager: AlertmanagerHandle | undefined;
    let promRulesDir: string | undefined;
    if (opts.prometheus || opts.alertmanager) {
      const configDir = owner.tempDir('config');
      const promPort = await freePort();
      const amPort = opts.alertmanager ? await freePort() : undefined;
      let amStart: Promise<AlertmanagerHandle | undefined> = Promise.resolve(undefined);
      let promStart: Promise<PrometheusHandle | undefined> = Promise.resolve(undefined);
      if (opts.alertmanager) {
        const source = fs.readFileSync(opts.alertmanager.config, 'utf8');
        const configFile = path.join(configDir, 'alertmanager.yml');
        fs.writeFileSync(configFile, renderAlertmanagerConfig(source, { webhookUrl: opts.alertmanager.webhookUrl, alsoTo: opts.alertmanager.alsoTo }));
        amStart = timed('alertmanager', () => startAlertmanager(owner, { configFile, port: amPort }));
      }
      if (opts.prometheus) {
        const targets: Record<string, string> = { prometheus: `127.0.0.1:${promPort}` };
        if (amPort !== undefined) targets.alertmanager = `127.0.0.1:${amPort}`;
        for (const h of Object.values(services)) {
          // fake-alpaca's metrics live on its admin listener, which its refuseConnections fault never closes.
          const u = hostPort(h.adminUrl ?? h.url);
          targets[h.name] = `${u.host}:${u.port}`;
        }
        const rendered = renderPrometheusConfig(fs.readFileSync(opts.prometheus.config, 'utf8'), {
          targets,
          extraTargets: opts.extraScrapeTargets,
          externalLabels: opts.prometheus.externalLabels,
          baseDir: path.dirname(path.resolve(opts.prometheus.config)),
          rulesDir: opts.prometheus.rulesDir,
          alertmanagers: amPort === undefined ? [] : [`127.0.0.1:${amPort}`],
        });
        if (rendered.droppedJobs.length) log(`prometheus: not scraping ${rendered.droppedJobs.join(', ')} (not running in this stack)`);
        promRulesDir = loadedRulesDir(rendered.ruleFiles);
        const configFile = path.join(configDir, 'prometheus.yml');
        fs.writeFileSync(configFile, rendered.yaml);
        const major = opts.prometheus.major;
        // Alertmanager must be ready first: an alert Prometheus fails to deliver is only re-sent after its 1 m resend delay.
        promStart = amStart.then(
          () => timed('prometheus', () => startPrometheus(owner, { configFile, port: promPort, major })),
          () => undefined,
        );
      }
      const [amResult, promResult] = await Promise.allSettled([amStart, promStart]);
      register([amResult, promResult], tiers);
      alertmanager = value(amResult);
      prometheus = value(promResult);
      if (prometheus) log(`prometheus ${prometheus.build.version} ${prometheus.url}`);
      if (alertmanager) log(`alertmanager ${alertmanager.url}`);
    }

    const faultProxyApi = proxyHost?.url;
    if (proxyHost) log(`fault proxies (${proxyHost.names().join(', ')}) driven at ${proxyHost.url}`);
    const targets: Targets = {
      postgres: { process: handleBinding('postgres', postgres), databases },
      redis: { process: handleBinding('redis', redis) },
    };
    for (const h of Object.values(services)) {
      targets[h.name] = { url: h.url, process: handleBinding(h.name, h), ...(h.adminUrl ? { brokerAdmin: h.adminUrl } : {}) };
    }
    // Meta-monitoring: the alerting pipeline itself can be killed, stopped, or given a bad config.
    if (prometheus) {
      const p = prometheus;
      targets.prometheus = { url: p.url, process: handleBinding('prometheus', p), config: { file: p.configFile, rulesDir: promRulesDir, reload: () => p.reload() } };
    }
    if (alertmanager) {
      const a = alertmanager;
      targets.alertmanager = { url: a.url, process: handleBinding('alertmanager', a), config: { file: a.configFile, reload: () => a.reload() } };
    }
    if (proxyHost) {
      for (const name of proxyHost.names()) {
        const t = targets[HOP_TARGET[name as Dependency]];
        if (t) t.proxy = { api: proxyHost.url, name };
      }
    }

    return {
      owner,
      backend,
      postgres,
      redis,
      services,
      prometheus,
      alertmanager,
      faultProxyApi,
      prometheusUrl: prometheus?.url,
      alertmanagerUrl: alertmanager?.url,
      serviceUrls: Object.fromEntries(Object.values(services).map((h) => [h.name, h.url])),
      targets,
      watched: () => ({
        ...Object.fromEntries(Object.values(services).map((h) => [h.name, h.process])),
        ...(proxyHost ? { [proxyHost.process.spec.name]: proxyHost.process } : {}),
      }),
      urls() {
        const urls: Record<string, string> = { postgres: postgres.url, redis: redis.url };
        for (const h of Object.values(services)) {
          urls[h.name] = h.url;
          if (h.adminUrl) urls[`${h.name}-admin`] = h.adminUrl;
        }
        if (prometheus) urls.prometheus = prometheus.url;
        if (alertmanager) urls.alertmanager = alertmanager.url;
        if (faultProxyApi) urls['fault-proxy-api'] = faultProxyApi;
        return urls;
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
