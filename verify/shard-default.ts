// How many shards verify-alerts runs by default on the reference machine (2 cores, 24 GiB), each count measured, not
// guessed (docs/benchmarks.md, "verify-alerts"; `npm run bench:verify` measures the matrix).
/**
 * `npm run verify-alerts`: the whole matrix. Measured on a clean clone (2026-12-03): 712 s on one stack, 313 s on 3,
 * 249 s on 4, 208 s on 5, at the same CPU (123-145 s) and a median detection change of +0.7 s on 4. Four, not the
 * fastest five: four keeps the full matrix inside the 5 minutes the issue asks for (clean clone of bda0278: 250 s,
 * 253 s, and 248 s under a CPU hog, each 44 passed 0 failed), and each more stack adds its start (serialized,
 * stack/start-gate.ts) and its share of two cores. The shards' false positive of those runs (SlowSignalGeneration on
 * stacks with no fault) had its cause in the fault proxies running in the harness's event loop; they run in each
 * stack's own process now (docs/verify-alerts.md, "Shards").
 */
export const DEFAULT_SHARDS = 4;
/**
 * `--mutate`, its matrix stage: every mutated scenario holds its fault to the deadline (a `for` or label mutant never
 * fires), so its waves are long and wait-bound; two waves per shard of its twelve. The baseline stage runs after it.
 */
export const DEFAULT_MUTATION_SHARDS = 6;
