// Splits the planned fault matrix across shards: whole waves (their scenarios already conflict-free), each shard on a
// stack of its own, decided from the matrix alone so every machine of a CI matrix computes the same split.
import { createHash } from 'node:crypto';

export interface Shard {
  /** 1-based, as `--shard 2/4` writes it. */
  index: number;
  total: number;
}

/** "2/4" → { index: 2, total: 4 }, with an error that says what a shard looks like. */
export function parseShard(spec: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const shard = m ? { index: Number(m[1]), total: Number(m[2]) } : undefined;
  if (!shard || shard.total < 1 || shard.index < 1 || shard.index > shard.total) {
    throw new Error(`--shard ${spec}: expected i/N with 1 <= i <= N, e.g. --shard 2/4`);
  }
  return shard;
}

/** What a wave is for planning: its global number, its scenario ids and an estimate of its wall time. */
export interface WaveCost {
  wave: number;
  ids: readonly string[];
  costS: number;
}

/**
 * Waves per shard, longest first onto the least loaded shard (LPT); ties go to the earlier wave and the lower shard.
 * Shard 1 also runs the control window (headStartS), so it starts loaded. Each shard runs its waves in matrix order.
 */
export function assignWaves(waves: readonly WaveCost[], total: number, headStartS: number): number[][] {
  const load = Array.from({ length: total }, (_, i) => (i === 0 ? headStartS : 0));
  const parts: number[][] = Array.from({ length: total }, () => []);
  const order = [...waves].sort((a, b) => b.costS - a.costS || a.wave - b.wave);
  for (const w of order) {
    const i = load.indexOf(Math.min(...load));
    load[i]! += w.costS;
    parts[i]!.push(w.wave);
  }
  return parts.map((p) => p.sort((a, b) => a - b));
}

/** Identifies a split: the waves and their scenarios, and the shard count. Reports of one run carry the same hash. */
export function planHash(waves: readonly WaveCost[], total: number): string {
  const text = JSON.stringify({ total, waves: waves.map((w) => [w.wave, ...w.ids]) });
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** A readable line per shard, for the log: which waves and how long they are estimated to take. */
export function describeSplit(waves: readonly WaveCost[], parts: readonly number[][], headStartS: number): string[] {
  return parts.map((p, i) => {
    const est = p.reduce((s, n) => s + (waves.find((w) => w.wave === n)?.costS ?? 0), i === 0 ? headStartS : 0);
    return `shard ${i + 1}/${parts.length}: waves ${p.join(', ') || 'none'} (estimated ${Math.round(est)} s${i === 0 ? ', with the control window' : ''})`;
  });
}
