// The load bench's target: a bare node:http server answering every request 200 with a small JSON body, in its own
// process so its CPU is not counted as the load generator's. Prints one {"msg":"listening","url":...} line.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runMain } from '../../services/kit/main.ts';

const BODY = JSON.stringify({ ok: true });
const HEADERS = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(BODY)) };

runMain('bare-http', async () => {
  const server = http.createServer((_req, res) => res.writeHead(200, HEADERS).end(BODY));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
});
