// How many shards `npm run verify-alerts` runs by default: the count measured fastest on the reference machine (2 cores,
// 24 GiB) by `npm run bench:verify`, without slowing any alert's detection past its budget (docs/benchmarks.md).
export const DEFAULT_SHARDS = 4;
