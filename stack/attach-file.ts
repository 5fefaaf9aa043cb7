// What `npm run stack` records in its state file (.tmp/stack.json), and the attach file that state describes, so a
// harness in another process can judge the running stack (`npm run verify-alerts -- --attach .tmp/attach.yaml`).
import type { AttachFile } from './attach.ts';
import type { ProxyBinding } from './targets.ts';

/** One part of the running stack, as the state file records it. */
export interface StateTarget {
  url?: string;
  /** Rewritten whenever the control API starts the process again. */
  pidFile?: string;
  /** POST here starts the process again after a signal ended it. */
  startUrl?: string;
  proxy?: ProxyBinding;
  brokerAdmin?: string;
  databases?: Record<string, string>;
}

export interface StackState {
  pid: number;
  startedAt: string;
  urls: Record<string, string>;
  targets: Record<string, StateTarget>;
  /** host:port where an attached harness's webhook receives every notification (--harness-webhook). */
  harnessWebhook?: string;
}

/** The attach file for a running `npm run stack`. */
export function attachFileFor(state: StackState): AttachFile {
  const targets: AttachFile['targets'] = {};
  for (const [name, t] of Object.entries(state.targets)) {
    targets[name] = {
      ...(t.url ? { url: t.url } : {}),
      // Our launcher starts every process as the leader of its own group, so the group is what a signal goes to.
      ...(t.pidFile ? { signal: { pidFile: t.pidFile, group: true, ...(t.startUrl ? { start: { url: t.startUrl, method: 'POST' } } : {}) } } : {}),
      ...(t.proxy ? { proxy: t.proxy } : {}),
      ...(t.brokerAdmin ? { brokerAdmin: t.brokerAdmin } : {}),
      ...(t.databases ? { databases: t.databases } : {}),
    };
  }
  const prometheus = state.urls.prometheus;
  const alertmanager = state.urls.alertmanager;
  if (!prometheus || !alertmanager) throw new Error('the stack runs without Prometheus or Alertmanager (alerts/*.yml missing?); there is nothing to attach to');
  return {
    prometheus,
    alertmanager,
    rules: 'api',
    scope: {},
    notifications: state.harnessWebhook ? { webhook: { listen: state.harnessWebhook, path: '/alertmanager' } } : { alertmanagerApi: true },
    allowRemote: [],
    targets,
  };
}
