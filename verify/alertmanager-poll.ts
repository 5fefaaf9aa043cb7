// Where no route to the harness can be added: Alertmanager's own /api/v2/alerts, polled, stands in for delivered
// notifications. Detection is then measured to Alertmanager (receipt), not to delivery: group_wait and the
// receiver's own latency are left out.
import { AlertmanagerApi } from './alertmanager-api.ts';
import type { NotifiedAlert } from './timeline.ts';
import type { LabelPredicate } from './scope.ts';
import { sleep } from '../stack/ports.ts';

export const AM_POLL_CAVEAT = "notifications read from Alertmanager's /api/v2/alerts: detection is measured to Alertmanager, not to delivery (group_wait and the receiver are not included)";

export function pollAlertmanager(
  url: string,
  opts: { inScope: LabelPredicate; pollMs: number; onAlerts: (alerts: NotifiedAlert[], at: number) => void; log: (line: string) => void },
): { stop(): void } {
  const api = new AlertmanagerApi(url);
  let stopped = false;
  /** Episodes (fingerprint@startsAt) seen firing and not yet resolved. */
  const firing = new Map<string, NotifiedAlert>();
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const t = Date.now();
      try {
        // Silenced and inhibited alerts are not delivered, so they do not count as notified either.
        const alerts = (await api.alerts({ active: true, silenced: false, inhibited: false })).filter((a) => opts.inScope(a.labels));
        const now = Date.now();
        const current = new Set<string>();
        const out: NotifiedAlert[] = [];
        for (const a of alerts) {
          // Alertmanager keeps a resolved alert (endsAt in the past) until it is garbage-collected.
          if (Date.parse(a.endsAt) <= now) continue;
          const key = `${a.fingerprint}@${a.startsAt}`;
          current.add(key);
          if (firing.has(key)) continue;
          const alert: NotifiedAlert = { status: 'firing', labels: a.labels, fingerprint: a.fingerprint, startsAt: a.startsAt };
          firing.set(key, alert);
          out.push(alert);
        }
        for (const [key, a] of firing) {
          if (current.has(key)) continue;
          firing.delete(key);
          out.push({ ...a, status: 'resolved' });
        }
        if (out.length) opts.onAlerts(out, now);
      } catch (err) {
        opts.log(`  (Alertmanager poll failed: ${(err as Error).message})`);
      }
      await sleep(Math.max(0, opts.pollMs - (Date.now() - t)));
    }
  };
  void loop();
  return { stop: () => void (stopped = true) };
}
