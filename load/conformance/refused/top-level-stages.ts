// Refusal (valid k6, outside our profile): the top-level `stages` shortcut.
// Follows https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/ramping-vus/ ("For a shortcut to this
// executor, use the stages option")
// The shortcut means the closed-model ramping-vus executor: exit 104 and one line naming `stages` and the
// arrival-rate alternative (ramping-arrival-rate).
export const options = {
  stages: [{ duration: '1s', target: 2 }],
};

export default async function () {}
