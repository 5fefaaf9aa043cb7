// A stack's fault proxies in a process of their own, created and driven through the toxiproxy-compatible API
// (stack/toxiproxy-api.ts), as toxiproxy-server runs beside a system under test. Every byte a service sends Postgres,
// Redis, the broker or another service crosses a proxy, so the proxies must not share an event loop with the harness:
// there, a 200-300 ms pause of the judge (five shards' polling and judging in one process) delayed every stack's Redis
// round trips at once, and SlowSignalGeneration fired on stacks with no fault (docs/verify-alerts.md, "Shards").
// Env: HOST (default 127.0.0.1) and PORT (the API's; 0 = any free one). Proxies are added with POST /proxies.
import { runMain } from '../services/kit/main.ts';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { startToxiproxyApi } from './toxiproxy-api.ts';

runMain('fault-proxies', async () => {
  const proxies: FaultProxy[] = [];
  const api = await startToxiproxyApi([], {
    host: process.env.HOST ?? '127.0.0.1',
    port: Number(process.env.PORT ?? 0),
    create: async ({ name, listen, upstream }) => {
      const proxy = await startFaultProxy({ name, target: upstream, host: listen.host, port: listen.port });
      proxies.push(proxy);
      return proxy;
    },
  });
  return {
    url: api.url,
    async close() {
      await api.close();
      await Promise.all(proxies.map((p) => p.close()));
    },
  };
});
