// What every bench prints and saves: the machine and its load while measuring, a markdown table, and reports/bench-<name>-<timestamp>.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const DEFAULT_REPORT_DIR = path.resolve(import.meta.dirname, '../../reports');

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  /** 1/5/15-minute load averages when the bench started and when it ended: other work on the machine shows here. */
  loadAvgStart: number[];
  loadAvgEnd: number[];
}

export function machineInfo(loadAvgStart: number[]): MachineInfo {
  const cpus = os.cpus();
  const round = (xs: number[]): number[] => xs.map((x) => Math.round(x * 100) / 100);
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAvgStart: round(loadAvgStart),
    loadAvgEnd: round(os.loadavg()),
  };
}

/** Writes the report as reports/bench-<name>-<ISO timestamp with - for :.>.json and returns the path. */
export function writeReport(name: string, report: object, dir = DEFAULT_REPORT_DIR, at = new Date()): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `bench-${name}-${at.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]): string => `| ${cells.map(String).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A positive number from a CLI flag, with the flag named in the error. */
export function positive(flag: string, raw: string | undefined, fallback: number, integer = false): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!(n > 0) || (integer && !Number.isInteger(n))) throw new Error(`--${flag} must be a positive ${integer ? 'integer' : 'number'} (got "${raw}")`);
  return n;
}

export const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
