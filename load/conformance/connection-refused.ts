// Conformance: a refused connection is a response with status 0, error_code 1212 and an error message, and fails.
// Follows https://grafana.com/docs/k6/latest/javascript-api/error-codes/
// Documented outcome: "1212: Dial connection refused - the connection was refused by the other party on dial",
// returned "as both the error_code field of the http.Response object, and also attached as the error_code tag";
// "the error metric tag and http.Response field will still contain the actual string error message". Status 0 is
// outside the expected 200-399, so it counts in http_req_failed.
import { check } from 'k6';
import http from 'k6/http';

export const options = {
  scenarios: {
    refused: { executor: 'constant-arrival-rate', rate: 2, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1 },
  },
};

export default async function () {
  const res = await http.asyncRequest('GET', `${__ENV.REFUSED_URL}/`);
  check(res, {
    'refused: status is 0': (r) => r.status === 0,
    'refused: error_code is 1212': (r) => r.error_code === 1212,
    'refused: error message is set': (r) => typeof r.error === 'string' && r.error.length > 0,
  });
}
