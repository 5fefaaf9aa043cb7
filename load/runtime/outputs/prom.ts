// Runtime extra, not k6: the client-side metrics in Prometheus exposition (scrape job "loadgen"), so client figures
// sit next to the services' own in Prometheus and Grafana. Labelled by the scenario's `flow` tag.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';
import type { Metric, SampleObserver, Tags } from '../metrics.ts';

/** Seconds; dense around the order-path SLO (250 ms p95, 500 ms p99) so histogram_quantile there is close to exact. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 10];

export class PromOutput implements SampleObserver {
  readonly registry = new Registry();
  private readonly requests: Counter<'flow' | 'status'>;
  private readonly duration: Histogram<'flow'>;
  private readonly dropped: Counter<'flow'>;
  private readonly checks: Counter<'flow' | 'result'>;
  private server: http.Server | undefined;

  constructor(flows: readonly string[]) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'loadgen_http_requests_total', help: 'Requests sent by the load generator, by flow and HTTP status ("error" when no response).', labelNames: ['flow', 'status'], registers });
    this.duration = new Histogram({ name: 'loadgen_http_request_duration_seconds', help: 'Client-side request duration seen by the load generator.', labelNames: ['flow'], buckets: DURATION_BUCKETS, registers });
    this.dropped = new Counter({ name: 'loadgen_dropped_iterations_total', help: 'Arrivals dropped because every VU of the scenario (maxVUs) was busy.', labelNames: ['flow'], registers });
    this.checks = new Counter({ name: 'loadgen_checks_total', help: 'Response checks by flow and result (pass|fail).', labelNames: ['flow', 'result'], registers });
    // Zero series from the start, so rate() and absence queries work before the first event.
    for (const flow of flows) {
      this.dropped.inc({ flow }, 0);
      this.checks.inc({ flow, result: 'pass' }, 0);
      this.checks.inc({ flow, result: 'fail' }, 0);
    }
  }

  onSample(m: Metric, value: number, tags: Tags): void {
    const flow = tags.flow ?? tags.scenario ?? '';
    switch (m.name) {
      case 'http_reqs':
        this.requests.inc({ flow, status: tags.status === '0' || tags.status === undefined ? 'error' : tags.status });
        break;
      case 'http_req_duration':
        this.duration.observe({ flow }, value / 1000);
        break;
      case 'checks':
        this.checks.inc({ flow, result: value !== 0 ? 'pass' : 'fail' });
        break;
      case 'dropped_iterations':
        this.dropped.inc({ flow }, value);
        break;
    }
  }

  /** Serves GET /metrics on 127.0.0.1:port (0 = free port) and returns the URL. */
  async listen(port: number): Promise<string> {
    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || req.url !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
        return;
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`loadgen metrics cannot listen on 127.0.0.1:${port}: ${err.message}; pick another LOAD_METRICS_PORT`)));
      server.listen(port, '127.0.0.1', resolve);
    });
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
