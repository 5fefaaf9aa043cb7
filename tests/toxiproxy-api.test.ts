import net from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../stack/ports.ts';
import { ProcessOwner } from '../stack/processes.ts';
import { startFaultProxy, type FaultProxy } from '../stack/fault-proxy.ts';
import { startToxiproxyApi, type ToxiproxyApi } from '../stack/toxiproxy-api.ts';
import { toxiproxyClient, type ToxiproxyClient } from '../verify/drivers/toxiproxy.ts';
import { startFaultProxyHost } from '../stack/fault-proxy-host.ts';
import { findToxiproxyServer, startToxiproxyServer } from './helpers/toxiproxy.ts';

/** A TCP echo server: whatever a client sends comes back. */
interface Echo {
  host: string;
  port: number;
  close(): Promise<void>;
}

async function startEcho(): Promise<Echo> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One toxiproxy API with a proxy named `proxy` in front of an echo server; close() stops all of it. */
interface Backend {
  api: string;
  proxy: string;
  listen: { host: string; port: number };
  upstream: { host: string; port: number };
  /** Whether bytes sent into a black hole are delivered once it is cleared (ours), or dropped and the connection closed (toxiproxy). */
  releasesBlackHole: boolean;
  close(): Promise<void>;
}

async function oursBackend(): Promise<Backend & { faultProxy: FaultProxy; server: ToxiproxyApi }> {
  const echo = await startEcho();
  const faultProxy = await startFaultProxy({ name: 'echo', target: echo });
  const server = await startToxiproxyApi([faultProxy]);
  return {
    api: server.url,
    proxy: 'echo',
    listen: { host: faultProxy.host, port: faultProxy.port },
    upstream: echo,
    releasesBlackHole: true,
    faultProxy,
    server,
    async close() {
      await server.close();
      await faultProxy.close();
      await echo.close();
    },
  };
}

/**
 * A toxiproxy API in a process of its own, with a proxy named echo in front of an echo server: start() starts the
 * server under owner and adds the proxy; close() stops all of it.
 */
async function processBackend(
  releasesBlackHole: boolean,
  start: (owner: ProcessOwner, echo: Echo) => Promise<{ api: string; listen: { host: string; port: number } }>,
): Promise<Backend> {
  const echo = await startEcho();
  const owner = new ProcessOwner();
  const close = async (): Promise<void> => {
    await owner.stopAll();
    await echo.close();
  };
  try {
    const { api, listen } = await start(owner, echo);
    return { api, proxy: 'echo', listen, upstream: echo, releasesBlackHole, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Our fault proxies in a process of their own (how a stack runs them), the proxy added with POST /proxies. */
const ownProcessBackend = (): Promise<Backend> =>
  processBackend(true, async (owner, echo) => {
    const host = await startFaultProxyHost(owner);
    return { api: host.url, listen: await host.add('echo', echo) };
  });

const realBackend = (command: string): Promise<Backend> =>
  processBackend(false, async (owner, echo) => {
    const server = await startToxiproxyServer(owner, command);
    return { api: server.url, listen: await server.createProxy('echo', echo) };
  });

const sockets = new Set<net.Socket>();

function connect(to: { host: string; port: number }): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: to.host, port: to.port });
    sockets.add(s);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function destroySockets(): void {
  for (const s of sockets) s.destroy();
  sockets.clear();
}

/** What happens on a socket within ms: the bytes it got, and how it ended ('open' if it did not). */
function watch(s: net.Socket, ms: number): Promise<{ got: string; end: string }> {
  return new Promise((resolve) => {
    let got = '';
    const done = (end: string): void => {
      clearTimeout(timer);
      s.off('data', onData);
      resolve({ got, end });
    };
    const onData = (d: Buffer): void => void (got += d.toString());
    const timer = setTimeout(() => done('open'), ms);
    s.on('data', onData);
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    s.once('close', () => done('closed'));
  });
}

/** Sends a line and resolves once it has come back, with the round trip in ms. */
function roundTrip(s: net.Socket, line: string, timeoutMs = 3000): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let got = '';
    const timer = setTimeout(() => reject(new Error(`no echo of ${JSON.stringify(line)} within ${timeoutMs} ms`)), timeoutMs);
    const onData = (d: Buffer): void => {
      got += d.toString();
      if (!got.includes(line)) return;
      clearTimeout(timer);
      s.off('data', onData);
      resolve(performance.now() - t0);
    };
    s.on('data', onData);
    s.write(line);
  });
}

async function medianRoundTrip(s: net.Socket, n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(await roundTrip(s, `rt${i}\n`));
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)]!;
}

async function connectOutcome(to: { host: string; port: number }): Promise<string> {
  return connect(to).then(
    (s) => {
      s.destroy();
      return 'connected';
    },
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );
}

async function api(b: { api: string }, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; contentType: string | null }> {
  const res = await fetch(`${b.api}${path}`, { method, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : (JSON.parse(text) as unknown), contentType: res.headers.get('content-type') };
}

async function toxicNames(client: ToxiproxyClient, proxy: string): Promise<string[]> {
  return (await client.proxies())[proxy]!.toxics.map((t) => t.name).sort();
}

/** The same client cases against one backend; only `releasesBlackHole` differs between ours and toxiproxy. */
function clientSuite(name: string, start: () => Promise<Backend>): void {
  const test = suite<{ b?: Backend; client?: ToxiproxyClient }>(`toxiproxy client against ${name}`, {});

  test.before(async (ctx) => {
    ctx.b = await start();
    ctx.client = toxiproxyClient(ctx.b.api);
  });

  test.after.each(async (ctx) => {
    destroySockets();
    await ctx.client?.clear(ctx.b!.proxy);
  });

  test.after(async (ctx) => {
    await ctx.b?.close();
  });

  test('lists the proxy with its listen and upstream addresses, enabled and without toxics', async ({ b, client }) => {
    const p = (await client!.proxies())[b!.proxy]!;
    assert.is(p.name, b!.proxy);
    assert.is(p.listen, `${b!.listen.host}:${b!.listen.port}`);
    assert.is(p.upstream, `${b!.upstream.host}:${b!.upstream.port}`);
    assert.is(p.enabled, true);
    assert.equal(p.toxics, []);
  });

  test('adds the latency in each direction as two toxics, and takes it away on clear', async ({ b, client }) => {
    const s = await connect(b!.listen);
    const pass = await medianRoundTrip(s, 5);
    await client!.setFault(b!.proxy, { kind: 'latency', ms: 100 });
    assert.equal(await toxicNames(client!, b!.proxy), ['alertproof_latency_down', 'alertproof_latency_up']);
    const slow = await medianRoundTrip(s, 5);
    await client!.clear(b!.proxy);
    const after = await medianRoundTrip(s, 5);
    console.log(`  latency via ${name}: round trip ${pass.toFixed(1)} ms, ${slow.toFixed(1)} ms at 100 ms each way, ${after.toFixed(1)} ms after clear`);
    // 100 ms each way: a round trip cannot be shorter than 200 ms, and a delay applied twice per direction would pass 400.
    assert.ok(slow >= 200, `round trip ${slow.toFixed(1)} ms at 100 ms each way, expected at least 200`);
    assert.ok(slow - pass < 300, `latency added ${(slow - pass).toFixed(1)} ms, expected about 200`);
    assert.ok(after < 50, `round trip ${after.toFixed(1)} ms after clear, expected the latency gone`);
  });

  test('holds a black hole in both directions until clear, then answers new connections', async ({ b, client }) => {
    const held = await connect(b!.listen);
    await roundTrip(held, 'before\n');
    await client!.setFault(b!.proxy, { kind: 'timeout' });
    assert.equal(await toxicNames(client!, b!.proxy), ['alertproof_timeout_down', 'alertproof_timeout_up']);
    held.write('held\n');
    const fresh = await connect(b!.listen);
    fresh.write('fresh\n');
    const [heldDuring, freshDuring] = await Promise.all([watch(held, 400), watch(fresh, 400)]);
    assert.equal(heldDuring, { got: '', end: 'open' }, 'an open connection gets nothing and stays open');
    assert.equal(freshDuring, { got: '', end: 'open' }, 'a new connection is accepted and gets nothing');
    const heldAfter = watch(held, 400);
    await client!.clear(b!.proxy);
    if (b!.releasesBlackHole) assert.equal(await heldAfter, { got: 'held\n', end: 'open' }, 'ours delivers what it held');
    else assert.equal(await heldAfter, { got: '', end: 'closed' }, 'toxiproxy dropped what it held and closes the connection');
    await roundTrip(await connect(b!.listen), 'after\n');
  });

  test('resets a new connection that sends, and accepts again after clear', async ({ b, client }) => {
    await client!.setFault(b!.proxy, { kind: 'reset' });
    assert.equal(await toxicNames(client!, b!.proxy), ['alertproof_reset_down', 'alertproof_reset_up']);
    const s = await connect(b!.listen).catch((err: NodeJS.ErrnoException) => err.code ?? err.message);
    if (typeof s === 'string') assert.is(s, 'ECONNRESET');
    else {
      s.write('hello\n');
      assert.equal(await watch(s, 2000), { got: '', end: 'ECONNRESET' });
    }
    await client!.clear(b!.proxy);
    await roundTrip(await connect(b!.listen), 'after\n');
  });

  test('refuses connections while down and accepts them again after clear', async ({ b, client }) => {
    const open = await connect(b!.listen);
    await roundTrip(open, 'before\n');
    const ended = watch(open, 2000);
    await client!.setFault(b!.proxy, { kind: 'down' });
    assert.is((await client!.proxies())[b!.proxy]!.enabled, false);
    assert.is((await ended).end, 'closed', 'an open connection is closed');
    assert.is(await connectOutcome(b!.listen), 'ECONNREFUSED');
    await client!.clear(b!.proxy);
    assert.is((await client!.proxies())[b!.proxy]!.enabled, true);
    await roundTrip(await connect(b!.listen), 'after\n');
  });

  test('replaces its previous fault rather than stacking faults', async ({ b, client }) => {
    await client!.setFault(b!.proxy, { kind: 'latency', ms: 50 });
    await client!.setFault(b!.proxy, { kind: 'timeout' });
    assert.equal(await toxicNames(client!, b!.proxy), ['alertproof_timeout_down', 'alertproof_timeout_up']);
    await client!.setFault(b!.proxy, { kind: 'down' });
    assert.equal(await toxicNames(client!, b!.proxy), []);
    await client!.setFault(b!.proxy, { kind: 'latency', ms: 10 });
    const p = (await client!.proxies())[b!.proxy]!;
    assert.is(p.enabled, true);
    assert.equal(p.toxics.map((t) => [t.name, t.stream, t.attributes]).sort(), [
      ['alertproof_latency_down', 'downstream', { latency: 10, jitter: 0 }],
      ['alertproof_latency_up', 'upstream', { latency: 10, jitter: 0 }],
    ]);
  });

  test('clear removes only the toxics the client added', async ({ b, client }) => {
    const added = await api(b!, 'POST', `/proxies/${b!.proxy}/toxics`, { name: 'user_latency', type: 'latency', stream: 'upstream', attributes: { latency: 0 } });
    assert.is(added.status, 200);
    await client!.clear(b!.proxy);
    assert.equal(await toxicNames(client!, b!.proxy), ['user_latency']);
    assert.is((await api(b!, 'DELETE', `/proxies/${b!.proxy}/toxics/user_latency`)).status, 204);
  });

  test('names the API and the proxies it has when a proxy does not exist', async ({ b, client }) => {
    const want = new RegExp(`toxiproxy at ${b!.api.replace(/[.]/g, '\\.')} has no proxy named "nope"; it has: echo`);
    for (const call of [() => client!.setFault('nope', { kind: 'timeout' }), () => client!.clear('nope')]) {
      const err = await call().then(() => undefined, (e: Error) => e);
      assert.ok(err, 'expected a rejection');
      assert.match(err.message, want);
    }
  });

  test('answers toxiproxy errors with toxiproxy statuses and messages, as JSON', async ({ b }) => {
    const cases: [string, string, unknown, number, string][] = [
      ['GET', '/proxies/nope', undefined, 404, 'proxy not found'],
      ['POST', '/proxies/nope/toxics', { type: 'latency' }, 404, 'proxy not found'],
      ['POST', `/proxies/${b!.proxy}/toxics`, { type: 'bogus' }, 400, 'invalid toxic type'],
      ['POST', `/proxies/${b!.proxy}/toxics`, { type: 'latency', stream: 'sideways' }, 400, 'stream was invalid, can be either upstream or downstream'],
      ['POST', `/proxies/${b!.proxy}/toxics`, '{not json', 400, 'bad request body'],
      ['POST', `/proxies/${b!.proxy}/toxics`, { type: 'latency', attributes: { latency: 'x' } }, 400, 'bad request body'],
      ['GET', `/proxies/${b!.proxy}/toxics/nope`, undefined, 404, 'toxic not found'],
      ['DELETE', `/proxies/${b!.proxy}/toxics/nope`, undefined, 404, 'toxic not found'],
    ];
    for (const [method, path, body, status, message] of cases) {
      const res = await api(b!, method, path, body);
      const what = `${method} ${path} ${JSON.stringify(body)}`;
      assert.is(res.status, status, what);
      const json = res.json as { error: string; status: number };
      assert.is(json.status, status, what);
      assert.ok(json.error.startsWith(message), `${what}: error ${JSON.stringify(json.error)} should start with ${JSON.stringify(message)}`);
    }
  });

  test('creates a toxic with toxiproxy defaults, refuses its name twice (409), and resets', async ({ b, client }) => {
    const created = await api(b!, 'POST', `/proxies/${b!.proxy}/toxics`, { type: 'latency', attributes: { latency: 5 } });
    assert.is(created.status, 200);
    assert.equal(created.json, { attributes: { latency: 5, jitter: 0 }, name: 'latency_downstream', type: 'latency', stream: 'downstream', toxicity: 1 });
    const again = await api(b!, 'POST', `/proxies/${b!.proxy}/toxics`, { type: 'latency', attributes: { latency: 5 } });
    assert.is(again.status, 409);
    assert.ok((again.json as { error: string }).error.startsWith('toxic already exists'));
    assert.is((await api(b!, 'POST', `/proxies/${b!.proxy}`, { enabled: false })).status, 200);
    assert.is((await api(b!, 'POST', '/reset')).status, 204);
    const p = (await client!.proxies())[b!.proxy]!;
    assert.is(p.enabled, true);
    assert.equal(p.toxics, []);
  });

  test.run();
}

/** POST /proxies, as a stack adds its proxies to its proxy process: the same answers from ours and from toxiproxy. */
function creationSuite(name: string, start: () => Promise<Backend>): void {
  const test = suite<{ b?: Backend }>(`proxy creation against ${name}`, {});
  test.before(async (ctx) => {
    ctx.b = await start();
  });
  test.after(async (ctx) => {
    destroySockets();
    await ctx.b?.close();
  });

  test('creates a proxy (201) on the port asked for, which forwards at once', async ({ b }) => {
    const port = await freePort();
    const created = await api(b!, 'POST', '/proxies', { name: 'second', listen: `127.0.0.1:${port}`, upstream: `${b!.upstream.host}:${b!.upstream.port}` });
    assert.is(created.status, 201);
    // toxiproxy 2.5.0 also writes an empty "Logger" object here; the proxy's own fields are what a client reads.
    const { name, listen, upstream, enabled, toxics } = created.json as Record<string, unknown>;
    assert.equal({ name, listen, upstream, enabled, toxics }, { name: 'second', listen: `127.0.0.1:${port}`, upstream: `${b!.upstream.host}:${b!.upstream.port}`, enabled: true, toxics: [] });
    assert.ok(((await api(b!, 'GET', '/proxies')).json as Record<string, unknown>).second, 'listed with the others');
    const s = await connect({ host: '127.0.0.1', port });
    assert.ok((await roundTrip(s, 'through the new proxy\n')) >= 0);
  });

  test('creates a disabled proxy that refuses connections until enabled', async ({ b }) => {
    const port = await freePort();
    const created = await api(b!, 'POST', '/proxies', { name: 'off', listen: `127.0.0.1:${port}`, upstream: `${b!.upstream.host}:${b!.upstream.port}`, enabled: false });
    assert.equal([created.status, (created.json as { enabled: boolean }).enabled], [201, false]);
    assert.is(await connectOutcome({ host: '127.0.0.1', port }), 'ECONNREFUSED');
    assert.is((await api(b!, 'POST', '/proxies/off', { enabled: true })).status, 200);
    assert.is(await connectOutcome({ host: '127.0.0.1', port }), 'connected');
  });

  test('refuses a name twice (409) and a proxy without a name or upstream (400)', async ({ b }) => {
    const upstream = `${b!.upstream.host}:${b!.upstream.port}`;
    const cases: [unknown, number, string][] = [
      [{ name: b!.proxy, listen: `127.0.0.1:${await freePort()}`, upstream }, 409, 'proxy already exists'],
      [{ listen: `127.0.0.1:${await freePort()}`, upstream }, 400, 'missing required field: name'],
      [{ name: 'no-upstream', listen: `127.0.0.1:${await freePort()}` }, 400, 'missing required field: upstream'],
    ];
    for (const [body, status, message] of cases) {
      const res = await api(b!, 'POST', '/proxies', body);
      const json = res.json as { error: string; status: number };
      assert.equal([res.status, json.status], [status, status], JSON.stringify(body));
      assert.ok(json.error.startsWith(message), `${JSON.stringify(body)}: error ${JSON.stringify(json.error)} should start with ${JSON.stringify(message)}`);
    }
  });

  test.run();
}

clientSuite('our toxiproxy API', oursBackend);
clientSuite('our fault proxies in a process of their own', ownProcessBackend);
creationSuite('our fault proxies in a process of their own', ownProcessBackend);

const toxiproxyServer = findToxiproxyServer();
if (toxiproxyServer) {
  clientSuite(`real toxiproxy (${toxiproxyServer})`, () => realBackend(toxiproxyServer));
  creationSuite(`real toxiproxy (${toxiproxyServer})`, () => realBackend(toxiproxyServer));
} else console.log('toxiproxy-server is not on PATH (scripts/ensure-tools builds it with Go): the client cases ran against our API only');

/** What only our API does: refuse what our fault proxy cannot do, and keep proxy mode and API state in step. */
const ours = suite<{ b?: Awaited<ReturnType<typeof oursBackend>>; client?: ToxiproxyClient }>('our toxiproxy API', {});

ours.before(async (ctx) => {
  ctx.b = await oursBackend();
  ctx.client = toxiproxyClient(ctx.b.api);
});

ours.after.each(async (ctx) => {
  destroySockets();
  await api(ctx.b!, 'POST', '/reset');
});

ours.after(async (ctx) => {
  await ctx.b?.close();
});

const toxicsPath = '/proxies/echo/toxics';

ours('answers its version and errors as JSON, unknown routes 404, and 405 to proxy creation when it was given no way to create', async ({ b }) => {
  const version = await api(b!, 'GET', '/version');
  assert.equal([version.status, version.json], [200, { version: 'alertproof' }]);
  const missing = await api(b!, 'GET', '/proxies/nope');
  assert.is(missing.contentType, 'application/json');
  assert.match((missing.json as { error: string }).error, /proxy not found: nope \(proxies here: echo\)/);
  assert.equal((await api(b!, 'GET', '/nothing')).json, { error: 'no such route: GET /nothing', status: 404 });
  for (const [method, path] of [['POST', '/proxies'], ['DELETE', '/proxies/echo'], ['POST', '/populate']] as const) {
    assert.is((await api(b!, method, path, method === 'DELETE' ? undefined : {})).status, 405, `${method} ${path}`);
  }
});

ours('refuses what our fault proxy cannot do with 400: toxicity, jitter, a timeout that closes, a delayed reset', async ({ b }) => {
  const cases: [unknown, RegExp][] = [
    [{ type: 'latency', toxicity: 0.5, attributes: { latency: 10 } }, /toxicity 0.5 is not supported.*set toxicity 1/],
    [{ type: 'latency', attributes: { latency: 10, jitter: 5 } }, /jitter 5 ms is not supported.*set jitter 0/],
    [{ type: 'latency', attributes: { latency: -1 } }, /latency >= 0/],
    [{ type: 'timeout', attributes: { timeout: 100 } }, /timeout with attributes.timeout 100 ms is not supported.*only timeout 0/],
    [{ type: 'reset_peer', attributes: { timeout: 5 } }, /reset_peer with attributes.timeout 5 ms is not supported.*only timeout 0/],
    [{ type: 'bandwidth', attributes: { rate: 1 } }, /invalid toxic type: "bandwidth"; alertproof's fault proxy serves latency, timeout, reset_peer/],
  ];
  for (const [body, message] of cases) {
    const res = await api(b!, 'POST', toxicsPath, body);
    assert.is(res.status, 400, JSON.stringify(body));
    assert.match((res.json as { error: string }).error, message);
  }
  assert.equal((await api(b!, 'GET', toxicsPath)).json, []);
  assert.is(b!.faultProxy.mode().kind, 'pass');
});

ours('answers 409 naming the toxic that holds the proxy when a second fault conflicts', async ({ b, client }) => {
  assert.is((await api(b!, 'POST', toxicsPath, { name: 'hole', type: 'timeout', stream: 'upstream' })).status, 200);
  const cases: [unknown, RegExp][] = [
    [{ type: 'latency', stream: 'downstream', attributes: { latency: 10 } }, /toxic hole \(timeout on upstream\) holds proxy echo: .*one kind of fault at a time; delete it first/],
    [{ name: 'hole2', type: 'timeout', stream: 'upstream' }, /toxic hole .*cannot stack two toxics on one stream/],
  ];
  for (const [body, message] of cases) {
    const res = await api(b!, 'POST', toxicsPath, body);
    assert.equal([res.status, (res.json as { status: number }).status], [409, 409]);
    assert.match((res.json as { error: string }).error, message);
  }
  const err = await client!.setFault('echo', { kind: 'reset' }).then(() => undefined, (e: Error) => e);
  assert.match(err?.message ?? '', /toxiproxy at http:\/\/127\.0\.0\.1:\d+: POST \/proxies\/echo\/toxics answered 409: toxic hole \(timeout on upstream\) holds proxy echo/);
  assert.equal((await api(b!, 'GET', toxicsPath)).json, [{ attributes: { timeout: 0 }, name: 'hole', type: 'timeout', stream: 'upstream', toxicity: 1 }], 'the failed fault left no toxic behind');
  assert.is(b!.faultProxy.mode().kind, 'timeout');
});

ours('applies one latency to both directions, so a latency toxic on the other stream must match it', async ({ b }) => {
  assert.is((await api(b!, 'POST', toxicsPath, { name: 'down', type: 'latency', attributes: { latency: 40 } })).status, 200);
  assert.equal(b!.faultProxy.mode(), { kind: 'latency', ms: 40 }, 'a lone downstream toxic delays both directions');
  const other = await api(b!, 'POST', toxicsPath, { name: 'up', type: 'latency', stream: 'upstream', attributes: { latency: 60 } });
  assert.is(other.status, 409);
  assert.match((other.json as { error: string }).error, /need the same attributes \(down has \{"latency":40,"jitter":0\}\)/);
  assert.is((await api(b!, 'POST', toxicsPath, { name: 'up', type: 'latency', stream: 'upstream', attributes: { latency: 40 } })).status, 200);
  assert.is((await api(b!, 'DELETE', `${toxicsPath}/down`)).status, 204);
  assert.equal(b!.faultProxy.mode(), { kind: 'latency', ms: 40 }, 'the remaining toxic still delays both directions');
  const updated = await api(b!, 'PATCH', `${toxicsPath}/up`, { attributes: { latency: 70 } });
  assert.equal([updated.status, (updated.json as { attributes: unknown }).attributes], [200, { latency: 70, jitter: 0 }]);
  assert.equal(b!.faultProxy.mode(), { kind: 'latency', ms: 70 });
  assert.is((await api(b!, 'DELETE', `${toxicsPath}/up`)).status, 204);
  assert.equal(b!.faultProxy.mode(), { kind: 'pass' });
});

ours('keeps toxics while a proxy is disabled and applies them when it is enabled again', async ({ b }) => {
  assert.is((await api(b!, 'POST', '/proxies/echo', { enabled: false })).status, 200);
  assert.is(b!.faultProxy.mode().kind, 'down');
  assert.is((await api(b!, 'POST', toxicsPath, { type: 'reset_peer', stream: 'upstream' })).status, 200);
  assert.is(b!.faultProxy.mode().kind, 'down', 'disabled wins over a toxic');
  const enabled = await api(b!, 'POST', '/proxies/echo', { enabled: true });
  assert.equal([enabled.status, (enabled.json as { enabled: boolean }).enabled], [200, true]);
  assert.is(b!.faultProxy.mode().kind, 'reset');
  const bad = await api(b!, 'POST', '/proxies/echo', { enabled: 'yes' });
  assert.equal(bad.json, { error: 'bad request body: enabled must be true or false, got "yes"', status: 400 });
  const moved = await api(b!, 'POST', '/proxies/echo', { listen: '127.0.0.1:1' });
  assert.is(moved.status, 400);
  assert.match((moved.json as { error: string }).error, /changing listen .* is not supported/);
});

ours('answers 500 with the reason when a proxy cannot listen again, and stays disabled', async ({ b }) => {
  assert.is((await api(b!, 'POST', '/proxies/echo', { enabled: false })).status, 200);
  const squatter = net.createServer();
  await new Promise<void>((resolve) => squatter.listen(b!.faultProxy.port, b!.faultProxy.host, () => resolve()));
  try {
    const res = await api(b!, 'POST', '/proxies/echo', { enabled: true });
    assert.is(res.status, 500);
    assert.match((res.json as { error: string }).error, /fault proxy echo cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
    assert.is(((await api(b!, 'GET', '/proxies/echo')).json as { enabled: boolean }).enabled, false);
  } finally {
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
  }
  assert.is((await api(b!, 'POST', '/proxies/echo', { enabled: true })).status, 200);
  assert.is(b!.faultProxy.mode().kind, 'pass');
});

ours('the client says the API is not reachable when nothing listens there', async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const err = await toxiproxyClient(url).proxies().then(() => undefined, (e: Error) => e);
  assert.is(err?.message, `toxiproxy API not reachable at ${url} (ECONNREFUSED); is it running?`);
});

ours('the client refuses a latency toxiproxy cannot take', async ({ client }) => {
  const err = await client!.setFault('echo', { kind: 'latency', ms: 1.5 }).then(() => undefined, (e: Error) => e);
  assert.match(err?.message ?? '', /ms must be a whole number >= 0 \(toxiproxy takes whole ms\), got 1.5/);
});

ours.run();
