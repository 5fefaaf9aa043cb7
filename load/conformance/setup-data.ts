// Conformance: what setup() returns reaches every iteration and teardown() as a JSON copy.
// Follows https://grafana.com/docs/k6/latest/using-k6/test-lifecycle/ ("Use data from setup in default and teardown")
// Documented outcome: "You can pass only data (i.e. JSON) between setup and the other stages"; each iteration and
// teardown get a copy, so a Date arrives as its JSON string. The summary data carries it as setup_data.
import { check } from 'k6';

export const options = {
  scenarios: {
    uses_setup: { executor: 'constant-arrival-rate', rate: 3, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1 },
  },
};

interface SetupData {
  token: string;
  createdAt: unknown;
}

const EPOCH_JSON = '1970-01-01T00:00:00.000Z';

export function setup() {
  return { token: 'abc', createdAt: new Date(0) };
}

export default async function (data: SetupData) {
  check(data, {
    'iteration: token from setup': (d) => d.token === 'abc',
    'iteration: Date arrives as its JSON string': (d) => d.createdAt === EPOCH_JSON,
  });
}

export function teardown(data: SetupData) {
  check(data, {
    'teardown: token from setup': (d) => d.token === 'abc',
    'teardown: Date arrives as its JSON string': (d) => d.createdAt === EPOCH_JSON,
  });
}
