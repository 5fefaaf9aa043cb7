// A fixture for tests/load-knee.test.ts: an `orders` flow at a constant arrival rate, one GET per iteration, written
// with --out json by the test, whose server raises its latency mid-run so the knee falls where the test put it.
// Config from -e: BASE_URL (the test's server), KNEE_RATE (iterations per second), KNEE_DURATION (k6 duration).
import http from 'k6/http';

export const options = {
  scenarios: {
    orders: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.KNEE_RATE ?? '20'),
      timeUnit: '1s',
      duration: __ENV.KNEE_DURATION ?? '6s',
      preAllocatedVUs: 20,
      maxVUs: 100,
      gracefulStop: '5s',
      tags: { flow: 'orders' },
    },
  },
};

export default async function () {
  await http.asyncRequest('GET', `${__ENV.BASE_URL}/orders`, null, { tags: { name: 'place_order' } });
}
