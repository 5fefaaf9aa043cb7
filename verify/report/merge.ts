// Joins the reports of the shards of one run (`--shards N`, or `--shard i/N` on N machines and `--merge`) into the
// report of one run: the same verdicts, counts and exit code as if one stack had run the whole matrix.
import fs from 'node:fs';
import path from 'node:path';
import { qualityOf } from '../evaluate.ts';
import { failedOf, type RuleVerdict, type RunReport } from '../results.ts';

export class MergeError extends Error {}

/** Checks that the reports are every shard of one plan, once each; the error names what is missing or mixed. */
function checkShards(reports: readonly RunReport[]): void {
  if (reports.length === 0) throw new MergeError('nothing to merge: no shard report given');
  const unsharded = reports.find((r) => !r.shard);
  if (unsharded) throw new MergeError(`run ${unsharded.runId} is not a shard (no "shard" in its report.json); only the parts of one --shard i/N run merge`);
  const first = reports[0]!.shard!;
  for (const r of reports) {
    const s = r.shard!;
    if (s.total !== first.total || s.plan !== first.plan) {
      throw new MergeError(`run ${r.runId} is shard ${s.index}/${s.total} of plan ${s.plan}, but run ${reports[0]!.runId} is of ${first.total} shards, plan ${first.plan}: merge the shards of one matrix and one --shard count`);
    }
  }
  const seen = new Map<number, string>();
  for (const r of reports) {
    const other = seen.get(r.shard!.index);
    if (other) throw new MergeError(`shard ${r.shard!.index}/${first.total} given twice (runs ${other} and ${r.runId})`);
    seen.set(r.shard!.index, r.runId);
  }
  const missing = Array.from({ length: first.total }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length) throw new MergeError(`missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${first.total}`).join(', ')} of plan ${first.plan}`);
  const versions = new Set(reports.map((r) => JSON.stringify(r.versions ?? null)));
  if (versions.size > 1) throw new MergeError(`the shards judged different versions (${[...versions].join(' vs ')}); a merged verdict is for one Prometheus and one Alertmanager`);
}

/** A rule judged in several shards fails with every shard's reasons. */
function mergeRules(reports: readonly RunReport[]): RuleVerdict[] {
  const byName = new Map<string, string[]>();
  for (const r of reports) for (const v of r.rules) byName.set(v.alertname, [...new Set([...(byName.get(v.alertname) ?? []), ...v.reasons])]);
  return [...byName].map(([alertname, reasons]) => ({ alertname, passed: reasons.length === 0, reasons })).sort((a, b) => a.alertname.localeCompare(b.alertname));
}

export function mergeReports(parts: readonly RunReport[], runId: string): RunReport {
  checkShards(parts);
  const reports = [...parts].sort((a, b) => a.shard!.index - b.shard!.index);
  const total = reports[0]!.shard!.total;
  const of = (r: RunReport): string => `shard ${r.shard!.index}/${total}`;
  const scenarios = reports.flatMap((r) => r.scenarios).sort((a, b) => a.wave - b.wave || a.id.localeCompare(b.id));
  // Waves are numbered across the whole matrix; the control window and the time between scenarios are a shard's own.
  const falsePositives = reports.flatMap((r) => r.falsePositives.map((f) => (f.during.startsWith('wave ') ? f : { ...f, during: `${f.during}, ${of(r)}` })));
  const rules = mergeRules(reports);
  const heartbeats = reports.flatMap((r) => (r.heartbeat ? [r.heartbeat] : []));
  const heartbeat = heartbeats.length
    ? {
        alarmAfterS: Math.max(...heartbeats.map((h) => h.alarmAfterS)),
        outcomes: heartbeats.flatMap((h) => h.outcomes),
        falseAlarms: heartbeats.flatMap((h) => h.falseAlarms),
        passed: heartbeats.every((h) => h.passed),
      }
    : undefined;
  const crashes = reports.flatMap((r) => (r.crashes ?? []).map((c) => ({ ...c, detail: `${of(r)}: ${c.detail}` })));
  const fired = reports.reduce((n, r) => n + (r.quality.fired ?? 0), 0);
  const dashboards = reports.find((r) => r.dashboards)?.dashboards;
  const startedAt = Math.min(...reports.map((r) => Date.parse(r.startedAt)));
  const finishedAt = Math.max(...reports.map((r) => Date.parse(r.finishedAt)));
  const passed = rules.filter((r) => r.passed).length;
  return {
    runId,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    wallS: (finishedAt - startedAt) / 1000,
    repeat: reports[0]!.repeat,
    options: { ...reports[0]!.options, shards: total, plan: reports[0]!.shard!.plan },
    ...(reports[0]!.versions ? { versions: reports[0]!.versions } : {}),
    preflight: {
      ok: reports.every((r) => r.preflight.ok),
      checks: reports.flatMap((r) => r.preflight.checks.map((c) => ({ ...c, name: `${of(r)}: ${c.name}` }))),
    },
    control: { durationS: Math.max(...reports.map((r) => r.control.durationS)), falsePositives: reports.flatMap((r) => r.control.falsePositives) },
    scenarios,
    falsePositives,
    nearMisses: reports.flatMap((r) => r.nearMisses),
    rules,
    quality: qualityOf(scenarios.flatMap((s) => s.alerts), fired, falsePositives.length),
    ...(heartbeat ? { heartbeat } : {}),
    load: reports.map((r) => ({ shard: r.shard!.index, summary: r.load })),
    ...(dashboards ? { dashboards } : {}),
    crashes,
    shards: reports.map((r) => ({ index: r.shard!.index, runId: r.runId, wallS: r.wallS, waves: r.shard!.waves, stages: r.stages ?? [] })),
    passed,
    failed: failedOf({ rules, crashes, scenarios, heartbeat }),
  };
}

/** report.json of each given folder: a shard's report folder, or a folder holding exactly one verify-* run of it. */
export function readShardReports(dirs: readonly string[]): RunReport[] {
  return dirs.map((dir) => {
    const direct = path.join(dir, 'report.json');
    let file = direct;
    if (!fs.existsSync(direct)) {
      const runs = fs.existsSync(dir) ? fs.readdirSync(dir).filter((d) => d.startsWith('verify-') && fs.existsSync(path.join(dir, d, 'report.json'))) : [];
      if (runs.length !== 1) throw new MergeError(`${dir}: no report.json${runs.length > 1 ? `, and ${runs.length} verify-* runs in it (${runs.join(', ')}); name the one to merge` : ''}`);
      file = path.join(dir, runs[0]!, 'report.json');
    }
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as RunReport;
    } catch (err) {
      throw new MergeError(`${file}: not a verify-alerts report (${(err as Error).message})`);
    }
  });
}
