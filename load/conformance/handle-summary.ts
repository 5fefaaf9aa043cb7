// Conformance: handleSummary() output goes where its keys say (a file path, stdout) and replaces the text summary.
// Follows https://grafana.com/docs/k6/latest/results-output/end-of-test/custom-summary/
// Documented outcome: keys are "stdout for standard output ... any relative or absolute path to a file on the system";
// "If handleSummary() is exported, k6 does not print the default summary".
import http from 'k6/http';

export const options = {
  scenarios: {
    summarised: { executor: 'constant-arrival-rate', rate: 2, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1 },
  },
};

export default async function () {
  await http.asyncRequest('GET', `${__ENV.BASE_URL}/ok`);
}

export function handleSummary(data: unknown) {
  return {
    [`${__ENV.OUT_DIR}/summary.json`]: JSON.stringify(data),
    stdout: 'hello summary\n',
  };
}
