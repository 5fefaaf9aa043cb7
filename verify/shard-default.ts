// How many shards verify-alerts runs by default on the reference machine (2 cores, 24 GiB), each count measured, not
// guessed (docs/benchmarks.md, "verify-alerts"; `npm run bench:verify` measures the matrix).
/**
 * `npm run verify-alerts`: the whole matrix. Measured on a clean clone (2026-12-03): 712 s on one stack, 313 s on 3,
 * 249 s on 4, 208 s on 5, at the same CPU (123-145 s) and a median detection change of +0.8 s; the 13 waves leave
 * 5 shards 2-3 waves each, so more shards would shorten only the shard with three.
 */
export const DEFAULT_SHARDS = 5;
/**
 * `--mutate`, its matrix stage: every mutated scenario holds its fault to the deadline (a `for` or label mutant never
 * fires), so its waves are long and wait-bound; two waves per shard of its twelve. The baseline stage runs after it.
 */
export const DEFAULT_MUTATION_SHARDS = 6;
