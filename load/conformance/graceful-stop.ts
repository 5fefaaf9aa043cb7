// Conformance: gracefulStop bounds how long a scenario waits for running iterations after its duration ends.
// Follows https://grafana.com/docs/k6/latest/using-k6/scenarios/concepts/graceful-stop/
// Documented outcome: gracefulStop "specifies a duration that k6 will wait before forcefully interrupting an
// iteration"; an iteration still running then is interrupted, not complete. Duration 1s + gracefulStop 1s with a 5s
// iteration: the test ends after about 2s and the iteration is not counted in `iterations`.
import { sleep } from 'k6';
import { Counter } from 'k6/metrics';

export const options = {
  scenarios: {
    slow: { executor: 'constant-arrival-rate', rate: 1, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1, gracefulStop: '1s' },
  },
};

const starts = new Counter('iteration_starts');
const finishes = new Counter('iteration_finishes');

export default async function () {
  starts.add(1);
  await sleep(5);
  finishes.add(1);
}
