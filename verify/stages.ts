// A run as a list of stages: each stage's teardown is registered before its setup starts, so a stage that fails
// halfway, a Ctrl-C or a failing shard all clean up the same way (newest first), and every stage is timed.

/** Wall time of one stage (or a part of one, like a wave), as the report and `npm run bench:verify` read it. */
export interface StageTiming {
  name: string;
  /** Seconds from the start of the run. */
  startS: number;
  wallS: number;
  /** The stage threw: its message. */
  error?: string;
}

export class StageRunner {
  private readonly teardowns: { name: string; fn: () => Promise<void> | void }[] = [];
  private readonly records: StageTiming[] = [];
  private tornDown: Promise<void> | undefined;

  constructor(
    private readonly startedAt: number,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Runs one stage: teardown (which must cope with a setup that did not get far) is registered first, then setup
   * runs and is timed. A setup that throws is recorded with its error and rethrown; the teardowns run in teardown().
   */
  async stage<T>(name: string, setup: () => Promise<T>, teardown?: () => Promise<void> | void): Promise<T> {
    if (teardown) this.teardowns.push({ name, fn: teardown });
    return this.timed(name, setup);
  }

  /** Registers a teardown of something started outside a stage (the process owner, created first of all). */
  defer(name: string, teardown: () => Promise<void> | void): void {
    this.teardowns.push({ name, fn: teardown });
  }

  /** Times a part of a stage (a wave of the matrix) under its own name. */
  async timed<T>(name: string, body: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    const record: StageTiming = { name, startS: (t0 - this.startedAt) / 1000, wallS: 0 };
    this.records.push(record);
    try {
      return await body();
    } catch (err) {
      record.error = (err as Error).message;
      throw err;
    } finally {
      record.wallS = (Date.now() - t0) / 1000;
    }
  }

  /** Every stage so far, in the order they started. */
  timings(): StageTiming[] {
    return this.records.map((r) => ({ ...r }));
  }

  /** Runs every registered teardown, newest first; one that fails is logged and does not stop the others. Idempotent. */
  teardown(): Promise<void> {
    this.tornDown ??= (async () => {
      for (const t of this.teardowns.reverse()) {
        try {
          await t.fn();
        } catch (err) {
          this.log(`teardown of ${t.name} failed: ${(err as Error).message}`);
        }
      }
    })();
    return this.tornDown;
  }
}
