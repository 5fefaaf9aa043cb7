// Conformance: responseCallback / http.expectedStatuses decide which responses count in http_req_failed.
// Follows https://grafana.com/docs/k6/latest/javascript-api/k6-http/expected-statuses/ and
// https://grafana.com/docs/k6/latest/javascript-api/k6-http/set-response-callback/
// Documented outcome: "requests will be tagged with expected_response "true" or "false" and http_req_failed will be
// emitted with the reverse"; "By default requests with status codes between 200 and 399 are considered expected".
// A 404 with expectedStatuses(404) is not failed; a 404 without it is. Error codes 1400-1499 "correspond to the HTTP
// 4xx status codes" (https://grafana.com/docs/k6/latest/javascript-api/error-codes/), so a 404 carries 1404.
import { check } from 'k6';
import http from 'k6/http';

export const options = {
  scenarios: {
    not_found: { executor: 'constant-arrival-rate', rate: 2, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1 },
  },
  // Sub-metric thresholds put the per-request-name failure rates into the summary data.
  thresholds: {
    'http_req_failed{name:expected_404}': ['rate==0'],
    'http_req_failed{name:default_404}': ['rate==1'],
  },
};

const expect404 = http.expectedStatuses(404);

export default async function () {
  await http.asyncRequest('GET', `${__ENV.BASE_URL}/status/404`, null, {
    responseCallback: expect404,
    tags: { name: 'expected_404' },
  });
  const res = await http.asyncRequest('GET', `${__ENV.BASE_URL}/status/404`, null, { tags: { name: 'default_404' } });
  check(res, { '404 carries error_code 1404': (r) => r.error_code === 1404 });
}
