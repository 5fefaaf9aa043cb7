// Writes dashboards/*.json from dashboards/src (`npm run dashboards`); `--check` only compares and exits 1 on a difference.
import fs from 'node:fs';
import path from 'node:path';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { alertingDashboard } from './alerting.ts';
import { healthDashboard } from './health.ts';
import { performanceDashboard } from './performance.ts';
import { tradingDashboard } from './trading.ts';

export const DASHBOARDS_DIR = path.resolve(import.meta.dirname, '..');

/** File name (in dashboards/) -> dashboard. */
export function buildAll(): Map<string, Dashboard> {
  return new Map([
    ['trading.json', tradingDashboard()],
    ['health.json', healthDashboard()],
    ['performance.json', performanceDashboard()],
    ['alerting.json', alertingDashboard()],
  ]);
}

/** File name -> the exact text checked in. */
export function renderAll(): Map<string, string> {
  return new Map([...buildAll()].map(([file, d]) => [file, `${JSON.stringify(d, null, 2)}\n`]));
}

/** Files whose checked-in text differs from the generator's output (missing files included). */
export function staleFiles(dir = DASHBOARDS_DIR): string[] {
  return [...renderAll()].filter(([file, text]) => {
    const p = path.join(dir, file);
    return !fs.existsSync(p) || fs.readFileSync(p, 'utf8') !== text;
  }).map(([file]) => file);
}

function main(): number {
  if (process.argv.includes('--check')) {
    const stale = staleFiles();
    if (stale.length) {
      process.stderr.write(`dashboards: ${stale.join(', ')} differ from dashboards/src; run npm run dashboards and commit the result\n`);
      return 1;
    }
    process.stdout.write('dashboards: checked-in JSON matches dashboards/src\n');
    return 0;
  }
  const rendered = renderAll();
  for (const [file, text] of rendered) fs.writeFileSync(path.join(DASHBOARDS_DIR, file), text);
  process.stdout.write(`dashboards: wrote ${[...rendered.keys()].map((f) => `dashboards/${f}`).join(', ')}\n`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) process.exit(main());
