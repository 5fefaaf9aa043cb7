// Conformance: a threshold that fails makes the run exit 99 and is reported as not ok in the summary data.
// Follows https://grafana.com/docs/k6/latest/using-k6/thresholds/
// Documented outcome: "If the performance of the system under test (SUT) does not meet the conditions of your
// threshold, the test finishes with a failed status" (exit code 99); data.metrics.checks.thresholds['rate>0.99'].ok
// is false (https://grafana.com/docs/k6/latest/results-output/end-of-test/custom-summary/).
import { check } from 'k6';
import exec from 'k6/execution';

export const options = {
  scenarios: {
    failing_checks: { executor: 'constant-arrival-rate', rate: 2, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1 },
  },
  thresholds: { checks: ['rate>0.99'] },
};

export default async function () {
  check(exec.scenario.iterationInTest, { 'iteration number is negative': (i) => i < 0 });
}
