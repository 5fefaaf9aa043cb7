// Typed client for Alertmanager's API v2: the alerts it holds, its status, and posting alerts to it.
import { requestJson } from './http-json.ts';

export type Labels = Record<string, string>;

export interface AmAlert {
  labels: Labels;
  annotations: Labels;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  generatorURL?: string;
  fingerprint: string;
  receivers: { name: string }[];
  status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
}

export interface AmStatus {
  cluster: { name?: string; status: 'ready' | 'settling' | 'disabled'; peers?: { name: string; address: string }[] };
  /** The loaded configuration, as YAML. */
  config: { original: string };
  uptime: string;
  versionInfo: { version: string; revision: string; branch: string; buildUser: string; buildDate: string; goVersion: string };
}

/** What Prometheus (or a test) sends: an alert with endsAt in the past is a resolution. */
export interface PostableAlert {
  labels: Labels;
  annotations?: Labels;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface AlertsFilter {
  /** Matchers such as `alertname="X"` or `service=~"a|b"`. */
  filter?: string[];
  active?: boolean;
  silenced?: boolean;
  inhibited?: boolean;
}

export class AlertmanagerApi {
  readonly url: string;
  private readonly timeoutMs: number;

  constructor(url: string, opts: { timeoutMs?: number } = {}) {
    this.url = url.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async alerts(f: AlertsFilter = {}): Promise<AmAlert[]> {
    const params = new URLSearchParams();
    for (const m of f.filter ?? []) params.append('filter', m);
    for (const k of ['active', 'silenced', 'inhibited'] as const) if (f[k] !== undefined) params.set(k, String(f[k]));
    const q = params.toString();
    return (await this.call('GET', `/api/v2/alerts${q ? `?${q}` : ''}`)) as AmAlert[];
  }

  async status(): Promise<AmStatus> {
    return (await this.call('GET', '/api/v2/status')) as AmStatus;
  }

  async postAlerts(alerts: PostableAlert[]): Promise<void> {
    await this.call('POST', '/api/v2/alerts', alerts);
  }

  private async call(method: string, pathAndQuery: string, body?: unknown): Promise<unknown> {
    return requestJson({ what: 'Alertmanager', method, url: `${this.url}${pathAndQuery}`, body, timeoutMs: this.timeoutMs });
  }
}
