// Conformance: exec.test.abort() ends the whole test run with exit code 108.
// Follows https://grafana.com/docs/k6/latest/javascript-api/k6-execution/ ("test.abort([input])")
// Documented outcome: test.abort "Aborts the test run with the exit code 108", with the given message as the reason.
import exec from 'k6/execution';

export const options = {
  scenarios: {
    aborts: { executor: 'constant-arrival-rate', rate: 2, timeUnit: '1s', duration: '2s', preAllocatedVUs: 1 },
  },
};

export default async function () {
  exec.test.abort('conformance: aborted by the script');
}
