// Container backend (testcontainers): Postgres and Redis in Docker behind the same handles as the process backend.
import fs from 'node:fs';
import { GenericContainer, Wait, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { createDatabase, postgresUrl, type PostgresHandle } from './postgres.ts';
import type { RedisHandle } from './redis.ts';
import { freePort, waitForPort } from './ports.ts';

const DOCKER_SOCKET = '/var/run/docker.sock';

/** Fails with one line when no Docker engine answers, instead of testcontainers' multi-strategy trace. */
export async function assertDockerReachable(): Promise<void> {
  const where = process.env.DOCKER_HOST ?? DOCKER_SOCKET;
  const hint = `container backend needs a Docker engine; none reachable at ${where} (use --backend process)`;
  if (!process.env.DOCKER_HOST && !fs.existsSync(DOCKER_SOCKET)) throw new Error(hint);
  try {
    await getContainerRuntimeClient();
  } catch {
    throw new Error(hint);
  }
}

interface Controls {
  stop(): Promise<void>;
  start(): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Stops and removes the container. */
  remove(): Promise<void>;
}

/** Stop/start keep the container (and its fixed host port); pause uses the cgroup freezer like SIGSTOP does for processes. */
async function controls(container: StartedTestContainer, port: number): Promise<Controls> {
  const client = await getContainerRuntimeClient();
  const raw = client.container.getById(container.getId());
  let removed = false;
  return {
    async stop() {
      await client.container.stop(raw, { timeout: 5 });
    },
    async start() {
      await client.container.start(raw);
      await waitForPort(port);
    },
    // docker pause answers once the cgroup freezer reports the container frozen.
    async pause() {
      await raw.pause();
    },
    async resume() {
      await raw.unpause();
    },
    async remove() {
      if (removed) return;
      removed = true;
      await container.stop({ timeout: 5_000 }).catch(() => undefined);
    },
  };
}

export type ContainerPostgres = PostgresHandle & { remove(): Promise<void> };
export type ContainerRedis = RedisHandle & { remove(): Promise<void> };

export async function startPostgresContainer(host = '127.0.0.1'): Promise<ContainerPostgres> {
  await assertDockerReachable();
  // A fixed host port chosen up front keeps the URL stable across stop/start.
  const port = await freePort(host);
  const container = await new GenericContainer('postgres:15-alpine')
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
    .withCommand(['postgres', '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off', '-c', 'max_connections=200'])
    .withExposedPorts({ container: 5432, host: port })
    // The image restarts Postgres once after initdb; the second "ready" line is the real one.
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  const ctl = await controls(container, port);
  return {
    host,
    port,
    url: postgresUrl(host, port),
    createDatabase: (name) => createDatabase(host, port, name),
    ...ctl,
  };
}

export async function startRedisContainer(host = '127.0.0.1'): Promise<ContainerRedis> {
  await assertDockerReachable();
  const port = await freePort(host);
  const container = await new GenericContainer('redis:7-alpine')
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
    .withExposedPorts({ container: 6379, host: port })
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();
  const ctl = await controls(container, port);
  return { host, port, url: `redis://${host}:${port}`, ...ctl };
}
