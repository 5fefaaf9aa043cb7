// A client of toxiproxy's HTTP API (real toxiproxy, or stack/toxiproxy-api.ts over our fault proxies): one fault at a
// time on a named proxy, set as toxics this client names, so clearing it never touches anyone else's.

export type ProxyFault = { kind: 'latency'; ms: number } | { kind: 'timeout' } | { kind: 'reset' } | { kind: 'down' };

export interface ToxiproxyToxic {
  name: string;
  type: string;
  stream: string;
  toxicity: number;
  attributes: Record<string, unknown>;
}

export interface ToxiproxyProxy {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxiproxyToxic[];
}

export interface ToxiproxyClient {
  /** Every proxy the server has, by name. */
  proxies(): Promise<Record<string, ToxiproxyProxy>>;
  /** Replaces whatever fault this client set on the proxy with `fault`. */
  setFault(proxy: string, fault: ProxyFault): Promise<void>;
  /** Removes the toxics this client added and enables the proxy again; other toxics stay. */
  clear(proxy: string): Promise<void>;
}

/** Names of the toxics this client adds start with it; clear() removes those and no others. */
export const TOXIC_PREFIX = 'alertproof_';
const REQUEST_TIMEOUT_MS = 10_000;

/** An answer from the API that was not the one expected; `status` is the HTTP status. */
export class ToxiproxyError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * The toxics for a fault, one on each stream: toxiproxy's toxics act on one direction, and these faults are meant in
 * both (latency `ms` each way, so a round trip gains 2 x ms; a black hole neither side gets through; a reset whichever
 * side speaks first).
 */
function toxicsFor(fault: Exclude<ProxyFault, { kind: 'down' }>): ToxiproxyToxic[] {
  const [type, attributes]: [string, Record<string, number>] =
    fault.kind === 'latency'
      ? ['latency', { latency: fault.ms, jitter: 0 }]
      : fault.kind === 'timeout'
        ? ['timeout', { timeout: 0 }]
        : ['reset_peer', { timeout: 0 }];
  return (['upstream', 'downstream'] as const).map((stream) => ({
    name: `${TOXIC_PREFIX}${fault.kind}_${stream === 'upstream' ? 'up' : 'down'}`,
    type,
    stream,
    toxicity: 1,
    attributes,
  }));
}

export function toxiproxyClient(apiUrl: string): ToxiproxyClient {
  const base = apiUrl.replace(/\/+$/, '');

  const request = async <T>(method: string, path: string, expect: number, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as Error).cause as NodeJS.ErrnoException | undefined;
      throw new Error(`toxiproxy API not reachable at ${base} (${cause?.code ?? cause?.message ?? (err as Error).message}); is it running?`, { cause: err });
    }
    const text = await res.text();
    if (res.status !== expect) {
      // toxiproxy answers errors as {"error": "...", "status": N} (sent as text/plain by its Go server).
      let reason = text.trim();
      try {
        reason = String((JSON.parse(text) as { error?: unknown }).error ?? reason);
      } catch {
        // Not JSON: the raw text says what it says.
      }
      throw new ToxiproxyError(`toxiproxy at ${base}: ${method} ${path} answered ${res.status}: ${reason}`, res.status);
    }
    return (text === '' ? undefined : JSON.parse(text)) as T;
  };

  const proxies = (): Promise<Record<string, ToxiproxyProxy>> => request('GET', '/proxies', 200);

  const proxyPath = (name: string): string => `/proxies/${encodeURIComponent(name)}`;

  const getProxy = async (name: string): Promise<ToxiproxyProxy> => {
    try {
      return await request<ToxiproxyProxy>('GET', proxyPath(name), 200);
    } catch (err) {
      if (!(err instanceof ToxiproxyError) || err.status !== 404) throw err;
      const names = Object.keys(await proxies()).sort();
      throw new Error(`toxiproxy at ${base} has no proxy named "${name}"; it has: ${names.join(', ') || 'none'}`, { cause: err });
    }
  };

  const removeOwnToxics = async (p: ToxiproxyProxy): Promise<void> => {
    for (const t of p.toxics.filter((x) => x.name.startsWith(TOXIC_PREFIX))) {
      await request('DELETE', `${proxyPath(p.name)}/toxics/${encodeURIComponent(t.name)}`, 204).catch((err: unknown) => {
        // Gone already (someone reset the server): the wanted state.
        if (!(err instanceof ToxiproxyError && err.status === 404)) throw err;
      });
    }
  };

  const setEnabled = (name: string, enabled: boolean): Promise<ToxiproxyProxy> => request('POST', proxyPath(name), 200, { enabled });

  const clearProxy = async (p: ToxiproxyProxy): Promise<void> => {
    await removeOwnToxics(p);
    if (!p.enabled) await setEnabled(p.name, true);
  };

  return {
    proxies,
    async setFault(name, fault) {
      if (fault.kind === 'latency' && !(Number.isInteger(fault.ms) && fault.ms >= 0)) {
        throw new Error(`latency fault on proxy ${name}: ms must be a whole number >= 0 (toxiproxy takes whole ms), got ${fault.ms}`);
      }
      await clearProxy(await getProxy(name));
      if (fault.kind === 'down') {
        await setEnabled(name, false);
        return;
      }
      const added: string[] = [];
      try {
        for (const toxic of toxicsFor(fault)) {
          await request('POST', `${proxyPath(name)}/toxics`, 200, toxic);
          added.push(toxic.name);
        }
      } catch (err) {
        // Half a fault is worse than none: take back what was added, then report what refused.
        for (const t of added) await request('DELETE', `${proxyPath(name)}/toxics/${encodeURIComponent(t)}`, 204).catch(() => undefined);
        throw err;
      }
    },
    async clear(name) {
      await clearProxy(await getProxy(name));
    },
  };
}
