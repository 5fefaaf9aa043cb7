// Refusal (valid k6, outside our profile): the closed-model constant-vus executor.
// Follows https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/constant-vus/
// k6 runs this; our runtime implements only the open-model arrival-rate executors, so it must stop at load time with
// exit 104 (invalid options) and one line naming 'constant-vus' and the arrival-rate alternative.
export const options = {
  scenarios: {
    closed_model: { executor: 'constant-vus', vus: 2, duration: '1s' },
  },
};

export default async function () {}
