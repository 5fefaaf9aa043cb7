// The run reports: writeReports writes every report file of a run into its folder; the reporters (reporter.ts) do the
// writing, chosen by name, and renderStdout is the terminal summary.
import type { RunReport } from '../results.ts';
import { FILE_REPORTER_NAMES, writeReportFile, type FileReporterName } from './reporter.ts';

export { renderStdout, createReporters, multiplexReporters, parseReporters, REPORTER_NAMES, type Reporter, type ReporterName, type Reporters } from './reporter.ts';

/** Every file reporter's file (report.json, report.md, report.html, junit.xml) in dir, by reporter name. */
export function writeReports(dir: string, report: RunReport): Record<FileReporterName, string> {
  return Object.fromEntries(FILE_REPORTER_NAMES.map((name) => [name, writeReportFile(name, report, dir)])) as Record<FileReporterName, string>;
}
