// HTTP errors that the service kit turns into JSON responses in one place; their messages are written for the client, so they are answered as is.
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, details?: unknown): HttpError =>
  new HttpError(400, 'bad_request', message, details);
export const notFound = (message: string): HttpError => new HttpError(404, 'not_found', message);
export const conflict = (message: string, details?: unknown): HttpError =>
  new HttpError(409, 'conflict', message, details);
export const unprocessable = (message: string, details?: unknown): HttpError =>
  new HttpError(422, 'unprocessable', message, details);
/** A dependency (database, Redis, broker, another service) is unavailable: 503, never a crash. */
export const unavailable = (dependency: string, message: string): HttpError =>
  new HttpError(503, 'dependency_unavailable', message, { dependency });
