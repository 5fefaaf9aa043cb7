// Load is only ever sent to this machine: any base URL whose host is not loopback is refused before a request is made.
import { isLoopbackHost } from '../../services/kit/loopback.ts';

export class NonLoopbackUrlError extends Error {}

/** Parses and checks a base URL; throws with what was wrong and what to do. */
export function assertLoopbackUrl(raw: string, what = 'base URL'): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new NonLoopbackUrlError(`${what} "${raw}" is not a valid URL; give one like http://127.0.0.1:8080`);
  }
  if (url.protocol !== 'http:') {
    throw new NonLoopbackUrlError(`${what} ${raw} uses ${url.protocol}; the load runner speaks plain http to the local stack only`);
  }
  if (!isLoopbackHost(url.hostname)) {
    throw new NonLoopbackUrlError(
      `refusing to send load to ${raw} (${what}): host ${url.hostname} is not loopback; ` +
        'load goes only to 127.0.0.0/8, localhost or [::1] — point the URL at the local stack',
    );
  }
  return url;
}
