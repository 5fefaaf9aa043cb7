// HTTP receiver for Alertmanager's webhook: records every notification with the time and channel it arrived on, and
// refuses a channel's posts on demand (the webhook fault driver).
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

const labels = z.record(z.string());

const webhookAlertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels,
  annotations: labels,
  startsAt: z.string(),
  endsAt: z.string(),
  generatorURL: z.string().optional(),
  fingerprint: z.string(),
});

const webhookPayloadSchema = z.object({
  version: z.literal('4'),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: labels,
  commonLabels: labels,
  commonAnnotations: labels,
  externalURL: z.string(),
  alerts: z.array(webhookAlertSchema),
});

export type WebhookAlert = z.infer<typeof webhookAlertSchema>;
export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;

/**
 * The receiver's channels, each its own path: ordinary alerts, meta-alerts about the alerting pipeline (a second
 * Alertmanager receiver), and the Watchdog heartbeat the dead man's switch watches.
 */
export const WEBHOOK_CHANNELS = ['alerts', 'alerting', 'heartbeat'] as const;
export type WebhookChannel = (typeof WEBHOOK_CHANNELS)[number];

/** Each channel's path below the receiver's own (alerts/alertmanager.template.yml's receivers use the same). */
export const WEBHOOK_CHANNEL_PATHS: Record<WebhookChannel, string> = { alerts: '', alerting: '/alerting', heartbeat: '/heartbeat' };

export interface Notification extends WebhookPayload {
  /** Date.now() when the POST body had been read. */
  receivedAt: number;
  channel: WebhookChannel;
}

export interface WebhookReceiver {
  /** The URL to put in Alertmanager's webhook_configs: the alerts channel; the others are url + WEBHOOK_CHANNEL_PATHS. */
  url: string;
  /** Every notification so far, oldest first. */
  notifications(): Notification[];
  /** The first notification (already received or still to come) that satisfies pred; rejects after timeoutMs. */
  waitFor(pred: (n: Notification) => boolean, timeoutMs: number): Promise<Notification>;
  on(event: 'notification', listener: (n: Notification) => void): WebhookReceiver;
  off(event: 'notification', listener: (n: Notification) => void): WebhookReceiver;
  /**
   * While status is set, every POST on the channel is answered with it (4xx or 5xx) and neither recorded nor emitted:
   * the delivery path fails at its last hop. undefined serves the channel again.
   */
  failWith(channel: WebhookChannel, status: number | undefined): void;
  /** How many posts each channel refused because of failWith, since the start. */
  refused(): Record<WebhookChannel, number>;
  close(): Promise<void>;
}

const BODY_LIMIT_BYTES = 4 * 1024 * 1024;

/** keep: false for a receiver that runs for months (the dead man's switch): notifications are emitted, never kept. */
export async function startWebhookReceiver(opts: { host?: string; port?: number; path?: string; keep?: boolean } = {}): Promise<WebhookReceiver> {
  const keep = opts.keep ?? true;
  const host = opts.host ?? '127.0.0.1';
  const hookPath = opts.path ?? '/alertmanager';
  const received: Notification[] = [];
  const events = new EventEmitter();
  const waiters = new Set<{ reject(err: Error): void }>();
  const channelOf = new Map(WEBHOOK_CHANNELS.map((c) => [hookPath + WEBHOOK_CHANNEL_PATHS[c], c]));
  const failing = new Map<WebhookChannel, number>();
  const refused = Object.fromEntries(WEBHOOK_CHANNELS.map((c) => [c, 0])) as Record<WebhookChannel, number>;

  const server = http.createServer((req, res) => {
    const reply = (status: number, message: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain' }).end(message);
    };
    const channel = req.method === 'POST' ? channelOf.get(req.url ?? '') : undefined;
    if (!channel) {
      reply(404, `this receiver takes POST ${[...channelOf.keys()].join(', ')} only, got ${req.method} ${req.url}`);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= BODY_LIMIT_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      const receivedAt = Date.now();
      const injected = failing.get(channel);
      if (injected !== undefined) {
        refused[channel]++;
        return reply(injected, `injected fault: the alertproof harness refuses the ${channel} channel with ${injected} until the fault is recovered`);
      }
      if (size > BODY_LIMIT_BYTES) return reply(413, `notification exceeds ${BODY_LIMIT_BYTES} bytes`);
      let json: unknown;
      try {
        json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        return reply(400, `body is not JSON: ${(err as Error).message}`);
      }
      const parsed = webhookPayloadSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return reply(400, `not an Alertmanager v4 webhook payload: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
      }
      const n: Notification = { ...parsed.data, receivedAt, channel };
      if (keep) received.push(n);
      events.emit('notification', n);
      reply(200, 'ok');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`webhook receiver cannot listen on ${host}:${opts.port ?? 0} (${err.code ?? err.message})`)));
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const receiver: WebhookReceiver = {
    url: `http://${host}:${port}${hookPath}`,
    notifications: () => [...received],
    waitFor(pred, timeoutMs) {
      const already = received.find(pred);
      if (already) return Promise.resolve(already);
      return new Promise<Notification>((resolve, reject) => {
        const waiter = {
          reject(err: Error) {
            clearTimeout(timer);
            events.off('notification', listener);
            waiters.delete(waiter);
            reject(err);
          },
        };
        const listener = (n: Notification): void => {
          if (!pred(n)) return;
          clearTimeout(timer);
          events.off('notification', listener);
          waiters.delete(waiter);
          resolve(n);
        };
        const timer = setTimeout(() => {
          const seen = received.map((n) => `${n.status} [${n.alerts.map((a) => `${a.labels.alertname ?? '?'}:${a.status}`).join(', ')}]`);
          waiter.reject(new Error(`no matching webhook notification within ${timeoutMs} ms at ${receiver.url}; received ${received.length}${seen.length ? `: ${seen.join('; ')}` : ''}. Is Alertmanager routing to this URL?`));
        }, timeoutMs);
        waiters.add(waiter);
        events.on('notification', listener);
      });
    },
    on(event, listener) {
      events.on(event, listener);
      return receiver;
    },
    off(event, listener) {
      events.off(event, listener);
      return receiver;
    },
    failWith(channel, status) {
      if (!WEBHOOK_CHANNELS.includes(channel)) throw new Error(`webhook receiver has no channel "${channel}" (channels: ${WEBHOOK_CHANNELS.join(', ')})`);
      if (status === undefined) {
        failing.delete(channel);
        return;
      }
      if (!Number.isInteger(status) || status < 400 || status > 599) throw new Error(`webhook receiver can refuse with a 4xx or 5xx status, not ${status}`);
      failing.set(channel, status);
    },
    refused: () => ({ ...refused }),
    async close() {
      for (const w of [...waiters]) w.reject(new Error(`webhook receiver ${receiver.url} closed while waiting`));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return receiver;
}
