// Conformance: an exception thrown in the init context stops k6 before the test starts, with exit code 107.
// Follows https://grafana.com/docs/k6/latest/using-k6/test-lifecycle/ ("All code that is outside of a lifecycle
// function is code in the init context") and k6's exit codes (ScriptException = 107,
// https://pkg.go.dev/go.k6.io/k6@v0.50.0/errext/exitcodes).
// Documented outcome: the init context runs first; its exception is a script error: exit 107, message on stderr.
export const options = {
  scenarios: {
    never_runs: { executor: 'constant-arrival-rate', rate: 1, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1 },
  },
};

export default async function () {}

throw new Error('conformance: init context failure');
