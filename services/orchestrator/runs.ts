// One orchestration run (signals -> sizing -> order deltas -> gateway -> Postgres), never two at once, optionally on a schedule.
import type { Logger } from 'pino';
import { conflict, HttpError } from '../kit/errors.ts';
import { DependencyError, type GatewayClient, type OrderReply, type PriceReader, type SignalClient } from './clients.ts';
import type { OrchestratorMetrics, OrderStatus, RunStatus } from './metrics.ts';
import { planOrders } from './sizing.ts';
import type { Run, RunOrder, RunOutcome, RunSignal, RunStore } from './store.ts';

export interface RunRequest {
  symbols?: string[];
  capital?: number;
}

export interface RunnerDeps {
  store: RunStore;
  signals: SignalClient;
  gateway: GatewayClient;
  prices: PriceReader;
  metrics: OrchestratorMetrics;
  logger: Logger;
  universe: string[];
  capital: number;
}

export function clientOrderId(runId: number, symbol: string): string {
  return `run-${runId}-${symbol}`;
}

export function orderStatus(reply: OrderReply): OrderStatus {
  const s = reply.httpStatus;
  if (s === undefined || s >= 500) return 'failed';
  if (s === 202) return 'pending';
  if (s >= 200 && s < 300) return 'accepted';
  return 'rejected';
}

/** completed: every order accepted; failed: nothing got through because the gateway was unavailable; else partial. */
export function runStatus(orders: Pick<RunOrder, 'status'>[]): RunStatus {
  if (orders.every((o) => o.status === 'accepted' || o.status === 'pending')) return 'completed';
  if (orders.every((o) => o.status === 'failed')) return 'failed';
  return 'partial';
}

export class Runner {
  private inFlight: Promise<Run> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;

  constructor(private readonly deps: RunnerDeps) {}

  /**
   * Runs once. A run already in progress is a 409; an unavailable dependency is a 503 naming it, with the
   * failed run (when Postgres could record it) in details.run.
   */
  async run(request: RunRequest, trigger: Run['trigger']): Promise<Run> {
    if (this.inFlight) throw conflict('a run is already in progress; retry once it has finished');
    const p = this.execute(request, trigger);
    this.inFlight = p;
    try {
      return await p;
    } finally {
      this.inFlight = undefined;
    }
  }

  /** Periodic runs every intervalMs, measured from the end of the previous one, so runs never overlap. */
  startSchedule(intervalMs: number): void {
    if (intervalMs <= 0 || this.scheduled) return;
    this.scheduled = true;
    const next = (): void => {
      if (!this.scheduled) return;
      this.timer = setTimeout(() => {
        if (this.inFlight) return next();
        this.run({}, 'schedule')
          .catch((err: unknown) => this.deps.logger.warn({ err: (err as Error).message }, 'scheduled run failed'))
          .finally(next);
      }, intervalMs);
      this.timer.unref();
    };
    next();
  }

  /** Stops the schedule and waits for a run in progress to finish. */
  async stop(): Promise<void> {
    this.scheduled = false;
    clearTimeout(this.timer);
    await this.inFlight?.catch(() => undefined);
  }

  private async execute(request: RunRequest, trigger: Run['trigger']): Promise<Run> {
    const { metrics, store, logger } = this.deps;
    const endTimer = metrics.duration.startTimer();
    const symbols = request.symbols ?? this.deps.universe;
    const capital = request.capital ?? this.deps.capital;
    const finish = (status: RunStatus): void => {
      metrics.runs.inc({ status });
      endTimer();
    };

    let runId: number;
    try {
      runId = await store.createRun(trigger, capital, symbols);
    } catch (err) {
      finish('failed');
      throw err;
    }

    let outcome: RunOutcome;
    let unexpected: unknown;
    try {
      outcome = await this.trade(runId, symbols, capital);
    } catch (err) {
      // Recorded either way, so no run is left "running" in Postgres.
      if (!(err instanceof DependencyError)) unexpected = err;
      outcome = {
        status: 'failed',
        signals: [],
        orders: [],
        error: err instanceof Error ? err.message : String(err),
        ...(err instanceof DependencyError ? { dependency: err.dependency } : {}),
      };
    }

    try {
      await store.finishRun(runId, outcome);
    } catch (err) {
      finish('failed');
      throw err;
    }
    finish(outcome.status);
    logger.info({ runId, status: outcome.status, orders: outcome.orders.length, trigger }, 'run finished');
    if (unexpected !== undefined) throw unexpected;
    const run = await store.getRun(runId);
    if (!run) throw new Error(`run ${runId} vanished after it was recorded`);
    if (outcome.status === 'failed' && outcome.dependency) {
      throw new HttpError(503, 'dependency_unavailable', `run ${runId} failed: ${outcome.error}`, { dependency: outcome.dependency, run });
    }
    return run;
  }

  private async trade(runId: number, symbols: string[], capital: number): Promise<RunOutcome> {
    const { metrics } = this.deps;
    const generated = await this.deps.signals.generate(symbols);
    metrics.signalsReceived.inc(generated.signals.length);
    const signals: RunSignal[] = generated.signals.map((s) => ({
      symbol: s.symbol.toUpperCase(),
      score: s.score,
      target_weight: s.target_weight,
    }));
    // Open orders count as held: while the broker is down every order waits in pending_submit, and sizing against
    // filled positions alone would order the same delta again on every run until the broker returns.
    const exposure = await this.deps.gateway.exposure();
    const prices = await this.deps.prices.latest(symbols);
    const plan = planOrders({
      signals: signals.map((s) => ({ symbol: s.symbol, targetWeight: s.target_weight })),
      positions: new Map(exposure.map((e) => [e.symbol, e.positionQty + e.openQty])),
      prices,
      capital,
      universe: symbols,
    });

    const orders: RunOrder[] = [];
    for (const planned of plan.orders) {
      const id = clientOrderId(runId, planned.symbol);
      const reply = await this.deps.gateway.submitOrder({ client_order_id: id, symbol: planned.symbol, side: planned.side, qty: planned.qty, type: 'market' });
      const status = orderStatus(reply);
      metrics.ordersSubmitted.inc({ status });
      if (status === 'accepted' || status === 'pending') metrics.positionsAdjusted.inc();
      orders.push({
        symbol: planned.symbol,
        client_order_id: id,
        side: planned.side,
        qty: planned.qty,
        target_qty: planned.targetQty,
        current_qty: planned.currentQty,
        price: planned.price,
        status,
        http_status: reply.httpStatus ?? null,
        error: status === 'accepted' || status === 'pending' ? null : (reply.error ?? replyMessage(reply)),
      });
    }
    const status = runStatus(orders);
    const failures = orders.filter((o) => o.status !== 'accepted' && o.status !== 'pending');
    const skippedNote = plan.skipped.map((s) => `${s.symbol}: ${s.reason}`).join('; ');
    const error = [failures.length > 0 ? `${failures.length} of ${orders.length} orders not accepted (first: ${failures[0]!.symbol}: ${failures[0]!.error})` : '', skippedNote]
      .filter(Boolean)
      .join('; ');
    return {
      status,
      modelName: generated.model_name,
      modelVersion: generated.model_version,
      signals,
      orders,
      ...(error ? { error } : {}),
      ...(status === 'failed' ? { dependency: 'execution-gateway' } : {}),
    };
  }
}

function replyMessage(reply: OrderReply): string {
  const body = reply.body as { error?: { message?: string }; message?: string } | string | undefined;
  if (typeof body === 'string') return `gateway answered ${reply.httpStatus}: ${body.slice(0, 200)}`;
  return `gateway answered ${reply.httpStatus}: ${body?.error?.message ?? body?.message ?? 'no message'}`;
}

