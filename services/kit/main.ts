// Process entry helper for every service main.ts: start, log the URL, stop cleanly on SIGINT/SIGTERM.
import { ConfigError } from './config.ts';

export interface Started {
  url: string;
  /** More URLs for the listening line, e.g. a separate admin listener. */
  extra?: Record<string, string>;
  close(): Promise<void>;
}

export function runMain(service: string, start: () => Promise<Started>): void {
  // Through a promise, so a config error thrown while building start's arguments is reported in one line too.
  Promise.resolve()
    .then(start)
    .then((started) => {
      // One machine-readable line so launchers can find the URL without parsing logs.
      process.stdout.write(`${JSON.stringify({ msg: 'listening', service, url: started.url, ...started.extra })}\n`);
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        const force = setTimeout(() => process.exit(1), 8000);
        force.unref();
        started
          .close()
          .then(() => process.exit(0))
          .catch((err: unknown) => {
            process.stderr.write(`${service}: error during shutdown on ${signal}: ${String(err)}\n`);
            process.exit(1);
          });
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    })
    .catch((err: unknown) => {
      const msg = err instanceof ConfigError ? err.message : `${service}: failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}`;
      process.stderr.write(`${msg}\n`);
      process.exit(err instanceof ConfigError ? 2 : 1);
    });
}
