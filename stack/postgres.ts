// Ephemeral PostgreSQL: initdb into a temp dir, random loopback port, unix socket in the temp dir.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { ManagedProcess, ProcessOwner } from './processes.ts';
import { freePort, sleep } from './ports.ts';

const execFileP = promisify(execFile);

export interface PostgresHandle {
  host: string;
  port: number;
  /** URL of the default "postgres" database. */
  url: string;
  /** The server process; undefined for the container backend. */
  process?: ManagedProcess;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
  /** Starts it again on the same port and data dir. */
  start(): Promise<void>;
  /** Resolves once the server is stopped and can answer nothing (see ManagedProcess.pause). */
  pause(): Promise<void>;
  /** Resolves once the server runs again. */
  resume(): Promise<void>;
}

/** Both backends run with trust auth for the "postgres" superuser, so host, port and database name make the whole URL. */
export function postgresUrl(host: string, port: number, database = 'postgres'): string {
  return `postgres://postgres@${host}:${port}/${database}`;
}

/** CREATE DATABASE on the server at host:port (either backend); returns the new database's URL. */
export async function createDatabase(host: string, port: number, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid database name ${name}`);
  const client = new pg.Client({ connectionString: postgresUrl(host, port) });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return postgresUrl(host, port, name);
}

export function findPgBin(tool: string): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const p = path.join(root, v, 'bin', tool);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`PostgreSQL's ${tool} not found under ${root}; run scripts/ensure-tools to install postgresql`);
}

/** Postgres refuses to run as root; as root we run it as the "postgres" system user. */
async function runAs(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const { stdout: uid } = await execFileP('id', ['-u', 'postgres']);
  const { stdout: gid } = await execFileP('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

export async function startPostgres(owner: ProcessOwner, host = '127.0.0.1'): Promise<PostgresHandle> {
  const dir = owner.tempDir('postgres');
  const dataDir = path.join(dir, 'data');
  const ids = await runAs();
  if (ids.uid !== undefined) fs.chownSync(dir, ids.uid, ids.gid ?? ids.uid);
  // initdb runs under the owner too, so a launcher killed mid-initdb leaves no initdb writing into a removed dir.
  const initdb = owner.spawn({
    name: 'initdb',
    command: findPgBin('initdb'),
    args: ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'],
    ...ids,
  });
  const initCode = await initdb.exited();
  if (initCode !== 0) throw new Error(`initdb failed (exit ${initCode}); its output:\n${initdb.tail()}`);
  const port = await freePort(host);
  const args = [
    '-D', dataDir, '-p', String(port), '-k', dir, '-c', `listen_addresses=${host}`,
    '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off',
    '-c', 'max_connections=200', '-c', 'shared_buffers=64MB',
  ];
  let proc = owner.spawn({ name: `postgres-${port}`, command: findPgBin('postgres'), args, ...ids });
  const url = postgresUrl(host, port);
  await waitForPostgres(url, proc);
  const handle: PostgresHandle = {
    host,
    port,
    url,
    get process() {
      return proc;
    },
    createDatabase: (name) => createDatabase(host, port, name),
    async stop() {
      // SIGINT is Postgres' "fast shutdown": clients are disconnected at once.
      await proc.stop(5000, 'SIGINT');
    },
    async start() {
      if (proc.running) return;
      proc = owner.spawn({ name: `postgres-${port}`, command: findPgBin('postgres'), args, ...ids });
      await waitForPostgres(url, proc);
    },
    pause: () => proc.pause(),
    resume: () => proc.resume(),
  };
  return handle;
}

async function waitForPostgres(url: string, proc: ManagedProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.running) throw new Error(`postgres exited during startup:\n${proc.tail()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`postgres not ready after ${timeoutMs} ms:\n${proc.tail()}`);
    await sleep(100);
  }
}
