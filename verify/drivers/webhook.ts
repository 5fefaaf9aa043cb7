// The webhook driver: the harness's own receiver answers an error status on one channel until recovery, so
// Alertmanager's notifications there fail at the last hop (the heartbeat's, say, for the dead man's switch).
import type { WebhookStep } from '../matrix.ts';
import type { FaultContext } from '../scenario.ts';
import type { Undo } from './index.ts';

export async function injectWebhook(step: WebhookStep, ctx: FaultContext): Promise<Undo> {
  const webhook = ctx.webhook;
  if (!webhook) throw new Error(`answering ${step.status} on the ${step.channel} channel: this fault needs the harness's webhook receiver; in attach mode configure notifications.webhook`);
  const before = webhook.refused()[step.channel];
  webhook.failWith(step.channel, step.status);
  ctx.log(`  harness webhook: the ${step.channel} channel answers ${step.status}`);
  return async () => {
    webhook.failWith(step.channel, undefined);
    ctx.log(`  harness webhook: the ${step.channel} channel serves again; it refused ${webhook.refused()[step.channel] - before} posts`);
  };
}
