// Conformance: constant-arrival-rate applies `rate` per `timeUnit`, not per second.
// Follows https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/constant-arrival-rate/
// Documented outcome: `rate` is the "Number of iterations to start during each timeUnit period", so rate 1 per
// timeUnit 200ms for 1s starts exactly 5 iterations.
import { Counter } from 'k6/metrics';

export const options = {
  scenarios: {
    per_200ms: { executor: 'constant-arrival-rate', rate: 1, timeUnit: '200ms', duration: '1s', preAllocatedVUs: 1 },
  },
};

const starts = new Counter('iteration_starts');

export default async function () {
  starts.add(1);
}
