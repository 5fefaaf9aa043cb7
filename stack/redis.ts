// Ephemeral Redis: random loopback port, no persistence.
import { Redis } from 'ioredis';
import type { ManagedProcess, ProcessOwner } from './processes.ts';
import { freePort, sleep } from './ports.ts';

export interface RedisHandle {
  host: string;
  port: number;
  url: string;
  /** The server process; undefined for the container backend. */
  process?: ManagedProcess;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Resolves once the server is stopped and can answer nothing (see ManagedProcess.pause). */
  pause(): Promise<void>;
  /** Resolves once the server runs again. */
  resume(): Promise<void>;
}

export async function startRedis(owner: ProcessOwner, host = '127.0.0.1'): Promise<RedisHandle> {
  const dir = owner.tempDir('redis');
  const port = await freePort(host);
  const args = ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'no'];
  const spawnIt = (): ManagedProcess => owner.spawn({ name: `redis-${port}`, command: 'redis-server', args });
  let proc = spawnIt();
  const url = `redis://${host}:${port}`;
  await waitForRedis(url, proc);
  return {
    host,
    port,
    url,
    get process() {
      return proc;
    },
    stop: () => proc.stop(),
    async start() {
      if (proc.running) return;
      proc = spawnIt();
      await waitForRedis(url, proc);
    },
    pause: () => proc.pause(),
    resume: () => proc.resume(),
  };
}

async function waitForRedis(url: string, proc: ManagedProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.running) throw new Error(`redis-server exited during startup:\n${proc.tail()}`);
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return;
    } catch {
      client.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis not ready after ${timeoutMs} ms:\n${proc.tail()}`);
    await sleep(50);
  }
}
