// --apply: writes recommended thresholds into alerts/thresholds.yaml and buckets into services/buckets.json of a checkout,
// then regenerates the alert files and runs the budget check and the promtool unit tests there.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { prometheusTools } from '../../stack/prometheus-version.ts';
import type { TuneResult } from './analyze.ts';

export interface Change {
  file: string;
  what: string;
  from: string;
  to: string;
}

export interface ApplyOutcome {
  changes: Change[];
  /** Output of generate, budget and promtool, in order. */
  checks: Array<{ command: string; output: string }>;
}

function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${output}`));
      else resolve(output);
    });
  });
}

const list = (b: readonly number[]): string => b.join(', ');

/** Rewrites the two tunable files of the checkout at root; comments and layout of thresholds.yaml are kept. */
export function writeRecommendation(root: string, result: TuneResult): Change[] {
  const changes: Change[] = [];
  const thresholdsFile = path.join(root, 'alerts', 'thresholds.yaml');
  const doc = parseDocument(fs.readFileSync(thresholdsFile, 'utf8'));
  for (const r of result.thresholds) {
    if (!r.applicable || r.recommended === r.current) continue;
    if (doc.getIn([r.alert, 'threshold']) === undefined) throw new Error(`${thresholdsFile} has no threshold for ${r.alert}; the result belongs to another checkout`);
    doc.setIn([r.alert, 'threshold'], r.recommended);
    changes.push({ file: 'alerts/thresholds.yaml', what: `${r.alert}.threshold`, from: String(r.current), to: String(r.recommended) });
  }
  const bucketsFile = path.join(root, 'services', 'buckets.json');
  const buckets = JSON.parse(fs.readFileSync(bucketsFile, 'utf8')) as Record<string, number[]>;
  for (const h of result.histograms) {
    if (!h.recommended) continue;
    if (!buckets[h.metric]) throw new Error(`${bucketsFile} has no entry for ${h.metric}; the result belongs to another checkout`);
    if (list(buckets[h.metric]!) === list(h.recommended.bounds)) continue;
    changes.push({ file: 'services/buckets.json', what: h.metric, from: list(buckets[h.metric]!), to: list(h.recommended.bounds) });
    buckets[h.metric] = h.recommended.bounds;
  }
  fs.writeFileSync(thresholdsFile, doc.toString({ lineWidth: 0 }));
  const body = Object.entries(buckets).map(([name, bounds]) => `  ${JSON.stringify(name)}: [${bounds.join(', ')}]`);
  fs.writeFileSync(bucketsFile, `{\n${body.join(',\n')}\n}\n`);
  return changes;
}

/**
 * writeRecommendation, then the checkout's own generator, budget check and promtool tests (with `promtool`: the chosen
 * Prometheus version's, stack/prometheus-version.ts); throws on the first failure.
 */
export async function applyRecommendation(root: string, result: TuneResult, promtool = prometheusTools().promtool): Promise<ApplyOutcome> {
  const changes = writeRecommendation(root, result);
  const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
  const checks: ApplyOutcome['checks'] = [];
  const step = async (label: string, cmd: string, args: string[], cwd: string): Promise<void> => {
    checks.push({ command: label, output: await run(cmd, args, cwd) });
  };
  await step('tsx alerts/generate.ts', tsx, [path.join(root, 'alerts', 'generate.ts')], root);
  await step('tsx alerts/budget.ts', tsx, [path.join(root, 'alerts', 'budget.ts')], root);
  const tests = fs.readdirSync(path.join(root, 'alerts', 'tests')).filter((f) => f.endsWith('.yml')).map((f) => `tests/${f}`);
  await step('promtool test rules', promtool, ['test', 'rules', ...tests], path.join(root, 'alerts'));
  return { changes, checks };
}
