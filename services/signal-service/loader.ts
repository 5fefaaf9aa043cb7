// Hot reload of the active model: reads the registry on demand or by polling, and keeps the last good model when the active one is broken.
import type { Logger } from 'pino';
import type { SignalMetrics } from './metrics.ts';
import { validateModel, type LoadedModel } from './models.ts';
import type { ModelRecord, ModelRegistry } from './registry.ts';

export type ReloadOutcome =
  | { status: 'loaded'; model: LoadedModel; changed: boolean }
  | { status: 'unloaded' }
  | { status: 'invalid'; record: ModelRecord; problems: string[]; kept: LoadedModel | undefined };

/** Who asked: a poll only counts a success when the model changed, an explicit request always counts. */
export type ReloadTrigger = 'poll' | 'request';

export interface Poller {
  stop(): void;
}

export class ModelLoader {
  private loaded: LoadedModel | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly registry: ModelRegistry,
    private readonly metrics: SignalMetrics,
    private readonly logger: Logger,
  ) {
    metrics.modelLoaded.set(0);
    metrics.modelVersion.set(0);
  }

  get current(): LoadedModel | undefined {
    return this.loaded;
  }

  /**
   * Loads the registry's active model. Rejects when the registry is unreachable (nothing changes then, and no failure is
   * counted: that outage is what the database connection gauge reports).
   */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    // Serialised so a poll and a request cannot interleave their reads and leave the older result loaded.
    const run = this.queue.then(() => this.reloadNow(trigger));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Re-reads the registry every intervalMs until stopped; a failed poll is logged and retried on the next tick. */
  startPolling(intervalMs: number): Poller {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const tick = (): void => {
      this.reload('poll')
        .then(
          () => this.metrics.polls.inc({ status: 'ok' }),
          (err: unknown) => {
            this.metrics.polls.inc({ status: 'error' });
            this.logger.warn({ err: (err as Error).message }, 'model registry poll failed; keeping the loaded model');
          },
        )
        .finally(() => {
          if (stopped) return;
          timer = setTimeout(tick, intervalMs);
          timer.unref();
        });
    };
    timer = setTimeout(tick, intervalMs);
    timer.unref();
    return {
      stop() {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  private async reloadNow(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const record = await this.registry.active();
    if (record === undefined) {
      if (this.loaded) this.logger.warn({ was: this.loaded.id }, 'no active model in the registry; model unloaded');
      this.loaded = undefined;
      this.metrics.modelLoaded.set(0);
      this.metrics.modelVersion.set(0);
      return { status: 'unloaded' };
    }
    const validation = validateModel(record);
    if (!validation.ok) {
      this.metrics.reloads.inc({ status: 'failure' });
      this.logger.warn({ id: record.id, problems: validation.problems, kept: this.loaded?.id }, 'active model is invalid; keeping the last good model');
      return { status: 'invalid', record, problems: validation.problems, kept: this.loaded };
    }
    const model = validation.model;
    const changed = !sameModel(this.loaded, model);
    if (changed) {
      this.loaded = model;
      this.metrics.modelLoaded.set(1);
      this.metrics.modelVersion.set(model.version);
      this.metrics.modelVersionLabel(model.version);
      this.logger.info({ id: model.id, name: model.name, version: model.version, kind: model.kind }, 'model loaded');
    }
    if (changed || trigger === 'request') this.metrics.reloads.inc({ status: 'success' });
    return { status: 'loaded', model, changed };
  }
}

function sameModel(a: LoadedModel | undefined, b: LoadedModel): boolean {
  return (
    a !== undefined &&
    a.id === b.id &&
    a.name === b.name &&
    a.version === b.version &&
    a.kind === b.kind &&
    a.params.lookback === b.params.lookback &&
    a.params.topN === b.params.topN
  );
}
