// Histogram bucket boundaries of every service, read from services/buckets.json: the one place the threshold tuner rewrites.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUCKETS_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'buckets.json');

/**
 * An entry named `*_<suffix>` is shared: it holds the buckets of every service's `<prefix>_<suffix>` histogram (the kit's
 * `*_http_request_duration_seconds`), so one fact has one entry however many services, or test services, expose it.
 */
export const SHARED_ENTRY_PREFIX = '*_';

const ENTRY_NAME = /^(?:\*_)?[a-z][a-z0-9_]*$/;

/** Every histogram's finite upper bounds (seconds), validated: positive and strictly increasing. */
export function loadBuckets(file = BUCKETS_FILE): Record<string, number[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    throw new Error(`cannot read histogram buckets from ${file} (${(err as Error).message}); restore it from git or rerun the tuner`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`${file} must map histogram names to arrays of upper bounds`);
  const out: Record<string, number[]> = {};
  for (const [name, bounds] of Object.entries(doc)) {
    if (!ENTRY_NAME.test(name)) throw new Error(`${file}: ${name} is neither a histogram name nor a shared *_<suffix> entry`);
    const ok = Array.isArray(bounds) && bounds.length > 0 && bounds.every((b, i) => typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > (bounds[i - 1] as number)));
    if (!ok) throw new Error(`${file}: ${name} must be a non-empty array of positive, strictly increasing numbers`);
    out[name] = bounds as number[];
  }
  return out;
}

/** The entry holding a histogram's buckets: its own name, else the shared `*_<suffix>` entry whose suffix it ends with. */
function bucketsEntryOf(metric: string, entries: readonly string[]): string | undefined {
  if (entries.includes(metric)) return metric;
  return entries.find((e) => e.startsWith(SHARED_ENTRY_PREFIX) && metric.endsWith(e.slice(1)) && metric.length > e.length - 1);
}

/** The bucket boundaries of one histogram; a name missing from the file is a wiring error, reported at startup. */
export function bucketsFor(metric: string, file = BUCKETS_FILE): number[] {
  const buckets = loadBuckets(file);
  const entry = bucketsEntryOf(metric, Object.keys(buckets));
  if (!entry) throw new Error(`${file} has no buckets for ${metric}; add an entry (upper bounds in seconds)`);
  return buckets[entry]!;
}
