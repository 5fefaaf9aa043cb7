// The config driver: edits the config Prometheus or Alertmanager runs and reloads it, as a bad deploy of the alerting
// pipeline's own config would. Recovery always puts back the exact bytes first, then reloads.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import YAML, { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { RENDER_TO_STRING } from '../../stack/render.ts';
import type { ConfigBinding } from '../../stack/targets.ts';
import type { ConfigEdit, ConfigStep } from '../matrix.ts';
import type { FaultContext } from '../scenario.ts';
import { binding } from './bindings.ts';
import type { Undo } from './index.ts';
import { expand, variablesFor } from './variables.ts';

/**
 * What `break` appends: a top-level key neither daemon knows. Both parse their config strictly and refuse the file
 * ("field alertproof_injected_fault not found in type config.plain"), naming the key, so the log says what happened.
 */
export const BREAKING_LINE = 'alertproof_injected_fault: this config was broken on purpose by the config driver';

export async function injectConfig(step: ConfigStep, ctx: FaultContext): Promise<Undo> {
  const config = binding(ctx, step.target, 'config');
  const edit = expand(step.edit, await variablesFor(step.edit, ctx));
  const where = `target "${step.target}"`;
  if (edit.addRuleGroup) return addRuleGroup(config, edit.addRuleGroup, step.target, ctx);

  const original = readConfig(config.file, where);
  const edited = editedText(original, edit, `${where}: ${config.file}`);
  const restore = async (): Promise<void> => {
    fs.writeFileSync(config.file, original);
    await reloadOrExplain(config, `${where}: restored the original ${config.file}, but its reload failed`);
  };
  fs.writeFileSync(config.file, edited);
  let refusal: string | undefined;
  try {
    await config.reload();
  } catch (err) {
    refusal = oneLine((err as Error).message);
  }
  if (edit.break) {
    if (refusal === undefined) {
      await restore();
      throw new Error(`${where}: ${config.file} with "${BREAKING_LINE}" appended was reloaded without complaint, so no broken config was reloaded; restored the file`);
    }
    ctx.log(`  ${step.target} refused the broken ${config.file}, as intended, and keeps its last good config: ${refusal}`);
    return restore;
  }
  if (refusal !== undefined) {
    const undone = await restore().then(
      () => 'restored the file',
      (err: Error) => err.message,
    );
    throw new Error(`${where}: reload after ${describeEdit(edit)} in ${config.file} failed (${refusal}); ${undone}`);
  }
  ctx.log(`  ${step.target}: ${describeEdit(edit)} in ${config.file}, reloaded`);
  return restore;
}

/** Writes the group into a rule file of its own in the rules dir and reloads; undone by deleting the file. */
async function addRuleGroup(config: ConfigBinding, group: NonNullable<ConfigEdit['addRuleGroup']>, target: string, ctx: FaultContext): Promise<Undo> {
  const where = `target "${target}"`;
  if (!config.rulesDir) throw new Error(`${where}: no rules dir (a directory Prometheus loads every *.yml rule file from), which addRuleGroup needs; is this target Prometheus?`);
  // zz-: sorts after the real rule files, so Prometheus lists the fault's group last.
  const file = path.join(config.rulesDir, `zz-fault-${Date.now().toString(36)}${randomBytes(3).toString('hex')}.yml`);
  const remove = async (): Promise<void> => {
    fs.rmSync(file, { force: true });
    await reloadOrExplain(config, `${where}: removed ${file}, but the reload failed`);
  };
  try {
    fs.writeFileSync(file, `# Written by alertproof's config driver (a fault); removed when the fault is recovered.\n${YAML.stringify({ groups: [group] })}`);
  } catch (err) {
    throw new Error(`${where}: cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    await config.reload();
  } catch (err) {
    const undone = await remove().then(
      () => 'removed the file',
      (e: Error) => e.message,
    );
    throw new Error(`${where}: reload after adding rule group "${group.name}" in ${file} failed (${oneLine((err as Error).message)}); ${undone}`);
  }
  ctx.log(`  ${target}: rule group "${group.name}" added in ${file}, reloaded`);
  return remove;
}

function readConfig(file: string, where: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${where}: cannot read its config ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** The file's text after the edit; a removal re-serializes the document as the renderer writes it, so the rest keeps its bytes. */
export function editedText(original: string, edit: Omit<ConfigEdit, 'addRuleGroup'>, where: string): string {
  if (edit.break) return `${original}${original.endsWith('\n') || original === '' ? '' : '\n'}${BREAKING_LINE}\n`;
  const doc = parseConfig(original, where);
  if (edit.removeScrapeJob !== undefined) {
    const jobs = doc.get('scrape_configs');
    const items = isSeq(jobs) ? jobs.items : [];
    const index = items.findIndex((j) => isMap(j) && j.get('job_name') === edit.removeScrapeJob);
    if (!isSeq(jobs) || index < 0) {
      const names = items.map((j) => (isMap(j) ? String(j.get('job_name')) : '?'));
      throw new Error(`${where}: no scrape job "${edit.removeScrapeJob}" (jobs: ${names.join(', ') || 'none'}); is this target Prometheus?`);
    }
    jobs.delete(index);
    return doc.toString(RENDER_TO_STRING);
  }
  if (edit.removeAlertmanagers) {
    if (!doc.hasIn(['alerting', 'alertmanagers'])) throw new Error(`${where}: no alerting.alertmanagers to remove; is this target Prometheus, and does it send alerts anywhere?`);
    doc.deleteIn(['alerting', 'alertmanagers']);
    return doc.toString(RENDER_TO_STRING);
  }
  throw new Error(`${where}: the config edit names nothing to do: ${JSON.stringify(edit)}`);
}

function parseConfig(text: string, where: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`${where}: not valid YAML (${doc.errors[0]!.message.split('\n')[0]})`);
  if (!isMap(doc.contents)) throw new Error(`${where}: not a YAML mapping at the top level`);
  return doc;
}

async function reloadOrExplain(config: ConfigBinding, what: string): Promise<void> {
  try {
    await config.reload();
  } catch (err) {
    throw new Error(`${what}: ${oneLine((err as Error).message)}`);
  }
}

/** The daemons' YAML errors span lines ("unmarshal errors:\n  line 12: ..."); logs and step errors are one line. */
function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ');
}

/** The removals, for logs and errors (addRuleGroup and break say their own). */
function describeEdit(edit: ConfigEdit): string {
  return edit.removeScrapeJob !== undefined ? `scrape job "${edit.removeScrapeJob}" removed` : 'alerting.alertmanagers removed';
}
