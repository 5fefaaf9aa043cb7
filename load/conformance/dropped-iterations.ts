// Conformance: an arrival-rate arrival that finds no free VU (maxVUs used up) is dropped and counted.
// Follows https://grafana.com/docs/k6/latest/using-k6/scenarios/concepts/dropped-iterations/
// Documented outcome: "With constant-arrival-rate and ramping-arrival-rate, iterations drop if there are no free VUs",
// counted in dropped_iterations. 20 arrivals in 1s, 2 VUs at most, each busy 1.5s: 2 start, 18 are dropped.
import { sleep } from 'k6';
import { Counter } from 'k6/metrics';

export const options = {
  scenarios: {
    starved: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1, maxVUs: 2 },
  },
};

const starts = new Counter('iteration_starts');

export default async function () {
  starts.add(1);
  await sleep(1.5);
}
