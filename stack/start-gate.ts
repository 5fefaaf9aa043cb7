// One CPU-heavy start at a time in this process. The shards of a run (verify/sharded-run.ts) are stacks in one process
// sharing two cores; a Node service start costs about half a CPU-second (tsx loading its modules) and a load runtime's
// more, so when one shard's recovery restarted four services at once, or five shards started their load together, the
// other stacks' services waited up to 160 ms for a core and SlowSignalGeneration fired on a stack with no fault: the
// harness caused what it judges. Queued here, a start takes one core and leaves the other to the running stacks.
// A start holds the gate until it is up or for HOLD_LIMIT_MS, whichever comes first, so a start that waits on
// something else (a dependency that is down) never holds back the other shards' starts.

/** Longer than any start measured alone (a service is listening in about 0.6 s, a load runtime is started in about 2). */
export const HOLD_LIMIT_MS = 5000;

let queue: Promise<void> = Promise.resolve();

/**
 * Runs start() once every earlier start of this process is up (or held the gate for holdLimitMs); resolves or rejects
 * as start() does. start() should resolve once the heavy part is over (the process is listening), not when the thing
 * is fully healthy.
 */
export function startAlone<T>(start: () => Promise<T>, holdLimitMs = HOLD_LIMIT_MS): Promise<T> {
  const before = queue;
  let release!: () => void;
  queue = new Promise<void>((resolve) => (release = resolve));
  return before.then(() => {
    const timer = setTimeout(release, holdLimitMs);
    const started = Promise.resolve().then(start);
    void started.catch(() => undefined).finally(() => {
      clearTimeout(timer);
      release();
    });
    return started;
  });
}
