// Conformance: __ENV carries the -e KEY=VALUE variables and the system environment, in init and VU code.
// Follows https://grafana.com/docs/k6/latest/using-k6/environment-variables/
// Documented outcome: "the environment variables are exposed through a global __ENV variable", passed with "-e /
// --env CLI flags" or sourced "from the local system". The rate below comes from -e, so 3 iterations run.
import { check } from 'k6';

export const options = {
  scenarios: {
    configured: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.CONFORMANCE_RATE ?? '1'),
      timeUnit: '1s',
      duration: '1s',
      preAllocatedVUs: 1,
    },
  },
};

export default async function () {
  check(__ENV, {
    'env: -e value visible': (env) => env.CONFORMANCE_GREETING === 'hello from -e',
    'env: system environment visible': (env) => typeof env.PATH === 'string' && env.PATH.length > 0,
  });
}
