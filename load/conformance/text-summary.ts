// Conformance: without handleSummary(), the end-of-test text summary is printed to stdout.
// Follows https://grafana.com/docs/k6/latest/results-output/end-of-test/
// Documented outcome: "When a test finishes, k6 prints a summary of the aggregated results to stdout", which lists
// the built-in metrics such as http_reqs.
import http from 'k6/http';

export const options = {
  scenarios: {
    plain: { executor: 'constant-arrival-rate', rate: 2, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1 },
  },
};

export default async function () {
  await http.asyncRequest('GET', `${__ENV.BASE_URL}/ok`);
}
