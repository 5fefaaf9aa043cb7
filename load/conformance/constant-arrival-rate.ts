// Conformance: constant-arrival-rate starts `rate` iterations per `timeUnit`, spaced evenly over the period.
// Follows https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/constant-arrival-rate/
// Documented outcome: rate 10 per timeUnit 1s for duration 2s starts exactly 20 iterations; "At a rate of 10 with a
// timeUnit of 1s, each iteration starts about every tenth of a second (that is, each 100ms)".
import exec from 'k6/execution';
import { Trend } from 'k6/metrics';

export const options = {
  scenarios: {
    arrivals: { executor: 'constant-arrival-rate', rate: 10, timeUnit: '1s', duration: '2s', preAllocatedVUs: 2, maxVUs: 4 },
  },
};

const startOffset = new Trend('iteration_start_offset', true);

export default async function () {
  startOffset.add(Date.now() - exec.scenario.startTime);
}
