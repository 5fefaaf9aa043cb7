// Which errors mean Postgres or Redis cannot serve (a 503 naming it), told apart from a bad statement or a bug by structured fields.

type Inspectable = Error & { code?: unknown; cause?: unknown; errors?: unknown };

/** Socket errors of a TCP dependency: refused, reset, aborted, timed out, broken pipe, no such name, no route. */
const SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
]);

/** The error and what it wraps: pg-pool keeps the socket error as `cause`, Node's multi-address connect uses an AggregateError. */
function chain(err: unknown, depth = 0): Inspectable[] {
  if (!(err instanceof Error) || depth > 3) return [];
  const e = err as Inspectable;
  const inner = [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])];
  return [e, ...inner.flatMap((x) => chain(x, depth + 1))];
}

const codeOf = (e: Inspectable): string | undefined => (typeof e.code === 'string' ? e.code : undefined);

const isSocketError = (e: Inspectable): boolean => SOCKET_CODES.has(codeOf(e) ?? '');

/**
 * SQLSTATEs of a server that cannot serve, whatever the statement: class 08 connection exception; class 53 insufficient
 * resources (53300 too many connections, 53100 disk full, 53200 out of memory); 57P01-57P05 admin shutdown, crash
 * shutdown, cannot connect now (starting up, shutting down), database dropped, idle session timeout; 57014, which
 * here is always statement_timeout (the services never cancel their own queries); class 58 system error (I/O).
 */
const PG_OUTAGE_SQLSTATE = /^(08...|53...|57P0[1-5]|57014|58...)$/;

/** node-postgres' and pg-pool's own errors for a connection that is gone or silent; they carry no code. */
const PG_CLIENT_OUTAGES: ReadonlySet<string> = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Connection terminated due to connection timeout',
  'timeout expired',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client has encountered a connection error and is not queryable',
]);

/** True when Postgres is unreachable or cannot serve; false for errors of the statement itself (23505, 42601, 22P02, ...) and bugs. */
export function isPostgresUnavailable(err: unknown): boolean {
  return chain(err).some((e) => {
    const code = codeOf(e);
    if (code === undefined) return PG_CLIENT_OUTAGES.has(e.message);
    return PG_OUTAGE_SQLSTATE.test(code) || isSocketError(e);
  });
}

/** ioredis' own errors for a connection that is down, closed or not answering (commandTimeout); they carry no code. */
const REDIS_CLIENT_OUTAGES: ReadonlySet<string> = new Set([
  'Command timed out',
  'Connection is closed.',
  "Stream isn't writeable and enableOfflineQueue options is false",
]);

/** ioredis gives up on a command with these when its connection dropped (after maxRetriesPerRequest reconnects). */
const REDIS_ABORTS: ReadonlySet<string> = new Set(['MaxRetriesPerRequestError', 'AbortError']);

/**
 * Reply errors of a server that is up but cannot serve any client now: loading its dataset, blocked by a script, no
 * writable primary, out of memory, persistence failing. Every other reply (WRONGTYPE, ERR syntax, ...) is the command's fault.
 */
const REDIS_UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|OOM|MISCONF) /;

/** True when Redis is unreachable or cannot serve; false for reply errors of the command itself (WRONGTYPE, ERR ...) and bugs. */
export function isRedisUnavailable(err: unknown): boolean {
  return chain(err).some((e) => {
    if (e.name === 'ReplyError') return REDIS_UNAVAILABLE_REPLY.test(e.message);
    return isSocketError(e) || REDIS_ABORTS.has(e.name) || (codeOf(e) === undefined && REDIS_CLIENT_OUTAGES.has(e.message));
  });
}
