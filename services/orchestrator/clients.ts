// Clients for the signal service, the execution gateway (HTTP) and latest prices (Redis); an unreachable one is a DependencyError naming it.
import { z } from 'zod';
import { LINK_ENV } from '../kit/platform.ts';
import type { Redis } from '../kit/redis.ts';

export type Dependency = 'signal-service' | 'execution-gateway' | 'redis';

export class DependencyError extends Error {
  constructor(
    readonly dependency: Dependency,
    message: string,
  ) {
    super(message);
    this.name = 'DependencyError';
  }
}

const signalsResponse = z.object({
  model_name: z.string(),
  model_version: z.coerce.number(),
  generated_at: z.string().optional(),
  signals: z.array(
    z
      .object({
        symbol: z.string(),
        score: z.number(),
        target_weight: z.number(),
      })
      .passthrough(),
  ),
});
export type SignalsResponse = z.infer<typeof signalsResponse>;

const exposureResponse = z.object({
  exposure: z.array(z.object({ symbol: z.string(), position_qty: z.coerce.number(), open_qty: z.coerce.number() }).passthrough()),
});

export interface GatewayExposure {
  symbol: string;
  /** Signed: short positions are negative. */
  positionQty: number;
  /** What the symbol's open orders (pending_submit or resting) would still add, signed. */
  openQty: number;
}

export interface OrderRequest {
  client_order_id: string;
  symbol: string;
  side: 'buy' | 'sell';
  qty: number;
  type: 'market';
}

export interface OrderReply {
  httpStatus: number | undefined;
  body: unknown;
  /** Set when the gateway could not be reached or did not answer in time. */
  error?: string;
}

async function call(dependency: Dependency, url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
    throw new DependencyError(dependency, `${dependency} unreachable at ${url} (${why}); is it running?`);
  }
}

async function errorText(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    return body.error?.message ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}

export class SignalClient {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  async generate(symbols: string[]): Promise<SignalsResponse> {
    const url = `${this.baseUrl}/signals`;
    const res = await call('signal-service', url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbols }),
    }, this.timeoutMs);
    if (!res.ok) throw new DependencyError('signal-service', `signal-service POST /signals answered ${res.status}: ${await errorText(res)}`);
    const parsed = signalsResponse.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) {
      throw new DependencyError('signal-service', `signal-service POST /signals returned an unexpected body: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
    }
    return parsed.data;
  }

  async health(): Promise<void> {
    await expectOk('signal-service', `${this.baseUrl}/health`, this.timeoutMs);
  }
}

export class GatewayClient {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  /** Positions and open orders per symbol, so a run never orders again what an earlier run's open order will fill. */
  async exposure(): Promise<GatewayExposure[]> {
    const url = `${this.baseUrl}/exposure`;
    const res = await call('execution-gateway', url, {}, this.timeoutMs);
    if (!res.ok) throw new DependencyError('execution-gateway', `execution-gateway GET /exposure answered ${res.status}: ${await errorText(res)}`);
    const parsed = exposureResponse.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) throw new DependencyError('execution-gateway', 'execution-gateway GET /exposure returned an unexpected body');
    return parsed.data.exposure.map((e) => ({ symbol: e.symbol.toUpperCase(), positionQty: e.position_qty, openQty: e.open_qty }));
  }

  /** Never throws: the caller records every outcome, including an unreachable gateway. */
  async submitOrder(order: OrderRequest): Promise<OrderReply> {
    try {
      const res = await call('execution-gateway', `${this.baseUrl}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(order),
      }, this.timeoutMs);
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // A non-JSON answer is kept as text for the run record.
      }
      return { httpStatus: res.status, body };
    } catch (err) {
      return { httpStatus: undefined, body: undefined, error: (err as Error).message };
    }
  }

  async health(): Promise<void> {
    await expectOk('execution-gateway', `${this.baseUrl}/health`, this.timeoutMs);
  }
}

/** Latest prices from the hash quote:<SYM> that market-data writes (the same source the gateway values positions with). */
export class PriceReader {
  constructor(private readonly redis: Redis) {}

  async latest(symbols: readonly string[]): Promise<Map<string, number>> {
    const prices = new Map<string, number>();
    if (symbols.length === 0) return prices;
    let replies: [Error | null, unknown][];
    try {
      const pipe = this.redis.pipeline();
      for (const s of symbols) pipe.hget(`quote:${s}`, 'price');
      replies = (await pipe.exec()) ?? [];
    } catch (err) {
      throw new DependencyError('redis', `redis unavailable for latest prices (${(err as Error).message}); is it running at ${LINK_ENV.redis}?`);
    }
    replies.forEach(([err, value], i) => {
      if (err) throw new DependencyError('redis', `redis failed reading quote:${symbols[i]} (${err.message})`);
      const price = Number(value);
      if (value !== null && Number.isFinite(price) && price > 0) prices.set(symbols[i]!, price);
    });
    return prices;
  }
}

async function expectOk(dependency: Dependency, url: string, timeoutMs: number): Promise<void> {
  const res = await call(dependency, url, {}, timeoutMs);
  await res.arrayBuffer();
  if (!res.ok) throw new DependencyError(dependency, `${dependency} GET ${new URL(url).pathname} answered ${res.status}`);
}
