// The attach backend: a stack someone else runs (docker compose, staging, `npm run stack`), described by a YAML file
// that names its Prometheus, Alertmanager, each part's URL, and how the fault drivers reach each part.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { SERVICE_NAMES, type ServiceName } from './services.ts';
import type { Stack } from './index.ts';
import type { ProcessBinding, TargetBindings, Targets } from './targets.ts';

/** The URL's scheme, or undefined when it is no URL at all (zod's own url check reports that). */
const scheme = (u: string): string | undefined => (URL.canParse(u) ? new URL(u).protocol : undefined);
const httpUrl = z.string().url().refine((u) => scheme(u) === undefined || /^https?:$/.test(scheme(u)!), 'must be an http:// or https:// URL');
const postgresUrl = z.string().url().refine((u) => scheme(u) === undefined || /^postgres(ql)?:$/.test(scheme(u)!), 'must be a postgres:// URL');
/** "host:port", IPv6 hosts in brackets. */
const listenAddress = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9096');

const startSpec = z.union([
  z.object({ url: httpUrl, method: z.string().default('POST') }).strict(),
  z.object({ command: z.array(z.string()).min(1) }).strict(),
]);

const signalBinding = z
  .object({ pid: z.number().int().positive().optional(), pidFile: z.string().optional(), group: z.boolean().default(false), start: startSpec.optional() })
  .strict()
  .refine((b) => (b.pid === undefined) !== (b.pidFile === undefined), 'give exactly one of pid and pidFile');

const composeBinding = z.object({ service: z.string().min(1), project: z.string().optional(), files: z.array(z.string()).default([]) }).strict();

const targetSchema = z
  .object({
    url: httpUrl.optional(),
    signal: signalBinding.optional(),
    compose: composeBinding.optional(),
    proxy: z.object({ api: httpUrl, name: z.string().min(1) }).strict().optional(),
    brokerAdmin: httpUrl.optional(),
    databases: z.record(postgresUrl).optional(),
  })
  .strict()
  .refine((t) => !(t.signal && t.compose), 'give signal or compose, not both: they are two ways to one process');

export const attachFileSchema = z
  .object({
    prometheus: httpUrl,
    alertmanager: httpUrl,
    /** Where the rules come from: the attached Prometheus' /api/v1/rules, or a local directory of rule files. */
    rules: z.union([z.literal('api'), z.object({ dir: z.string().min(1) }).strict()]).default('api'),
    /** Label matchers (`{env="staging"}`) that pick this stack's alerts and scrape targets out of a shared Prometheus. */
    scope: z.object({ alerts: z.string().optional(), targets: z.string().optional() }).strict().default({}),
    notifications: z.union([
      z.object({ webhook: z.object({ listen: listenAddress, path: z.string().startsWith('/').default('/alertmanager') }).strict() }).strict(),
      z.object({ alertmanagerApi: z.literal(true) }).strict(),
    ]),
    /** Hosts other than loopback the harness may talk to (and send load to); nothing else is ever contacted. */
    allowRemote: z.array(z.string().min(1)).default([]),
    targets: z.record(targetSchema),
  })
  .strict();

export type AttachFile = z.infer<typeof attachFileSchema>;

/** A parsed attach file, with relative paths resolved against the file's directory. */
export interface AttachConfig extends AttachFile {
  file: string;
}

/** Where a notification webhook listens, and the URL to put in an Alertmanager webhook_config. */
export function webhookListen(config: AttachConfig): { host: string; port: number; path: string; url: string } | undefined {
  if (!('webhook' in config.notifications)) return undefined;
  const { listen, path: hookPath } = config.notifications.webhook;
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(colon + 1));
  return { host, port, path: hookPath, url: `http://${listen}${hookPath}` };
}

export class AttachFileError extends Error {}

/** Reads and validates an attach file; an error is one line naming the file and the field. */
export function loadAttachFile(file: string): AttachConfig {
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AttachFileError(`${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = attachFileSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AttachFileError(`${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  const dir = path.dirname(path.resolve(file));
  const resolve = (p: string): string => path.resolve(dir, p);
  const data = parsed.data;
  const config: AttachConfig = {
    ...data,
    file,
    rules: data.rules === 'api' ? 'api' : { dir: resolve(data.rules.dir) },
    targets: Object.fromEntries(
      Object.entries(data.targets).map(([name, t]) => [
        name,
        {
          ...t,
          ...(t.signal?.pidFile ? { signal: { ...t.signal, pidFile: resolve(t.signal.pidFile) } } : {}),
          ...(t.compose ? { compose: { ...t.compose, files: t.compose.files.map(resolve) } } : {}),
        },
      ]),
    ),
  };
  checkHosts(config);
  return config;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/;

/** Every host the file would have the harness contact, with the field that names it. */
function hostsIn(config: AttachConfig): { field: string; host: string }[] {
  const out: { field: string; host: string }[] = [];
  const add = (field: string, url: string | undefined): void => {
    if (url) out.push({ field, host: new URL(url).hostname.replace(/^\[|\]$/g, '') });
  };
  add('prometheus', config.prometheus);
  add('alertmanager', config.alertmanager);
  const hook = webhookListen(config);
  if (hook) out.push({ field: 'notifications.webhook.listen', host: hook.host });
  for (const [name, t] of Object.entries(config.targets)) {
    add(`targets.${name}.url`, t.url);
    add(`targets.${name}.proxy.api`, t.proxy?.api);
    add(`targets.${name}.brokerAdmin`, t.brokerAdmin);
    if (t.signal?.start && 'url' in t.signal.start) add(`targets.${name}.signal.start.url`, t.signal.start.url);
    for (const [db, url] of Object.entries(t.databases ?? {})) add(`targets.${name}.databases.${db}`, url);
  }
  return out;
}

/** A run against anything but loopback needs the host listed under allowRemote; signals and compose are local by nature. */
function checkHosts(config: AttachConfig): void {
  for (const { field, host } of hostsIn(config)) {
    if (LOOPBACK.test(host) || host === '0.0.0.0' || config.allowRemote.includes(host)) continue;
    throw new AttachFileError(`${config.file}: ${field}: ${host} is not a loopback host; list it under allowRemote to let the harness contact it (and send load to it)`);
  }
}

function processBinding(t: AttachFile['targets'][string]): ProcessBinding | undefined {
  if (t.signal) return { kind: 'pid', pid: t.signal.pid, pidFile: t.signal.pidFile, group: t.signal.group, start: t.signal.start };
  if (t.compose) return { kind: 'compose', service: t.compose.service, project: t.compose.project, files: t.compose.files };
  return undefined;
}

const isServiceName = (name: string): name is ServiceName => (SERVICE_NAMES as readonly string[]).includes(name);

/** The stack an attach file describes. It owns nothing: stop() leaves every part running. */
export function attachStack(config: AttachConfig): Stack {
  const targets: Targets = {};
  for (const [name, t] of Object.entries(config.targets)) {
    const b: TargetBindings = {};
    if (t.url) b.url = t.url.replace(/\/+$/, '');
    const proc = processBinding(t);
    if (proc) b.process = proc;
    if (t.proxy) b.proxy = t.proxy;
    if (t.brokerAdmin) b.brokerAdmin = t.brokerAdmin;
    if (t.databases) b.databases = t.databases;
    targets[name] = b;
  }
  const serviceUrls: Partial<Record<ServiceName, string>> = {};
  for (const [name, b] of Object.entries(targets)) if (isServiceName(name) && b.url) serviceUrls[name] = b.url;
  return {
    backend: 'attach',
    prometheusUrl: config.prometheus.replace(/\/+$/, ''),
    alertmanagerUrl: config.alertmanager.replace(/\/+$/, ''),
    serviceUrls,
    targets,
    watched: () => ({}),
    urls: () => ({ prometheus: config.prometheus, alertmanager: config.alertmanager, ...serviceUrls }),
    stop: async () => undefined,
  };
}
