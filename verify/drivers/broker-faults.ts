// Client for fake-alpaca's fault admin API (GET/PUT/DELETE /admin/faults, see docs/contracts.md).
import { z } from 'zod';
import { requestJson } from '../http-json.ts';
import { adminAuthHeaders } from '../admin-auth.ts';

/** The broker faults as docs/contracts.md defines them; verify talks to services over HTTP only, so the shape lives here too. */
export interface Faults {
  /** Delay added to every REST response. */
  latencyMs: number;
  /** Share (0..1) of REST requests answered 5xx. */
  errorRate: number;
  /** Share (0..1) of REST requests answered 429 (Alpaca's rate limit) with `Retry-After: retryAfterS`. */
  rateLimit: { share: number; retryAfterS: number };
  /** Orders for these symbols are answered 503 (a partial outage); other symbols trade normally. */
  errorSymbols: string[];
  /** Share (0..1) of orders rejected 403 "insufficient buying power". */
  rejectRate: number;
  /** Main listener closed: clients get ECONNREFUSED. */
  refuseConnections: boolean;
  /** Close every stream client and refuse new ones. */
  wsDrop: boolean;
  /** Keep stream sockets open but send nothing. */
  wsSilent: boolean;
  marketOpen: boolean;
}

const share = z.number().min(0).max(1);

/** A change to some of the faults, as the matrix's broker steps write it. */
export const brokerFaultsPatch = z
  .object({
    latencyMs: z.number().nonnegative(),
    errorRate: share,
    rateLimit: z.object({ share, retryAfterS: z.number().nonnegative() }).strict(),
    errorSymbols: z.array(z.string()),
    rejectRate: share,
    refuseConnections: z.boolean(),
    wsDrop: z.boolean(),
    wsSilent: z.boolean(),
    marketOpen: z.boolean(),
  })
  .strict()
  .partial()
  .refine((p) => Object.keys(p).length > 0, 'set at least one fault');

export interface BrokerFaults {
  adminUrl: string;
  /** Merges p into the current faults; resolves with the faults now in force. */
  set(p: Partial<Faults>): Promise<Faults>;
  /** Clears every fault (market open again); resolves with the faults now in force. */
  clear(): Promise<Faults>;
  get(): Promise<Faults>;
}

export function brokerFaults(adminUrl: string, opts: { timeoutMs?: number } = {}): BrokerFaults {
  const base = adminUrl.replace(/\/+$/, '');
  const url = `${base}/admin/faults`;
  const call = async (method: string, body?: unknown): Promise<Faults> => {
    const res = await requestJson({ what: 'fake-alpaca admin', method, url, body, timeoutMs: opts.timeoutMs, headers: adminAuthHeaders() });
    if (!isFaults(res)) throw new Error(`fake-alpaca admin ${method} ${url} answered ${JSON.stringify(res)?.slice(0, 200)}, not a faults object; is ${base} fake-alpaca's admin URL?`);
    return res;
  };
  return {
    adminUrl: base,
    set: (p) => call('PUT', p),
    clear: () => call('DELETE'),
    get: () => call('GET'),
  };
}

function isFaults(v: unknown): v is Faults {
  if (typeof v !== 'object' || v === null) return false;
  const f = v as Record<string, unknown>;
  return (
    ['latencyMs', 'errorRate', 'rejectRate'].every((k) => typeof f[k] === 'number') &&
    typeof f.rateLimit === 'object' && f.rateLimit !== null && typeof (f.rateLimit as Record<string, unknown>).share === 'number' &&
    Array.isArray(f.errorSymbols) && f.errorSymbols.every((s) => typeof s === 'string') &&
    ['refuseConnections', 'wsDrop', 'wsSilent', 'marketOpen'].every((k) => typeof f[k] === 'boolean')
  );
}
