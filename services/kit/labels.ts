// Bounded label values: anything outside a closed set is reported as "other", so series counts stay fixed.
export function boundedLabel(value: string | undefined, allowed: ReadonlySet<string>, fallback = 'other'): string {
  return value !== undefined && allowed.has(value) ? value : fallback;
}

/** HTTP status to a bounded class label ("2xx", "4xx", "5xx", "error" for no response). */
export function statusClass(status: number | undefined): string {
  if (status === undefined || status < 100) return 'error';
  return `${Math.floor(status / 100)}xx`;
}
