// Test fixture: a real toxiproxy-server (built by scripts/ensure-tools) on free loopback ports, owned by a ProcessOwner.
import fs from 'node:fs';
import path from 'node:path';
import { freePort, waitForHttp } from '../../stack/ports.ts';
import type { ProcessOwner } from '../../stack/processes.ts';

const COMMAND = 'toxiproxy-server';

/** Where toxiproxy-server is on PATH, or undefined when scripts/ensure-tools could not provide it. */
export function findToxiproxyServer(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, COMMAND);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

export interface ToxiproxyServer {
  /** API base URL */
  url: string;
  /** Creates a proxy listening on a free loopback port in front of upstream; resolves with its listen address. */
  createProxy(name: string, upstream: { host: string; port: number }): Promise<{ host: string; port: number }>;
}

export async function startToxiproxyServer(owner: ProcessOwner, command: string): Promise<ToxiproxyServer> {
  const host = '127.0.0.1';
  const apiPort = await freePort(host);
  const proc = owner.spawn({ name: `toxiproxy-${apiPort}`, command, args: ['-host', host, '-port', String(apiPort)] });
  const url = `http://${host}:${apiPort}`;
  await waitForHttp(`${url}/version`, { isAlive: () => proc.running, describe: () => proc.tail(), what: COMMAND, timeoutMs: 10_000 });
  return {
    url,
    async createProxy(name, upstream) {
      const port = await freePort(host);
      const res = await fetch(`${url}/proxies`, {
        method: 'POST',
        body: JSON.stringify({ name, listen: `${host}:${port}`, upstream: `${upstream.host}:${upstream.port}` }),
      });
      if (res.status !== 201) throw new Error(`${COMMAND} at ${url} refused proxy ${name}: ${res.status} ${await res.text()}`);
      return { host, port };
    },
  };
}
