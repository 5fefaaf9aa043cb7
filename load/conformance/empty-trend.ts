// Conformance: a threshold on a custom Trend that never got a sample reads the trend as 0, so 'p(95)<250' passes.
// Follows https://grafana.com/docs/k6/latest/using-k6/thresholds/ and
// https://grafana.com/docs/k6/latest/javascript-api/k6-metrics/trend/
// Documented outcome: k6 evaluates thresholds on metrics without samples (grafana/k6#1346) and an empty trend's
// aggregates read 0, so the run passes (exit 0). Our runtime follows k6 and warns that the metric has no samples.
import { Trend } from 'k6/metrics';

export const options = {
  scenarios: {
    no_samples: { executor: 'constant-arrival-rate', rate: 2, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1 },
  },
  thresholds: { never_sampled: ['p(95)<250'] },
};

new Trend('never_sampled', true);

export default async function () {}
