// JSON over HTTP for the harness' API clients: one request with a timeout, and errors naming the URL and the cause.

export interface JsonRequest {
  /** Who answers, for error messages ("Prometheus", "Alertmanager", "fake-alpaca admin"). */
  what: string;
  method?: string;
  url: string;
  body?: unknown;
  timeoutMs?: number;
  /** Extra request headers (an admin route's Authorization). */
  headers?: Record<string, string>;
}

/** Sends the request; resolves with the parsed JSON body (undefined for an empty body), rejects on a non-2xx answer. */
export async function requestJson(req: JsonRequest): Promise<unknown> {
  const text = await requestText(req);
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${req.what} ${req.method ?? 'GET'} ${req.url} answered with a body that is not JSON: ${text.slice(0, 200)}`);
  }
}

/** Sends the request; resolves with the body text, rejects on a network failure, a timeout or a non-2xx answer. */
export async function requestText(req: JsonRequest): Promise<string> {
  const method = req.method ?? 'GET';
  const timeoutMs = req.timeoutMs ?? 10_000;
  let res: Response;
  try {
    res = await fetch(req.url, {
      method,
      headers: { accept: 'application/json', ...(req.body === undefined ? {} : { 'content-type': 'application/json' }), ...req.headers },
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new Error(`${req.what} ${method} ${req.url} failed: ${networkCause(err, timeoutMs)}; is ${req.what} running and not paused?`);
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`${req.what} ${method} ${req.url} answered HTTP ${res.status}: ${errorText(text) || res.statusText}`);
  return text;
}

/** The error an API put in its body: Prometheus' {errorType, error}, Alertmanager's {message}, else the raw text. */
function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { errorType?: unknown; error?: unknown; message?: unknown };
    if (typeof parsed.error === 'string') return typeof parsed.errorType === 'string' ? `${parsed.errorType}: ${parsed.error}` : parsed.error;
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // Not JSON: the text itself is the message.
  }
  return body.trim().slice(0, 500);
}

function networkCause(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  // undici puts the socket error (ECONNREFUSED, ECONNRESET) in err.cause.
  const cause = err instanceof Error ? (err.cause as NodeJS.ErrnoException | undefined) : undefined;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  if (cause?.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}
