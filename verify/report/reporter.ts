// Reports as reporters chosen by name and fed by run events (live log lines, finished run reports), behind one
// multiplexer in which a reporter that fails is reported and never stops the others.
import fs from 'node:fs';
import path from 'node:path';
import type { RunReport } from '../results.ts';
import { renderHtml } from './html.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import { COLUMNS, alertRow, allAlerts, heartbeatLines, qualityLines, textTable } from './table.ts';

export const REPORTER_NAMES = ['log', 'json', 'md', 'html', 'junit'] as const;
export type ReporterName = (typeof REPORTER_NAMES)[number];

export interface Reporter {
  name: ReporterName;
  /** A live log line of the run. */
  onLog?(line: string): void;
  /** One finished run report; writes this reporter's files into dir and returns their paths. */
  onReport?(report: RunReport, dir: string): string[] | Promise<string[]>;
}

export interface Reporters {
  log(line: string): void;
  report(report: RunReport, dir: string): Promise<{ files: string[]; failures: string[] }>;
}

export type FileReporterName = Exclude<ReporterName, 'log'>;

/** Where the live log and failures go; summary: false keeps the log reporter's per-report summary off (a shard's). */
export interface ReporterIo {
  write: (line: string) => void;
  summary?: boolean;
}

/** The reporters that write one file per run report: its name in the run folder and how the report becomes its text. */
const FILES: Record<FileReporterName, { file: string; render: (report: RunReport) => string }> = {
  json: { file: 'report.json', render: (report) => `${JSON.stringify(report, null, 2)}\n` },
  md: { file: 'report.md', render: renderMarkdown },
  html: { file: 'report.html', render: renderHtml },
  junit: { file: 'junit.xml', render: renderJunit },
};

export const FILE_REPORTER_NAMES = REPORTER_NAMES.filter((n): n is FileReporterName => n !== 'log');

/** The run log's file in each run folder. */
export const RUN_LOG = 'run.log';

/** Writes one file reporter's file into dir and returns its path. */
export function writeReportFile(name: FileReporterName, report: RunReport, dir: string): string {
  const { file, render } = FILES[name];
  const to = path.join(dir, file);
  const body = render(report);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(to, body);
  return to;
}

/** The run's summary on the terminal: the per-alert table, the quality measures and every failure. */
export function renderStdout(report: RunReport): string {
  const lines = [textTable(allAlerts(report).map(alertRow), COLUMNS), '', ...qualityLines(report), ...heartbeatLines(report)];
  for (const r of report.rules.filter((x) => !x.passed)) lines.push(`FAILED ${r.alertname}: ${r.reasons.join('; ')}`);
  for (const f of report.dashboards?.failures ?? []) lines.push(`FAILED dashboard query ${f.where}: ${f.error}`);
  for (const c of report.crashes ?? []) lines.push(`FAILED ${c.detail}:\n${c.tail.replace(/^/gm, '    ')}`);
  for (const sc of report.scenarios.filter((x) => x.error)) lines.push(`FAILED fault scenario ${sc.id}: ${sc.error}`);
  return lines.join('\n');
}

/**
 * "json,junit" -> ['json', 'junit']; undefined or empty -> every reporter. Duplicates are dropped, the first place
 * kept; an unknown name is an error that lists the valid ones.
 */
export function parseReporters(spec: string | undefined): ReporterName[] {
  const names = (spec ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) return [...REPORTER_NAMES];
  const known = (s: string): s is ReporterName => (REPORTER_NAMES as readonly string[]).includes(s);
  const unknown = names.filter((s) => !known(s));
  if (unknown.length) {
    throw new Error(`unknown reporter${unknown.length > 1 ? 's' : ''} ${unknown.map((s) => `"${s}"`).join(', ')} in "${spec}"; choose from ${REPORTER_NAMES.join(', ')} (comma-separated)`);
  }
  return [...new Set(names.filter(known))];
}

/** written: where the files go for the log reporter's summary, when it is chosen. */
function fileReporter(name: FileReporterName, written: string[] | undefined): Reporter {
  return {
    name,
    onReport(report, dir) {
      const file = writeReportFile(name, report, dir);
      written?.push(file);
      return [file];
    },
  };
}

/**
 * The live log: prints each line through io.write and, per run report, writes the lines logged since the previous
 * report to run.log in its folder, then prints the summary and the files written (the file reporters run before it
 * and put theirs in `written`).
 */
function logReporter(io: ReporterIo, written: string[]): Reporter {
  let lines: string[] = [];
  return {
    name: 'log',
    onLog(line) {
      lines.push(line);
      io.write(line);
    },
    onReport(report, dir) {
      const files = written.splice(0);
      const file = path.join(dir, RUN_LOG);
      const body = lines.length ? `${lines.join('\n')}\n` : '';
      lines = [];
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(file, body);
      if (io.summary !== false) io.write(`\n${renderStdout(report)}\nreports: ${[...files, file].join(', ')}`);
      return [file];
    },
  };
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The chosen reporters behind one log and one report call; the log reporter runs last so its summary names every file. */
export function createReporters(names: readonly ReporterName[], io: ReporterIo): Reporters {
  const chosen = [...new Set(names)];
  const written: string[] | undefined = chosen.includes('log') ? [] : undefined;
  const files = chosen.filter((n): n is FileReporterName => n !== 'log').map((n) => fileReporter(n, written));
  return multiplexReporters(written ? [...files, logReporter(io, written)] : files, io);
}

/**
 * Feeds every event to each reporter in turn. A reporter that throws, at once or later, is reported as
 * "reporter <name> failed: <message>" (returned and written through io) and the others go on.
 */
export function multiplexReporters(reporters: readonly Reporter[], io: { write: (line: string) => void }): Reporters {
  // A reporter that failed on a log line is told with the next report (a line that cannot be written cannot say so).
  const logFailures = new Map<string, { name: ReporterName; message: string }>();
  const fail = (failures: string[], name: ReporterName, message: string): void => {
    const failure = `reporter ${name} failed: ${message}`;
    failures.push(failure);
    try {
      io.write(failure);
    } catch {
      // io itself is broken; the failure is still returned.
    }
  };
  return {
    log(line) {
      for (const r of reporters) {
        try {
          r.onLog?.(line);
        } catch (err) {
          const message = `on a log line: ${messageOf(err)}`;
          logFailures.set(`${r.name} ${message}`, { name: r.name, message });
        }
      }
    },
    async report(report, dir) {
      const files: string[] = [];
      const failures: string[] = [];
      for (const { name, message } of logFailures.values()) fail(failures, name, message);
      logFailures.clear();
      for (const r of reporters) {
        try {
          files.push(...((await r.onReport?.(report, dir)) ?? []));
        } catch (err) {
          fail(failures, r.name, messageOf(err));
        }
      }
      return { files, failures };
    },
  };
}
