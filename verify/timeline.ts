// Records every alert episode seen in Prometheus (pending/firing) and every webhook notification, with times.

export interface ObservedAlert {
  labels: Record<string, string>;
  state: string;
  activeAt?: string;
}

export interface NotifiedAlert {
  status: string;
  labels: Record<string, string>;
}

export interface Episode {
  alertname: string;
  service?: string;
  /** Poll time (ms) the episode was first seen, pending or firing. */
  firstSeenAt: number;
  /** Prometheus' activeAt (ms): the evaluation at which the condition first held. */
  activeAt: number;
  firingAt?: number;
  lastSeenAt: number;
  /** Poll time (ms) the alert was first gone from Prometheus' active set. */
  endedAt?: number;
  notifiedAt?: number;
  resolvedNotifiedAt?: number;
}

export const alertKey = (alertname: string, service: string | undefined): string => `${alertname}|${service ?? ''}`;

/** How long a notification that matched no episode yet is kept for the poll that will create its episode. */
const UNMATCHED_KEEP_MS = 60_000;

export class AlertTimeline {
  private readonly all: Episode[] = [];
  private readonly open = new Map<string, Episode>();
  /** Notifications can arrive before the poll that first sees their alert; they wait here for it. */
  private unmatched: { alert: NotifiedAlert; receivedAt: number }[] = [];

  /** Feeds one poll of Prometheus' /api/v1/alerts taken at `now` (ms). */
  observe(alerts: ObservedAlert[], now: number): void {
    const seen = new Set<string>();
    for (const a of alerts) {
      const alertname = a.labels.alertname;
      if (!alertname) continue;
      const service = a.labels.service;
      const key = alertKey(alertname, service);
      seen.add(key);
      let ep = this.open.get(key);
      const activeAt = a.activeAt ? Date.parse(a.activeAt) : now;
      if (!ep) {
        ep = { alertname, service, firstSeenAt: now, activeAt, lastSeenAt: now };
        this.open.set(key, ep);
        this.all.push(ep);
      }
      // Several series can share a key; the episode starts at the earliest of them.
      ep.activeAt = Math.min(ep.activeAt, activeAt);
      ep.lastSeenAt = now;
      if (a.state === 'firing' && ep.firingAt === undefined) ep.firingAt = now;
    }
    for (const [key, ep] of this.open) {
      if (!seen.has(key)) {
        ep.endedAt = now;
        this.open.delete(key);
      }
    }
    const waiting = this.unmatched;
    this.unmatched = [];
    for (const u of waiting) if (!this.match(u.alert, u.receivedAt) && now - u.receivedAt < UNMATCHED_KEEP_MS) this.unmatched.push(u);
  }

  /** Feeds one webhook notification received at `receivedAt` (ms). */
  notify(alerts: NotifiedAlert[], receivedAt: number): void {
    for (const a of alerts) {
      if (!a.labels.alertname) continue;
      if (!this.match(a, receivedAt)) this.unmatched.push({ alert: a, receivedAt });
    }
  }

  /** Attaches a notification to the episode it reports; false when that episode has not been seen yet. */
  private match(a: NotifiedAlert, receivedAt: number): boolean {
    const key = alertKey(a.labels.alertname ?? '', a.labels.service);
    const candidates = this.all.filter((e) => alertKey(e.alertname, e.service) === key && e.activeAt <= receivedAt + 1000).reverse();
    if (a.status === 'firing') {
      const ep = candidates.find((e) => e.notifiedAt === undefined && (e.endedAt === undefined || e.endedAt >= receivedAt - 15_000));
      if (ep) ep.notifiedAt = receivedAt;
      return ep !== undefined;
    }
    const ep = candidates.find((e) => e.resolvedNotifiedAt === undefined && e.notifiedAt !== undefined);
    if (ep) ep.resolvedNotifiedAt = receivedAt;
    return ep !== undefined;
  }

  episodes(): readonly Episode[] {
    return this.all;
  }

  /** Episodes active (seen and not ended) at time t. */
  activeAt(t: number): Episode[] {
    return this.all.filter((e) => e.firstSeenAt <= t && (e.endedAt === undefined || e.endedAt > t));
  }
}
