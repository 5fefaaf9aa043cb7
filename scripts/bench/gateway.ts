// `npm run bench:gateway`: orders/s the execution gateway sustains on this machine, paired in the same run with a bare Koa route.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { HttpTransport, type HttpClient, type LoadResponse } from './http-client.ts';
import { Trend } from '../../load/runtime/stats.ts';
import { DEFAULT_SYMBOLS } from '../../services/kit/platform.ts';
import { startStack, type LocalStack } from '../../stack/index.ts';
import { waitForHttp } from '../../stack/ports.ts';
import { ProcessOwner, type ManagedProcess } from '../../stack/processes.ts';
import { startFixture } from './fixture.ts';
import { latencyOf, runClosedLoop, type LatencyMs, type WindowResult } from './closed-loop.ts';
import { DEFAULT_REPORT_DIR, fmt, machineInfo, markdownTable, positive, writeReport, type MachineInfo } from './report.ts';

const USAGE = `usage: npm run bench:gateway -- [--concurrency 16] [--rounds 3] [--round-seconds 5] [--warmup-seconds 2] [--report-dir reports]
  Starts Postgres, Redis, fake-alpaca and the execution gateway (stack/) plus a bare Koa app, then drives both with
  the same closed-loop client (POST /orders, market orders of 1 share), alternating rounds, and reports orders/s, p50/p99
  and the gateway/bare ratio. Prints a markdown table and writes reports/bench-gateway-<timestamp>.json.`;

type Target = 'bare' | 'gateway';

interface TargetResult extends WindowResult {
  latencyMs: LatencyMs;
}

export interface GatewayBenchReport {
  bench: 'gateway';
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  params: { concurrency: number; rounds: number; roundSeconds: number; warmupSeconds: number };
  conditions: string;
  rounds: Array<WindowResult & { round: number; target: Target }>;
  targets: Record<Target, TargetResult>;
  /** gateway orders/s divided by bare Koa requests/s, both measured in this run. */
  ratio: number;
  /** The gateway's own count of POST /orders (placement histogram _count) against what the client sent, warm-up included. */
  gatewayServer: { placements: number; clientRequests: number; meanPlacementMs: number };
}

function parseOptions(argv: string[]): { concurrency: number; rounds: number; roundSeconds: number; warmupSeconds: number; reportDir: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      concurrency: { type: 'string' },
      rounds: { type: 'string' },
      'round-seconds': { type: 'string' },
      'warmup-seconds': { type: 'string' },
      'report-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const opts = {
    concurrency: positive('concurrency', values.concurrency, 16, true),
    rounds: positive('rounds', values.rounds, 3, true),
    roundSeconds: positive('round-seconds', values['round-seconds'], 5),
    warmupSeconds: values['warmup-seconds'] === '0' ? 0 : positive('warmup-seconds', values['warmup-seconds'], 2),
    reportDir: path.resolve(values['report-dir'] ?? DEFAULT_REPORT_DIR),
  };
  // Bounded on purpose: the machine is shared, and a longer run would not change the ratio.
  const total = opts.rounds * 2 * opts.roundSeconds + 2 * opts.warmupSeconds;
  if (total > 90) throw new Error(`--rounds x 2 x --round-seconds + 2 x --warmup-seconds is ${total} s; keep the measured load under 90 s`);
  return opts;
}

/** The bare Koa app as a child process of its own, like the gateway, so both pay the same process and socket costs. */
async function startBare(owner: ProcessOwner): Promise<{ url: string; proc: ManagedProcess }> {
  const { url, proc } = await startFixture(owner, 'bare-koa', { HOST: '127.0.0.1', PORT: '0' });
  await waitForHttp(`${url}/health`, { what: 'bare-koa', isAlive: () => proc.running, describe: () => proc.tail() });
  return { url, proc };
}

/** Market orders of 1 share over the universe; each symbol's side leans back toward flat so position limits never bite. */
function orderSender(symbols: string[]): (client: HttpClient) => Promise<LoadResponse> {
  const token = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const net = new Map<string, number>();
  let n = 0;
  return (client) => {
    const seq = n++;
    const symbol = symbols[seq % symbols.length]!;
    const held = net.get(symbol) ?? 0;
    const side = held > 0 ? 'sell' : 'buy';
    net.set(symbol, held + (side === 'buy' ? 1 : -1));
    return client.post('/orders', { client_order_id: `bench-${token}-${seq}`, symbol, side, qty: 1, type: 'market' }, { name: 'place_order', expect: [201] });
  };
}

/** Sum of a histogram's _count and _sum series in exposition text. */
function histogramTotals(text: string, name: string): { count: number; sum: number } {
  let count = 0;
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+?)(_count|_sum)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (m[2] === '_count') count += Number(m[3]);
    else sum += Number(m[3]);
  }
  return { count, sum };
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const loadStart = os.loadavg();
  const startedAt = new Date();
  const log = (line: string): void => void process.stderr.write(`bench:gateway ${line}\n`);
  const owner = new ProcessOwner();
  let stack: LocalStack | undefined;
  const transport = new HttpTransport({ connections: opts.concurrency, timeoutMs: 10_000 });
  try {
    stack = await startStack({ owner, services: ['fake-alpaca', 'execution-gateway'], log: (l) => log(`stack: ${l}`) });
    const bare = await startBare(owner);
    const urls: Record<Target, string> = { bare: bare.url, gateway: stack.services['execution-gateway']!.url };
    const senders: Record<Target, (client: HttpClient) => Promise<LoadResponse>> = {
      bare: orderSender(DEFAULT_SYMBOLS.split(',')),
      gateway: orderSender(DEFAULT_SYMBOLS.split(',')),
    };
    const measureWindow = (target: Target, durationS: number): ReturnType<typeof runClosedLoop> =>
      runClosedLoop({ transport, baseUrl: urls[target], concurrency: opts.concurrency, durationS, send: senders[target] });

    let clientRequests = 0;
    if (opts.warmupSeconds > 0) {
      for (const target of ['bare', 'gateway'] as const) {
        const w = await measureWindow(target, opts.warmupSeconds);
        if (target === 'gateway') clientRequests += w.result.requests;
        log(`warm-up ${target}: ${w.result.requests} requests`);
      }
    }
    const rounds: GatewayBenchReport['rounds'] = [];
    const trends: Record<Target, Trend[]> = { bare: [], gateway: [] };
    for (let round = 1; round <= opts.rounds; round++) {
      // Alternate which goes first, so drift in the machine's other load falls on both sides alike.
      const order: Target[] = round % 2 === 1 ? ['bare', 'gateway'] : ['gateway', 'bare'];
      for (const target of order) {
        const { result, latency } = await measureWindow(target, opts.roundSeconds);
        if (target === 'gateway') clientRequests += result.requests;
        trends[target].push(latency);
        rounds.push({ round, target, ...result });
        log(`round ${round} ${target}: ${fmt(result.perSecond, 1)}/s ok ${result.ok} failed ${result.failed}`);
      }
    }
    const targets = Object.fromEntries(
      (['bare', 'gateway'] as const).map((target) => {
        const mine = rounds.filter((r) => r.target === target);
        const ok = mine.reduce((s, r) => s + r.ok, 0);
        const failed = mine.reduce((s, r) => s + r.failed, 0);
        const durationS = mine.reduce((s, r) => s + r.durationS, 0);
        const statuses: Record<string, number> = {};
        for (const r of mine) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
        return [target, { requests: ok + failed, ok, failed, durationS, perSecond: ok / durationS, statuses, latencyMs: latencyOf(Trend.merge(trends[target])) }];
      }),
    ) as Record<Target, TargetResult>;

    const metricsText = await (await fetch(`${urls.gateway}/metrics`)).text();
    const placement = histogramTotals(metricsText, 'execution_gateway_order_placement_duration_seconds');
    const report: GatewayBenchReport = {
      bench: 'gateway',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: machineInfo(loadStart),
      params: { concurrency: opts.concurrency, rounds: opts.rounds, roundSeconds: opts.roundSeconds, warmupSeconds: opts.warmupSeconds },
      conditions:
        `closed loop, ${opts.concurrency} concurrent keep-alive requests from one Node client in this process; gateway with real Postgres, ` +
        'Redis and fake-alpaca (market orders fill at the broker), LOG_LEVEL info; bare Koa app in its own Node process; all on this machine',
      rounds,
      targets,
      ratio: targets.gateway.perSecond / targets.bare.perSecond,
      gatewayServer: {
        placements: placement.count,
        clientRequests,
        meanPlacementMs: placement.count > 0 ? Math.round((placement.sum / placement.count) * 1e6) / 1e3 : Number.NaN,
      },
    };
    const file = writeReport('gateway', report, opts.reportDir, startedAt);
    const row = (name: string, t: TargetResult): (string | number)[] => [name, fmt(t.perSecond, 1), fmt(t.latencyMs.p50), fmt(t.latencyMs.p99), t.ok, t.failed];
    process.stdout.write(
      `${markdownTable(['target', 'req/s', 'p50 ms', 'p99 ms', 'ok', 'failed'], [row('bare Koa POST /orders', targets.bare), row('execution-gateway POST /orders', targets.gateway)])}\n\n` +
        `gateway / bare = ${fmt(report.ratio, 3)} (${opts.rounds} alternating rounds of ${opts.roundSeconds} s each, concurrency ${opts.concurrency}; ` +
        `load average ${report.machine.loadAvgStart[0]} -> ${report.machine.loadAvgEnd[0]} on ${report.machine.cpus} CPUs)\n${file}\n`,
    );
  } finally {
    await transport.close();
    await stack?.stop();
    await owner.stopAll();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:gateway failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
