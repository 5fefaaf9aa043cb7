import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ProcessOwner } from '../stack/processes.ts';
import { startRedis, type RedisHandle } from '../stack/redis.ts';
import { startFaultProxyHost, type FaultProxyHost } from '../stack/fault-proxy-host.ts';
import { toxiproxyClient } from '../verify/drivers/toxiproxy.ts';

const test = suite<{ owner: ProcessOwner; redis?: RedisHandle; host?: FaultProxyHost }>("a stack's fault proxies in a process of their own", {
  owner: new ProcessOwner(),
});

test.before(async (ctx) => {
  ctx.redis = await startRedis(ctx.owner);
  ctx.host = await startFaultProxyHost(ctx.owner);
});

test.after(async (ctx) => {
  await ctx.owner.stopAll();
});

/**
 * Another process (as a service is) PINGs Redis through the proxy every 10 ms for `ms` and prints the slowest round
 * trip; resolves once it has begun, with its result to come.
 */
async function pinger(to: { host: string; port: number }, ms: number): Promise<{ slowestMs: Promise<number> }> {
  const script = `
    const net = require('node:net');
    const s = net.connect(${to.port}, ${JSON.stringify(to.host)});
    let slowest = 0, sent = 0, buf = '';
    const until = Date.now() + ${ms};
    const ping = () => { sent = performance.now(); s.write('PING\\r\\n'); };
    s.on('connect', () => { console.log('begun'); ping(); });
    s.on('data', (d) => {
      buf += d;
      if (!buf.includes('+PONG')) return;
      buf = '';
      slowest = Math.max(slowest, performance.now() - sent);
      if (Date.now() > until) { console.log(JSON.stringify({ slowest })); s.end(); return; }
      setTimeout(ping, 10);
    });
    s.on('error', (e) => { console.error(e.message); process.exit(1); });
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
  let onLine: (() => void) | undefined;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    lines.push(...d.split('\n').filter(Boolean));
    onLine?.();
  });
  await new Promise<void>((resolve, reject) => {
    onLine = () => lines.includes('begun') && resolve();
    child.once('exit', (code) => reject(new Error(`the pinger exited with ${code} before it began: ${lines.join(' | ')}`)));
  });
  const slowestMs = once(child, 'exit').then(([code]) => {
    const last = lines.at(-1) ?? '';
    if (code !== 0 || !last.startsWith('{')) throw new Error(`the pinger exited with ${String(code)}: ${lines.join(' | ')}`);
    return (JSON.parse(last) as { slowest: number }).slowest;
  });
  return { slowestMs };
}

test('runs in a process of its own, and adds a proxy that forwards to its upstream', async ({ host, redis }) => {
  assert.ok(host!.process.pid !== undefined && host!.process.pid !== process.pid);
  const hop = await host!.add('redis', redis!);
  assert.equal(host!.names(), ['redis']);
  const proxies = await toxiproxyClient(host!.url).proxies();
  assert.is(proxies.redis?.upstream, `${redis!.host}:${redis!.port}`);
  assert.is(proxies.redis?.listen, `${hop.host}:${hop.port}`);
  const { slowestMs } = await pinger(hop, 200);
  assert.ok((await slowestMs) >= 0);
});

test("keeps forwarding while the process that started it is busy: the harness's pauses never reach the stack", async ({ host, redis }) => {
  const hop = await host!.add('redis-2', redis!);
  const { slowestMs } = await pinger(hop, 2500);
  // This process's event loop is blocked for a second, as a judge's long synchronous step would block it. Had the
  // proxy run here, every round trip in that second would wait for it; in its own process none does.
  const blockedUntil = Date.now() + 1000;
  while (Date.now() < blockedUntil) {
    // busy: no timer, socket or proxy of this process runs
  }
  const slowest = await slowestMs;
  assert.ok(slowest < 500, `the slowest PING through the proxy took ${slowest.toFixed(0)} ms while this process was blocked for 1000 ms`);
});

test('a second proxy of the same name is refused, naming the process log', async ({ host, redis }) => {
  const err = await host!.add('redis', redis!).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.match(err?.message ?? '', /creating redis \(to 127\.0\.0\.1:\d+\) answered 409 proxy already exists/);
});

test('stops when asked, its proxies with it', async ({ host }) => {
  const hop = await host!.add('redis-3', { host: '127.0.0.1', port: 9 });
  await host!.stop();
  assert.not.ok(host!.process.running);
  const refused = await pinger(hop, 100).then(
    () => 'connected',
    (e: Error) => e.message,
  );
  assert.match(refused, /exited with 1 before it began: connect ECONNREFUSED/);
});

test.run();
