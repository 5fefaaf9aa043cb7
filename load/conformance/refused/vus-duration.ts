// Refusal (valid k6, outside our profile): the top-level `vus` + `duration` shortcut.
// Follows https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/constant-vus/ ("For a shortcut to this
// executor, use the VUs and duration options")
// The shortcut means the closed-model constant-vus executor: exit 104 and one line naming vus/duration and the
// arrival-rate alternative.
export const options = {
  vus: 2,
  duration: '1s',
};

export default async function () {}
