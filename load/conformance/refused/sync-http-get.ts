// Refusal (valid k6, outside our profile): synchronous http.get.
// Follows https://grafana.com/docs/k6/latest/javascript-api/k6-http/get/ (and asyncRequest,
// https://grafana.com/docs/k6/latest/javascript-api/k6-http/asyncrequest/)
// Our profile is async only: the runtime must stop at load time with exit 107 and one line naming http.get and the
// alternative, `await http.asyncRequest(...)`.
import http from 'k6/http';

export const options = {
  scenarios: {
    sync_get: { executor: 'constant-arrival-rate', rate: 1, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1 },
  },
};

export default async function () {
  http.get(`${__ENV.BASE_URL}/ok`);
}
