// Starts a stack's fault-proxy process (stack/fault-proxy-main.ts) and adds its proxies through toxiproxy's
// POST /proxies; the proxy driver (verify/drivers/proxy.ts) drives them through the same API.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostPort } from './index.ts';
import type { ManagedProcess, ProcessOwner } from './processes.ts';
import { freePort } from './ports.ts';
import { waitForListening } from './services.ts';
import { startAlone } from './start-gate.ts';
import { address, parseAddress } from './toxiproxy-api.ts';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fault-proxy-main.ts');

export interface FaultProxyHost {
  /** The toxiproxy-compatible API, e.g. http://127.0.0.1:41234 */
  url: string;
  process: ManagedProcess;
  /** Names of the proxies added, in order. */
  names(): string[];
  /** A proxy named name in front of target; resolves with the address clients use instead of target. */
  add(name: string, target: HostPort): Promise<HostPort>;
  stop(): Promise<void>;
}

export async function startFaultProxyHost(owner: ProcessOwner, opts: { host?: string; timeoutMs?: number } = {}): Promise<FaultProxyHost> {
  const host = opts.host ?? '127.0.0.1';
  const port = await freePort(host);
  const spec = { name: 'fault-proxies', command: process.execPath, args: ['--import', 'tsx', MAIN], env: { ...process.env, HOST: host, PORT: String(port) } };
  let proc!: ManagedProcess;
  const { url } = await startAlone(() => {
    proc = owner.spawn(spec);
    return waitForListening(proc, 'fault-proxies', opts.timeoutMs ?? 30_000);
  });
  const names: string[] = [];
  return {
    url,
    process: proc,
    names: () => [...names],
    async add(name, target) {
      const res = await fetch(`${url}/proxies`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, listen: address(host, 0), upstream: address(target.host, target.port) }),
      });
      const body = (await res.json().catch(() => ({}))) as { listen?: string; error?: string };
      const hop = res.status === 201 ? parseAddress(body.listen) : undefined;
      if (!hop) {
        throw new Error(`fault proxies at ${url}: creating ${name} (to ${target.host}:${target.port}) answered ${res.status} ${body.error ?? ''}; process log tail:\n${proc.tail()}`);
      }
      names.push(name);
      return hop;
    },
    stop: () => proc.stop(),
  };
}
