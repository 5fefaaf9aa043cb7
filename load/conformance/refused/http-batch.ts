// Refusal (valid k6, outside our profile): http.batch.
// Follows https://grafana.com/docs/k6/latest/javascript-api/k6-http/batch/
// http.batch is synchronous: the runtime must stop at load time with exit 107 and one line naming http.batch and the
// alternative (parallel `http.asyncRequest` calls, e.g. with Promise.all).
import http from 'k6/http';

export const options = {
  scenarios: {
    batched: { executor: 'constant-arrival-rate', rate: 1, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1 },
  },
};

export default async function () {
  http.batch([
    ['GET', `${__ENV.BASE_URL}/ok`],
    ['GET', `${__ENV.BASE_URL}/ok`],
  ]);
}
