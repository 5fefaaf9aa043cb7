// Conformance: exec.scenario.iterationInTest numbers a scenario's iterations 0..N-1, once each, across its VUs.
// Follows https://grafana.com/docs/k6/latest/javascript-api/k6-execution/
// Documented outcome: iterationInTest is "The unique and zero-based sequential number of the current iteration in
// the scenario"; identifiers "are sequentially generated starting from a base of zero (iterations)". Two scenarios
// run at once on several VUs each; each scenario's numbers are exactly 0..N-1.
import exec from 'k6/execution';
import http from 'k6/http';
import { Trend } from 'k6/metrics';

export const options = {
  scenarios: {
    alpha: { executor: 'constant-arrival-rate', exec: 'alpha', rate: 20, timeUnit: '1s', duration: '1s', preAllocatedVUs: 4, maxVUs: 8 },
    beta: { executor: 'constant-arrival-rate', exec: 'beta', rate: 15, timeUnit: '1s', duration: '1s', preAllocatedVUs: 4, maxVUs: 8 },
  },
};

const iterationNumber = new Trend('iteration_in_test');

async function recordIteration(): Promise<void> {
  iterationNumber.add(exec.scenario.iterationInTest, { numbered_in: exec.scenario.name, vu: String(exec.vu.idInTest) });
  // Keeps each VU busy long enough that the scenario needs several VUs at once.
  await http.asyncRequest('GET', `${__ENV.BASE_URL}/delay/150`);
}

export async function alpha() {
  await recordIteration();
}

export async function beta() {
  await recordIteration();
}
