// How many shards verify-alerts runs by default on the reference machine (2 cores, 24 GiB), each count measured, not
// guessed (docs/benchmarks.md, "verify-alerts"; `npm run bench:verify` measures the matrix).
/** `npm run verify-alerts`: the whole matrix; past this count the slowest shard's waves no longer get shorter. */
export const DEFAULT_SHARDS = 4;
/**
 * `--mutate`, its matrix stage: every mutated scenario holds its fault to the deadline (a `for` or label mutant never
 * fires), so its waves are long and wait-bound; two waves per shard of its twelve. The baseline stage runs after it.
 */
export const DEFAULT_MUTATION_SHARDS = 6;
