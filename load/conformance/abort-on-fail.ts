// Conformance: a threshold with abortOnFail stops the test once it fails, but not before delayAbortEval.
// Follows https://grafana.com/docs/k6/latest/using-k6/thresholds/ ("Abort a test when a threshold is crossed")
// Documented outcome: "When you set abortOnFail, the test run stops as soon as the threshold fails", evaluation
// delayed by delayAbortEval; the run ends long before its 20s duration and exits 99 (thresholds failed).
import http from 'k6/http';

export const options = {
  scenarios: {
    long_run: { executor: 'constant-arrival-rate', rate: 5, timeUnit: '1s', duration: '20s', preAllocatedVUs: 2, maxVUs: 4 },
  },
  thresholds: {
    http_reqs: [{ threshold: 'count<3', abortOnFail: true, delayAbortEval: '1s' }],
  },
};

export default async function () {
  await http.asyncRequest('GET', `${__ENV.BASE_URL}/ok`);
}
