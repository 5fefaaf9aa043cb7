// The stress scenario's knee from k6's JSON output (--out json=FILE): where a flow breaks as its offered rate rises,
// read window by window from the samples the run wrote, streamed so a long run's file is never held in memory.
import fs from 'node:fs';
import readline from 'node:readline';
import { LogHistogram } from '../runtime/stats.ts';

/** Where a flow "breaks": the first of `sustainWindows` consecutive windows whose p99 or error rate exceeds these, or that dropped iterations. */
export interface KneeCriteria {
  /** The scenario's `flow` tag. */
  flow: string;
  p99Ms: number;
  maxErrorRate: number;
  windowS: number;
  /** Consecutive broken windows needed, so one noisy window on a shared machine is not taken for the knee (default 2). */
  sustainWindows?: number;
}

export interface KneeOptions {
  /**
   * Seconds from the flow's first arrival to the end of its schedule (the scenario's duration); windows ending later are
   * the drain after the last arrival and are left out. Without it a window counts only if a sample of the flow was
   * taken at or after its end, which leaves out a trailing partial window but may also drop a last complete one.
   */
  scheduleEndS?: number;
}

export interface KneeWindow {
  /** Seconds from the flow's first arrival. */
  startS: number;
  offeredPerS: number;
  requestsPerS: number;
  p99Ms: number | null;
  errorRate: number | null;
  dropped: number;
}

export interface KneeReport {
  criteria: KneeCriteria;
  /** False when the flow never broke: the knee is above the highest rate offered. */
  found: boolean;
  /** Offered iteration rate of the first broken window. */
  atOfferedPerS: number | null;
  /** Offered rate of the last window before it that held. */
  lastGoodOfferedPerS: number | null;
  reason: string;
  windows: KneeWindow[];
}

/** The samples the knee reads, each with the time it is counted at (epoch ms). */
interface FlowSample {
  metric: 'http_req_duration' | 'http_req_failed' | 'iteration_duration' | 'dropped_iterations';
  value: number;
  /**
   * Arrival side at arrival: an iteration at its start (end minus its duration; the `iterations` point that comes with
   * it has no duration), a dropped iteration when it was dropped. Response side when k6 stamped it: at the response.
   * Counted at its end, an iteration would lower the offered rate exactly where latency jumps (the knee).
   */
  atMs: number;
  /** When the sample was taken. */
  takenMs: number;
}

const KNEE_METRICS = new Set<string>(['http_req_duration', 'http_req_failed', 'iteration_duration', 'dropped_iterations']);

interface JsonLine {
  type?: string;
  metric?: string;
  data?: { time?: string; value?: number; tags?: Record<string, string> | null };
}

/** The flow's samples in file order, one NDJSON line at a time. */
async function* flowSamples(file: string, flow: string): AsyncGenerator<FlowSample> {
  // Every Point of the flow carries this exact text (k6 and this runtime write compact JSON); most other lines are skipped unparsed.
  const tagText = JSON.stringify({ flow }).slice(1, -1);
  const input = fs.createReadStream(file, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', (err) => reject(new Error(`cannot read k6 JSON output ${file}: ${err.message}; was the run given --out json=${file}?`)));
  });
  await opened;
  let lineNo = 0;
  for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) {
    lineNo++;
    if (!line.includes(tagText)) continue;
    let parsed: JsonLine;
    try {
      parsed = JSON.parse(line) as JsonLine;
    } catch (err) {
      throw new Error(`${file}:${lineNo} is not JSON (${(err as Error).message}); is it k6's JSON output (--out json=FILE)?`, { cause: err });
    }
    if (parsed.type !== 'Point' || !KNEE_METRICS.has(parsed.metric ?? '') || parsed.data?.tags?.flow !== flow) continue;
    const takenMs = Date.parse(parsed.data.time ?? '');
    const value = parsed.data.value;
    if (!Number.isFinite(takenMs) || typeof value !== 'number') throw new Error(`${file}:${lineNo}: a ${parsed.metric} Point without a valid data.time and data.value`);
    const metric = parsed.metric as FlowSample['metric'];
    yield { metric, value, takenMs, atMs: metric === 'iteration_duration' ? takenMs - value : takenMs };
  }
}

interface WindowAgg {
  iterations: number;
  dropped: number;
  requests: number;
  failedChecked: number;
  failures: number;
  /** Bounded memory whatever the window's size, about 0.5% off an exact percentile. */
  latency: LogHistogram;
}

const num = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);

/**
 * The knee of `criteria.flow` from a k6 JSON output file. Windows of windowS seconds start at the flow's first arrival;
 * per window: offered rate = (iterations started + dropped) / windowS, p99 of http_req_duration, error rate of
 * http_req_failed (both as k6 stamps them, at the response). Two passes over the file: the first finds that start.
 */
export async function kneeFromJsonOutput(file: string, criteria: KneeCriteria, opts: KneeOptions = {}): Promise<KneeReport> {
  if (!(criteria.windowS > 0)) throw new Error(`knee windowS must be > 0 s (got ${criteria.windowS})`);
  let firstMs = Number.POSITIVE_INFINITY;
  let lastTakenMs = Number.NEGATIVE_INFINITY;
  for await (const s of flowSamples(file, criteria.flow)) {
    if (s.atMs < firstMs) firstMs = s.atMs;
    if (s.takenMs > lastTakenMs) lastTakenMs = s.takenMs;
  }
  if (!Number.isFinite(firstMs)) {
    throw new Error(`${file} holds no http_req_duration, http_req_failed, iteration_duration or dropped_iterations Point tagged flow "${criteria.flow}"; is the flow name the scenario's tags.flow?`);
  }
  const windowMs = criteria.windowS * 1000;
  const aggs = new Map<number, WindowAgg>();
  for await (const s of flowSamples(file, criteria.flow)) {
    const w = Math.floor((s.atMs - firstMs) / windowMs);
    let a = aggs.get(w);
    if (!a) aggs.set(w, (a = { iterations: 0, dropped: 0, requests: 0, failedChecked: 0, failures: 0, latency: new LogHistogram() }));
    if (s.metric === 'iteration_duration') a.iterations++;
    else if (s.metric === 'dropped_iterations') a.dropped += s.value;
    else if (s.metric === 'http_req_duration') {
      a.requests++;
      a.latency.add(s.value);
    } else {
      a.failedChecked++;
      if (s.value !== 0) a.failures++;
    }
  }
  const endS = opts.scheduleEndS ?? (lastTakenMs - firstMs) / 1000;
  const rows: KneeWindow[] = [...aggs.entries()]
    .sort(([a], [b]) => a - b)
    // A partial window (or the drain after the schedule) would understate the offered rate.
    .filter(([w]) => (w + 1) * criteria.windowS <= endS + 1e-6)
    .map(([w, a]) => ({
      startS: w * criteria.windowS,
      offeredPerS: num((a.iterations + a.dropped) / criteria.windowS) ?? 0,
      requestsPerS: num(a.requests / criteria.windowS) ?? 0,
      p99Ms: num(a.latency.quantile(99)),
      errorRate: a.failedChecked === 0 ? null : num(a.failures / a.failedChecked),
      dropped: a.dropped,
    }));
  return judge(criteria, rows);
}

/** The first run of sustainWindows broken windows, and the last window before it that held. */
function judge(criteria: KneeCriteria, rows: KneeWindow[]): KneeReport {
  const broken = (r: KneeWindow): string[] => {
    const reasons: string[] = [];
    if (r.p99Ms !== null && r.p99Ms > criteria.p99Ms) reasons.push(`p99 ${r.p99Ms} ms > ${criteria.p99Ms} ms`);
    if (r.errorRate !== null && r.errorRate > criteria.maxErrorRate) reasons.push(`error rate ${r.errorRate} > ${criteria.maxErrorRate}`);
    if (r.dropped > 0) reasons.push(`${r.dropped} iterations dropped (no free VU)`);
    return reasons;
  };
  const sustain = Math.max(1, criteria.sustainWindows ?? 2);
  let lastGood: number | null = null;
  for (let i = 0; i < rows.length; i++) {
    const run = rows.slice(i, i + sustain);
    if (run.length === sustain && run.every((r) => broken(r).length > 0)) {
      const r = rows[i]!;
      return { criteria, found: true, atOfferedPerS: r.offeredPerS, lastGoodOfferedPerS: lastGood, reason: `from ${r.startS} s: ${broken(r).join('; ')}`, windows: rows };
    }
    if (broken(rows[i]!).length === 0) lastGood = rows[i]!.offeredPerS;
  }
  return { criteria, found: false, atOfferedPerS: null, lastGoodOfferedPerS: lastGood, reason: 'held at every offered rate', windows: rows };
}

const fmt = (x: number | null): string => (x === null ? '-' : x.toFixed(1));

/** The knee in one line, as the run summary prints it. */
export function formatKnee(k: KneeReport): string {
  return k.found
    ? `knee (${k.criteria.flow}): breaks at ~${fmt(k.atOfferedPerS)} iterations/s offered (last good ~${fmt(k.lastGoodOfferedPerS)}/s); ${k.reason}`
    : `knee (${k.criteria.flow}): not reached; held up to ~${fmt(k.lastGoodOfferedPerS)} iterations/s offered`;
}
