// The Prometheus 3 build in tests: present, or a case that needs it is skipped with a line saying so, unless
// ALERTPROOF_REQUIRE_PROMETHEUS3=1 (CI, after building it), where a missing build is a failure naming the fix.
import { PROMETHEUS_3_VERSION, missingBinaries, prometheusTools, type PrometheusTools } from '../../stack/prometheus-version.ts';

export const REQUIRE_PROMETHEUS3 = process.env.ALERTPROOF_REQUIRE_PROMETHEUS3 === '1';

/** The missing 3.x binaries (empty when built). */
export function missingPrometheus3(): string[] {
  return missingBinaries(prometheusTools('3'));
}

/** Why a missing build is a failure under ALERTPROOF_REQUIRE_PROMETHEUS3=1. */
export function requiredMessage(missing: readonly string[]): string {
  return `${missing.join(' and ')} not built, and ALERTPROOF_REQUIRE_PROMETHEUS3=1 requires Prometheus ${PROMETHEUS_3_VERSION}: run scripts/ensure-tools --prometheus 3`;
}

/** The 3.x tools, or undefined after saying that `check` is skipped; throws under ALERTPROOF_REQUIRE_PROMETHEUS3=1. */
export function prometheus3OrSkip(check: string): PrometheusTools | undefined {
  const missing = missingPrometheus3();
  if (missing.length === 0) return prometheusTools('3');
  if (REQUIRE_PROMETHEUS3) throw new Error(requiredMessage(missing));
  console.log(`${missing.join(' and ')} not built (scripts/ensure-tools --prometheus 3 builds Prometheus ${PROMETHEUS_3_VERSION}): ${check} skipped`);
  return undefined;
}
