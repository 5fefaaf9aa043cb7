// The numbers and URLs every alert file shares, in one place: the fault-to-notification budget, the Grafana that
// dashboard_url opens, and where runbook_url points. The checked-in files use the defaults, so they are the same on
// every machine; a deployment renders its own with ALERTPROOF_GRAFANA_URL and ALERTPROOF_RUNBOOK_BASE_URL set for
// `npx tsx alerts/generate.ts` (alerts/README.md).
import { PORTS } from '../services/kit/platform.ts';

/** Seconds from a fault to its notification that every alert is held to, statically (alerts/budget.ts) and live. */
export const BUDGET_S = 60;

export interface AlertSettings {
  /** Grafana's base URL; every dashboard_url is <grafanaUrl>/d/<uid>?viewPanel=<id>. */
  grafanaUrl: string;
  /** Where alerts/runbooks/ can be read in a browser; every runbook_url is <runbookBaseUrl>/<AlertName>.md. */
  runbookBaseUrl: string;
}

/**
 * docker compose's Grafana, and the runbooks as the repository's web view shows them (a notification's runbook link
 * opens the rendered Markdown).
 */
export const DEFAULT_SETTINGS: AlertSettings = {
  grafanaUrl: `http://localhost:${PORTS.grafana}`,
  runbookBaseUrl: 'https://github.com/alertproof/alertproof/blob/main/alerts/runbooks',
};

/** The env var that overrides each setting at generate time. */
export const SETTINGS_ENV: Record<keyof AlertSettings, string> = {
  grafanaUrl: 'ALERTPROOF_GRAFANA_URL',
  runbookBaseUrl: 'ALERTPROOF_RUNBOOK_BASE_URL',
};

/** The defaults with each override the environment sets; an override must be an absolute http(s) URL. */
export function settingsFromEnv(env: Record<string, string | undefined>): AlertSettings {
  const out = { ...DEFAULT_SETTINGS };
  for (const key of Object.keys(SETTINGS_ENV) as Array<keyof AlertSettings>) {
    const name = SETTINGS_ENV[key];
    const value = env[name]?.trim();
    if (!value) continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.search || url.hash) {
      throw new Error(`${name}="${value}" is not an absolute http(s) URL without query or fragment, like ${DEFAULT_SETTINGS[key]}`);
    }
    out[key] = value.replace(/\/+$/, '');
  }
  return out;
}
