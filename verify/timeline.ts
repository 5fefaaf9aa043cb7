// Records every alert episode seen in Prometheus (pending/firing) and every webhook notification, with times, and
// credits each notification to the episode it names: an episode is identified as Alertmanager identifies an alert,
// by its label fingerprint and its start, so an episode that resolved and a later one with the same labels stay two.
import { labelsFingerprint } from './fingerprint.ts';

export interface ObservedAlert {
  labels: Record<string, string>;
  state: string;
  activeAt?: string;
}

/** One alert of an Alertmanager webhook notification (the fields the timeline needs). */
export interface NotifiedAlert {
  status: string;
  labels: Record<string, string>;
  fingerprint: string;
  /** Prometheus' FiredAt: the evaluation at which the alert became firing. */
  startsAt: string;
}

export interface Episode {
  fingerprint: string;
  labels: Record<string, string>;
  alertname: string;
  service?: string;
  /** False for an episode known only from its notifications (it began and ended between two polls). */
  observed: boolean;
  /** Poll time (ms) the episode was first seen, pending or firing. */
  firstSeenAt: number;
  /** Prometheus' activeAt (ms): the evaluation at which the condition first held. */
  activeAt: number;
  /** Poll time (ms) the episode was first seen firing. */
  firingAt?: number;
  lastSeenAt: number;
  /** Poll time (ms) the alert was first gone from Prometheus' active set. */
  endedAt?: number;
  /** Alertmanager's startsAt (ms) of the notifications credited to this episode. */
  startsAt?: number;
  notifiedAt?: number;
  resolvedNotifiedAt?: number;
}

export const alertKey = (alertname: string, service: string | undefined): string => `${alertname}|${service ?? ''}`;

interface PolledEpisode {
  fingerprint: string;
  labels: Record<string, string>;
  firstSeenAt: number;
  activeAt: number;
  firingAt?: number;
  lastSeenAt: number;
  endedAt?: number;
}

/** An Alertmanager-side episode: every notification with one fingerprint and one startsAt. */
interface NotifiedEpisode {
  fingerprint: string;
  labels: Record<string, string>;
  startsAt: number;
  firingReceivedAt?: number;
  resolvedReceivedAt?: number;
}

export class AlertTimeline {
  private readonly polled: PolledEpisode[] = [];
  private readonly open = new Map<string, PolledEpisode>();
  private readonly notified = new Map<string, NotifiedEpisode>();

  /**
   * externalLabels are Prometheus' external labels: it adds them to the alerts it sends, so Alertmanager's labels
   * (and fingerprint) are the poll's labels plus these.
   */
  constructor(private readonly externalLabels: Readonly<Record<string, string>> = {}) {}

  /** Feeds one poll of Prometheus' /api/v1/alerts taken at `now` (ms). */
  observe(alerts: ObservedAlert[], now: number): void {
    const seen = new Set<string>();
    for (const a of alerts) {
      if (!a.labels.alertname) continue;
      const labels = { ...this.externalLabels, ...a.labels };
      const fingerprint = labelsFingerprint(labels);
      const activeAt = a.activeAt ? Date.parse(a.activeAt) : now;
      seen.add(fingerprint);
      let ep = this.open.get(fingerprint);
      // Prometheus keeps activeAt for the life of an alert; a new one means the old episode ended between two polls.
      if (ep && ep.activeAt !== activeAt) {
        ep.endedAt = now;
        ep = undefined;
      }
      if (!ep) {
        ep = { fingerprint, labels, firstSeenAt: now, activeAt, lastSeenAt: now };
        this.open.set(fingerprint, ep);
        this.polled.push(ep);
      }
      ep.lastSeenAt = now;
      if (a.state === 'firing' && ep.firingAt === undefined) ep.firingAt = now;
    }
    for (const [fingerprint, ep] of this.open) {
      if (!seen.has(fingerprint)) {
        ep.endedAt = now;
        this.open.delete(fingerprint);
      }
    }
  }

  /** Feeds one webhook notification received at `receivedAt` (ms). */
  notify(alerts: NotifiedAlert[], receivedAt: number): void {
    for (const a of alerts) {
      if (!a.labels.alertname) continue;
      const startsAt = Date.parse(a.startsAt);
      const key = `${a.fingerprint}@${startsAt}`;
      let n = this.notified.get(key);
      if (!n) {
        n = { fingerprint: a.fingerprint, labels: a.labels, startsAt };
        this.notified.set(key, n);
      }
      // Alertmanager repeats notifications; the first of each kind is the one that counts.
      if (a.status === 'firing') n.firingReceivedAt ??= receivedAt;
      else n.resolvedReceivedAt ??= receivedAt;
    }
  }

  /**
   * Every episode, polled ones joined with their notifications. The join is made afresh on each call, so a
   * notification that arrived before the poll that first saw its alert is credited all the same. A notification
   * belongs to the episode with its fingerprint that was active at its startsAt: the latest one whose activeAt is not
   * after it and that no poll had seen gone before it (Prometheus' FiredAt is never before the alert's activeAt, and
   * one fingerprint's episodes never overlap).
   */
  episodes(): Episode[] {
    const out: Episode[] = this.polled.map((p) => ({ ...describe(p.labels), fingerprint: p.fingerprint, labels: p.labels, observed: true, firstSeenAt: p.firstSeenAt, activeAt: p.activeAt, firingAt: p.firingAt, lastSeenAt: p.lastSeenAt, endedAt: p.endedAt }));
    const byFingerprint = new Map<string, Episode[]>();
    for (const ep of out) byFingerprint.set(ep.fingerprint, [...(byFingerprint.get(ep.fingerprint) ?? []), ep]);
    const notified = [...this.notified.values()].sort((a, b) => a.startsAt - b.startsAt);
    for (const n of notified) {
      const mine = byFingerprint.get(n.fingerprint) ?? [];
      // An episode a poll already saw gone before startsAt cannot have fired then.
      const ep = mine.filter((e) => e.activeAt <= n.startsAt && (e.endedAt === undefined || e.endedAt >= n.startsAt)).sort((a, b) => b.activeAt - a.activeAt)[0];
      if (ep && (ep.startsAt === undefined || ep.startsAt === n.startsAt)) {
        ep.startsAt = n.startsAt;
        ep.notifiedAt = n.firingReceivedAt ?? ep.notifiedAt;
        ep.resolvedNotifiedAt = n.resolvedReceivedAt ?? ep.resolvedNotifiedAt;
        continue;
      }
      // No poll saw this episode (it lived between two polls, or the poll after it has not run yet); its notifications
      // still say when it fired, so it is kept, and judged, as unobserved.
      const unseen: Episode = {
        ...describe(n.labels),
        fingerprint: n.fingerprint,
        labels: n.labels,
        observed: false,
        firstSeenAt: n.firingReceivedAt ?? n.resolvedReceivedAt ?? n.startsAt,
        activeAt: n.startsAt,
        firingAt: n.startsAt,
        lastSeenAt: n.startsAt,
        endedAt: n.resolvedReceivedAt,
        startsAt: n.startsAt,
        notifiedAt: n.firingReceivedAt,
        resolvedNotifiedAt: n.resolvedReceivedAt,
      };
      out.push(unseen);
      byFingerprint.set(n.fingerprint, [...mine, unseen]);
    }
    return out;
  }
}

function describe(labels: Record<string, string>): { alertname: string; service?: string } {
  return { alertname: labels.alertname ?? '?', ...(labels.service === undefined ? {} : { service: labels.service }) };
}
