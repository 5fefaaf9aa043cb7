// Typed client for the parts of Prometheus' HTTP API the harness reads: queries, alerts, rules, targets, reload,
// and the one gauge of its own /metrics the harness needs (when the config was loaded).
import { requestJson, requestText } from './http-json.ts';

export type Labels = Record<string, string>;
/** Prometheus' sample pair: unix time in seconds and the value as a string ("NaN" and "+Inf" included). */
export type SamplePair = [number, string];

export interface VectorSample {
  metric: Labels;
  value: SamplePair;
}

export interface RangeSeries {
  metric: Labels;
  values: SamplePair[];
}

export interface PromAlert {
  labels: Labels;
  annotations: Labels;
  state: 'pending' | 'firing';
  /** RFC 3339 time of the evaluation at which the condition first held. */
  activeAt: string;
  value: string;
}

export type RuleHealth = 'ok' | 'err' | 'unknown';

interface RuleBase {
  name: string;
  query: string;
  labels?: Labels;
  health: RuleHealth;
  lastError?: string;
  evaluationTime: number;
  lastEvaluation: string;
}

export interface AlertingRule extends RuleBase {
  type: 'alerting';
  /** The `for` duration in seconds. */
  duration: number;
  annotations: Labels;
  state: 'inactive' | 'pending' | 'firing';
  alerts: PromAlert[];
}

export interface RecordingRule extends RuleBase {
  type: 'recording';
}

export type Rule = AlertingRule | RecordingRule;

export interface RuleGroup {
  name: string;
  file: string;
  /** Evaluation interval in seconds. */
  interval: number;
  evaluationTime: number;
  /** RFC 3339; "0001-01-01T00:00:00Z" until the group has been evaluated once. */
  lastEvaluation: string;
  rules: Rule[];
}

export interface Target {
  discoveredLabels: Labels;
  labels: Labels;
  scrapePool: string;
  scrapeUrl: string;
  globalUrl: string;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
  health: 'up' | 'down' | 'unknown';
  scrapeInterval: string;
  scrapeTimeout: string;
}

/** Unix seconds, or a Date. */
export type PromTime = number | Date;

export interface PrometheusApiOptions {
  /** Per-request timeout. */
  timeoutMs?: number;
  /** How often waitUntil polls. */
  pollMs?: number;
}

type QueryData =
  | { resultType: 'vector'; result: VectorSample[] }
  | { resultType: 'matrix'; result: RangeSeries[] }
  | { resultType: 'scalar' | 'string'; result: SamplePair };

export class PrometheusApi {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly pollMs: number;

  constructor(url: string, opts: PrometheusApiOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.pollMs = opts.pollMs ?? 250;
  }

  /** Instant query. A scalar result comes back as one sample with no labels. */
  async query(expr: string, time?: PromTime): Promise<VectorSample[]> {
    const params = new URLSearchParams({ query: expr });
    if (time !== undefined) params.set('time', String(seconds(time)));
    const data = await this.get<QueryData>(`/api/v1/query?${params}`);
    if (data.resultType === 'vector') return data.result;
    if (data.resultType === 'scalar') return [{ metric: {}, value: data.result }];
    throw new Error(`Prometheus query ${JSON.stringify(expr)} returned a ${data.resultType}, expected a vector or scalar; use queryRange for range vectors`);
  }

  /** Range query from start to end (inclusive) every stepS seconds. */
  async queryRange(expr: string, start: PromTime, end: PromTime, stepS: number): Promise<RangeSeries[]> {
    const params = new URLSearchParams({ query: expr, start: String(seconds(start)), end: String(seconds(end)), step: String(stepS) });
    const data = await this.get<QueryData>(`/api/v1/query_range?${params}`);
    if (data.resultType !== 'matrix') throw new Error(`Prometheus query_range ${JSON.stringify(expr)} returned a ${data.resultType}, expected a matrix`);
    return data.result;
  }

  /** Every pending or firing alert. */
  async alerts(): Promise<PromAlert[]> {
    return (await this.get<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts;
  }

  async rules(): Promise<RuleGroup[]> {
    return (await this.get<{ groups: RuleGroup[] }>('/api/v1/rules')).groups;
  }

  /** Active scrape targets (dropped ones are left out). */
  async targets(): Promise<Target[]> {
    return (await this.get<{ activeTargets: Target[] }>('/api/v1/targets?state=active')).activeTargets;
  }

  /** The configuration Prometheus is running, as YAML (with its defaults filled in). */
  async config(): Promise<string> {
    return (await this.get<{ yaml: string }>('/api/v1/status/config')).yaml;
  }

  /** Every metric name Prometheus holds a series for. */
  async seriesNames(): Promise<string[]> {
    return this.get<string[]>('/api/v1/label/__name__/values');
  }

  /**
   * When Prometheus last loaded its configuration and rule files (unix ms), from its own gauge
   * prometheus_config_last_reload_success_timestamp_seconds on /metrics (full precision; the runtimeinfo API truncates
   * it to the second). Prometheus sets it once every reloader, the rule manager included, has applied the config, and
   * holds rule evaluation back until its first load has completed, so a freshly started Prometheus evaluates no rule
   * before this instant: it is when an always-firing alert could first become active.
   */
  async configLoadedAt(): Promise<number> {
    const url = `${this.url}/metrics`;
    const text = await requestText({ what: 'Prometheus', url, timeoutMs: this.timeoutMs, headers: { accept: 'text/plain' } });
    const m = /^prometheus_config_last_reload_success_timestamp_seconds(?:\{[^}]*\})? (\S+)/m.exec(text);
    const s = m ? Number(m[1]) : NaN;
    if (!Number.isFinite(s) || s <= 0) {
      throw new Error(`Prometheus GET ${url} has no prometheus_config_last_reload_success_timestamp_seconds${m ? ` (read ${m[1]})` : ''}: it has not loaded a config yet`);
    }
    return s * 1000;
  }

  /** Re-reads config and rules (needs --web.enable-lifecycle); rejects when Prometheus refuses them. */
  async reload(): Promise<void> {
    try {
      await requestText({ what: 'Prometheus', method: 'POST', url: `${this.url}/-/reload`, timeoutMs: this.timeoutMs });
    } catch (err) {
      // Prometheus answers only "failed to reload config"; the failing rule and line go to its log.
      const msg = (err as Error).message;
      throw new Error(/HTTP 500/.test(msg) ? `${msg}; Prometheus' log names the failing file, or run promtool check config/rules on it` : msg);
    }
  }

  /**
   * Polls fn until it returns a value other than undefined, null or false, and resolves with it. Errors thrown by fn
   * count as "not yet" (Prometheus may still be starting); the last one is quoted if time runs out.
   */
  async waitUntil<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: string | undefined;
    for (;;) {
      try {
        const v = await fn();
        if (v !== undefined && v !== null && v !== false) return v;
        lastError = undefined;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `; last error: ${lastError}` : ''}`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.pollMs, left)));
    }
  }

  private async get<T>(pathAndQuery: string): Promise<T> {
    const url = `${this.url}${pathAndQuery}`;
    const body = (await requestJson({ what: 'Prometheus', url, timeoutMs: this.timeoutMs })) as { status?: string; data?: unknown; error?: string } | undefined;
    if (body?.status !== 'success' || body.data === undefined) {
      throw new Error(`Prometheus GET ${url} answered without data (status ${body?.status ?? 'missing'}${body?.error ? `: ${body.error}` : ''})`);
    }
    return body.data as T;
  }
}

function seconds(t: PromTime): number {
  return t instanceof Date ? t.getTime() / 1000 : t;
}
