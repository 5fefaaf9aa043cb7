// Refusal (valid k6 syntax, forbidden by k6 itself): group() with an async callback.
// Follows https://grafana.com/docs/k6/latest/javascript-api/k6/group/ ("Working with async functions": "async
// functions are forbidden as group() arguments")
// The runtime must stop at load time with exit 107 and one line naming group() and the alternative (tags on the
// requests, or a synchronous callback).
import { group } from 'k6';
import http from 'k6/http';

export const options = {
  scenarios: {
    grouped: { executor: 'constant-arrival-rate', rate: 1, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1 },
  },
};

export default async function () {
  await group('orders', async () => {
    await http.asyncRequest('GET', `${__ENV.BASE_URL}/ok`);
  });
}
