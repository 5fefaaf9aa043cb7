// npm run tune-thresholds [-- --duration 60 --target-error 0.1 --max-buckets 16 --out DIR --from DIR --apply --prometheus 2|3]: measure the
// baseline (or reuse one saved by an earlier run with --from), report the histogram fit and recommended buckets/thresholds,
// and with --apply write them and rerun the alert checks.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadThresholds, ROOT_DIR } from '../../alerts/model.ts';
import { analyze } from './analyze.ts';
import { applyRecommendation } from './apply.ts';
import { measureBaseline, readSamples, writeSamples } from './measure.ts';
import { writeReport } from './report.ts';
import { ensurePrometheusTools, prometheusMajor } from '../../stack/prometheus-version.ts';

/** Short enough for CI, long enough for a few hundred observations of the busier histograms. */
export const DEFAULT_DURATION_S = 60;

function positive(name: string, text: string): number {
  const v = Number(text);
  if (!(v > 0) || !Number.isFinite(v)) throw new Error(`--${name} must be a positive number (got "${text}")`);
  return v;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: process.env.TUNE_DURATION ?? String(DEFAULT_DURATION_S) },
      'target-error': { type: 'string', default: '0.1' },
      'max-buckets': { type: 'string', default: '16' },
      out: { type: 'string' },
      from: { type: 'string' },
      apply: { type: 'boolean', default: false },
      prometheus: { type: 'string' },
    },
  });
  const prometheus = ensurePrometheusTools(prometheusMajor(values.prometheus));
  const durationS = positive('duration', values.duration!);
  const opts = { targetRelError: positive('target-error', values['target-error']!), maxBuckets: Math.round(positive('max-buckets', values['max-buckets']!)) };
  const outDir = path.resolve(values.out ?? path.join(ROOT_DIR, 'reports', `tune-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  const thresholds = loadThresholds();
  const measurement = values.from ? readSamples(path.resolve(values.from)) : await measureBaseline({ durationS, outDir, thresholds, log, prometheusMajor: prometheus.major });
  writeSamples(outDir, measurement);
  if (values.from) log(`reusing the baseline measured ${measurement.startedAt} (${measurement.durationS} s) from ${values.from}`);
  const result = analyze(measurement, thresholds, opts);
  const files = writeReport(outDir, result, measurement);
  for (const h of result.histograms) log(`${h.metric}: ${h.current.verdict} (n=${h.current.n})`);
  for (const t of result.thresholds) log(`${t.alert}: ${t.current} -> ${t.recommended}${t.applicable ? '' : ' (not applicable)'}`);
  log(`report: ${files.md}\n        ${files.html}\n        ${files.json}`);
  if (values.apply) {
    const outcome = await applyRecommendation(ROOT_DIR, result, prometheus.promtool);
    for (const c of outcome.changes) log(`applied ${c.file} ${c.what}: ${c.from} -> ${c.to}`);
    log(`${outcome.changes.length} changes; generate, budget and promtool tests passed. Run npm test and npm run verify-alerts before committing.`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`tune-thresholds: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
