// How many shards verify-alerts runs by default on the reference machine (2 cores, 24 GiB), each count measured, not
// guessed (docs/benchmarks.md, "verify-alerts"; `npm run bench:verify` measures the matrix).
/**
 * `npm run verify-alerts`: the whole matrix. Measured on a clean clone (2026-12-03): 712 s on one stack, 313 s on 3,
 * 249 s on 4, 208 s on 5, at the same CPU (123-145 s) and a median detection change of +0.7 s on 4. Five was the
 * fastest, but in one of three runs on 5 the signal service's p95 generation time (about its slowest of 20 s) crossed
 * SlowSignalGeneration's 0.25 s on two stacks with no fault of theirs: five stacks' bursts on two cores starve a
 * service for a quarter second now and then, and the harness must not cause what it judges. Four passed 5 of its 6
 * quiet runs and 1 of 2 under a CPU hog, failing the same way (docs/verify-alerts.md, "Shards": a known gap).
 */
export const DEFAULT_SHARDS = 4;
/**
 * `--mutate`, its matrix stage: every mutated scenario holds its fault to the deadline (a `for` or label mutant never
 * fires), so its waves are long and wait-bound; two waves per shard of its twelve. The baseline stage runs after it.
 */
export const DEFAULT_MUTATION_SHARDS = 6;
