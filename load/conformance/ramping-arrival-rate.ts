// Conformance: ramping-arrival-rate ramps the start rate linearly from startRate to each stage's target.
// Follows https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/ramping-arrival-rate/
// Documented outcome: stages give the "target number of iterations" per timeUnit to ramp to; ramping 0 -> 20/s over
// 2s starts the area under the ramp, 20 iterations, with starts closer together as the rate grows.
import exec from 'k6/execution';
import { Trend } from 'k6/metrics';

export const options = {
  scenarios: {
    ramp: {
      executor: 'ramping-arrival-rate',
      startRate: 0,
      timeUnit: '1s',
      stages: [{ target: 20, duration: '2s' }],
      preAllocatedVUs: 2,
      maxVUs: 4,
    },
  },
};

const startOffset = new Trend('iteration_start_offset', true);

export default async function () {
  startOffset.add(Date.now() - exec.scenario.startTime);
}
