// Conformance: every check is listed in the summary's root_group with its path and pass/fail counts.
// Follows https://grafana.com/docs/k6/latest/results-output/end-of-test/custom-summary/ ("Summary data reference")
// and https://grafana.com/docs/k6/latest/using-k6/checks/
// Documented outcome: root_group (name "", path "") has checks [{ name, path: '::<name>', passes, fails }]; over 4
// iterations 'status is 200' passes 4, 'status is 500' fails 4, 'iteration is even' passes 2 and fails 2.
import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';

export const options = {
  scenarios: {
    checked: { executor: 'constant-arrival-rate', rate: 4, timeUnit: '1s', duration: '1s', preAllocatedVUs: 2 },
  },
};

export default async function () {
  const res = await http.asyncRequest('GET', `${__ENV.BASE_URL}/ok`);
  check(res, {
    'status is 200': (r) => r.status === 200,
    'status is 500': (r) => r.status === 500,
  });
  check(exec.scenario.iterationInTest, { 'iteration is even': (i) => i % 2 === 0 });
}
