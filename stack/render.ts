// Renders alerts/prometheus.yml and alerts/alertmanager.yml for a local stack: ports rendered in, nothing else changed.
import path from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Document, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { PORTS } from '../services/kit/platform.ts';

/**
 * The harness receiver's URL as written in alerts/alertmanager.yml; it and its channel paths (`/alerting`, `/heartbeat`:
 * verify/webhook.ts) are replaced by the webhook the harness listens on.
 */
export const HARNESS_WEBHOOK_PLACEHOLDER = `http://127.0.0.1:${PORTS['harness-webhook']}/alertmanager`;

/**
 * How rendered files are written. `[a, b]` stays `[a, b]`, as people write it, so a rendered file diffs against its
 * source only in what we changed; a file written so parses and re-serializes to the same bytes (the config driver's edits).
 */
export const RENDER_TO_STRING = { flowCollectionPadding: false } as const;

export interface PrometheusRenderOptions {
  /** Scrape job name -> the "host:port" it scrapes now. Jobs in the file but not here are dropped (nothing runs there). */
  targets: Record<string, string>;
  /** Like targets, but a job the file lacks is appended (e.g. "loadgen" when a load runner exposes metrics). */
  extraTargets?: Record<string, string>;
  /** Merged into global.external_labels (e.g. the harness's run_id, so notifications group per run). */
  externalLabels?: Record<string, string>;
  /** Directory the source file's relative rule_files are resolved against (the source file's own directory). */
  baseDir: string;
  /** Replaces the directory part of every rule_files entry (keeping its file name or glob), e.g. for tuned rules. */
  rulesDir?: string;
  /** "host:port" of each Alertmanager; empty means Prometheus sends alerts nowhere. */
  alertmanagers: string[];
}

export interface RenderedPrometheus {
  yaml: string;
  /** Jobs removed because no target was given for them. */
  droppedJobs: string[];
  /** Jobs appended because a target was given for a job the file does not have. */
  addedJobs: string[];
  /** The rendered rule_files entries: absolute paths or globs. */
  ruleFiles: string[];
}

function parse(source: string, what: string): Document {
  const doc = parseDocument(source);
  if (doc.errors.length > 0) throw new Error(`${what} is not valid YAML: ${doc.errors[0]!.message}`);
  if (!isMap(doc.contents)) throw new Error(`${what} must be a YAML mapping at the top level`);
  return doc;
}

/**
 * Points holder's static_configs at targets: the first static_config is kept (it may carry labels), later ones removed.
 * The old list's flow style and quoting are reused so the rendered file differs from its source only in the addresses.
 */
function setStaticTargets(doc: Document, holder: YAMLMap, targets: string[]): void {
  const statics = holder.get('static_configs');
  const first = isSeq(statics) ? statics.items[0] : undefined;
  if (!isSeq(statics) || !isMap(first)) {
    holder.set('static_configs', doc.createNode([{ targets }]));
    return;
  }
  statics.items.splice(1);
  const old = first.get('targets');
  const node = doc.createNode(targets) as YAMLSeq<Scalar>;
  if (isSeq(old)) {
    node.flow = old.flow;
    const style = isScalar(old.items[0]) ? old.items[0].type : undefined;
    if (style) for (const item of node.items) item.type = style;
  }
  first.set('targets', node);
}

export function renderPrometheusConfig(source: string, opts: PrometheusRenderOptions): RenderedPrometheus {
  const doc = parse(source, 'prometheus config');
  const droppedJobs: string[] = [];
  const seen = new Set<string>();
  const jobs = doc.get('scrape_configs');
  if (isSeq(jobs)) {
    for (let i = jobs.items.length - 1; i >= 0; i--) {
      const job = jobs.items[i];
      if (!isMap(job)) continue;
      const name = String(job.get('job_name'));
      const target = opts.targets[name] ?? opts.extraTargets?.[name];
      if (target === undefined) {
        droppedJobs.unshift(name);
        jobs.delete(i);
        continue;
      }
      seen.add(name);
      setStaticTargets(doc, job, [target]);
    }
  }
  const extra = opts.extraTargets ?? {};
  const addedJobs = Object.keys(extra).filter((name) => !seen.has(name));
  for (const name of addedJobs) {
    const node = doc.createNode({ job_name: name, static_configs: [{ targets: [extra[name]] }] });
    if (isSeq(jobs)) jobs.add(node);
    else doc.set('scrape_configs', doc.createNode([node]));
  }

  for (const [label, value] of Object.entries(opts.externalLabels ?? {})) doc.setIn(['global', 'external_labels', label], value);

  const ruleFiles: string[] = [];
  const rules = doc.get('rule_files');
  if (isSeq(rules)) {
    rules.items = rules.items.map((item) => {
      const file = String(isScalar(item) ? item.value : item);
      const rendered = opts.rulesDir ? path.join(path.resolve(opts.rulesDir), path.basename(file)) : path.resolve(opts.baseDir, file);
      ruleFiles.push(rendered);
      return doc.createNode(rendered);
    });
  }

  if (opts.alertmanagers.length === 0) {
    doc.deleteIn(['alerting', 'alertmanagers']);
  } else {
    const ams = doc.getIn(['alerting', 'alertmanagers']);
    const first = isSeq(ams) ? ams.items[0] : undefined;
    if (isSeq(ams) && isMap(first)) {
      setStaticTargets(doc, first, opts.alertmanagers);
      ams.items.splice(1);
    } else {
      doc.setIn(['alerting', 'alertmanagers'], doc.createNode([{ static_configs: [{ targets: opts.alertmanagers }] }]));
    }
  }
  return { yaml: doc.toString(RENDER_TO_STRING), droppedJobs, addedJobs, ruleFiles };
}

/**
 * Points every harness webhook at the harness: a url equal to the placeholder, or the placeholder plus a channel path
 * (`/alerting`, `/heartbeat`), becomes webhookUrl plus the same suffix. alsoTo: more receivers of every harness
 * notification (an attached harness beside `npm run stack`'s printer), each also given the suffix.
 */
export function renderAlertmanagerConfig(source: string, opts: { webhookUrl: string; alsoTo?: string[] }): string {
  const doc = parse(source, 'alertmanager config');
  let replaced = 0;
  const receivers = doc.get('receivers');
  for (const receiver of isSeq(receivers) ? receivers.items : []) {
    const hooks = isMap(receiver) ? receiver.get('webhook_configs') : undefined;
    if (!isSeq(hooks)) continue;
    for (const hook of [...hooks.items]) {
      const suffix = isMap(hook) ? placeholderSuffix(hook.get('url')) : undefined;
      if (!isMap(hook) || suffix === undefined) continue;
      hook.set('url', opts.webhookUrl + suffix);
      for (const url of opts.alsoTo ?? []) {
        const copy = hook.clone() as typeof hook;
        copy.set('url', url + suffix);
        hooks.items.push(copy);
      }
      replaced++;
    }
  }
  if (replaced === 0) {
    throw new Error(
      `alertmanager config has no webhook receiver with url ${HARNESS_WEBHOOK_PLACEHOLDER} (or ${HARNESS_WEBHOOK_PLACEHOLDER}/<channel>); add one so the harness receives notifications`,
    );
  }
  return doc.toString(RENDER_TO_STRING);
}

/** What follows the placeholder in a harness webhook url ('' for the placeholder itself); undefined for any other url. */
function placeholderSuffix(url: unknown): string | undefined {
  if (url === HARNESS_WEBHOOK_PLACEHOLDER) return '';
  if (typeof url === 'string' && url.startsWith(`${HARNESS_WEBHOOK_PLACEHOLDER}/`)) return url.slice(HARNESS_WEBHOOK_PLACEHOLDER.length);
  return undefined;
}
