// The load bench's k6 script (npm run bench:load): one GET per iteration at a constant arrival rate, and how late each
// iteration started against its slot in the schedule.
//
// Two scenarios, as a k6 user warms a target up: `warmup` ramps the arrival rate from 0 to BENCH_RATE over
// BENCH_WARMUP_S, then `arrival`, the measured one, holds BENCH_RATE for BENCH_DURATION. A run is a fresh process
// (as `k6 run` is), and its first fraction of a second runs code not yet optimised; the ramp lets that happen at low
// rates, where it costs nothing, instead of in the measured step. The bench reads only `arrival`'s figures: the
// thresholds below name its sub-metrics, and they are also the bench's criteria for a step that holds.
// Config from -e: BENCH_URL (target, loopback), BENCH_RATE (iterations per second), BENCH_DURATION_S (seconds
// at that rate), BENCH_VUS (preAllocatedVUs = maxVUs per scenario, generous so an arrival is dropped only when the runtime
// itself falls behind), BENCH_WARMUP_S (the ramp's length in seconds; 0 for none).
import http from 'k6/http';
import exec from 'k6/execution';
import { Trend } from 'k6/metrics';

const RATE = Number(__ENV.BENCH_RATE ?? '100');
const VUS = Number(__ENV.BENCH_VUS ?? '1000');
const URL = __ENV.BENCH_URL ?? 'http://127.0.0.1:8080/';
const DURATION_S = Number(__ENV.BENCH_DURATION_S ?? '6');
const WARMUP_S = Number(__ENV.BENCH_WARMUP_S ?? '2');
/** The bench's limit for a step that holds: arrival lag p99 under this many ms. */
const LAG_P99_LIMIT_MS = Number(__ENV.BENCH_LAG_P99_LIMIT_MS ?? '5');

const measured = {
  executor: 'constant-arrival-rate',
  rate: RATE,
  timeUnit: '1s',
  duration: `${DURATION_S}s`,
  preAllocatedVUs: VUS,
  maxVUs: VUS,
  gracefulStop: '5s',
  startTime: `${WARMUP_S}s`,
} as const;

export const options = {
  scenarios:
    WARMUP_S > 0
      ? {
          warmup: {
            executor: 'ramping-arrival-rate',
            startRate: 0,
            timeUnit: '1s',
            stages: [{ target: RATE, duration: `${WARMUP_S}s` }],
            preAllocatedVUs: VUS,
            maxVUs: VUS,
            // Its last iterations finish on their own while the measured scenario starts: interrupting them would
            // close their sockets under it.
            gracefulStop: '5s',
          },
          arrival: measured,
        }
      : { arrival: measured },
  thresholds: {
    'arrival_lag{scenario:arrival}': [`p(99)<${LAG_P99_LIMIT_MS}`],
    'dropped_iterations{scenario:arrival}': ['count==0'],
    'http_req_failed{scenario:arrival}': ['rate==0'],
    'http_reqs{scenario:arrival}': [`count>=${Math.floor(RATE * DURATION_S)}`],
  },
  summaryTrendStats: ['avg', 'med', 'p(99)', 'max', 'count'],
};

/**
 * How late each iteration started against its slot in a constant-rate schedule: meaningful for the measured scenario
 * only, read as its sub-metric arrival_lag{scenario:arrival}.
 */
const arrivalLag = new Trend('arrival_lag', true);

/**
 * Both scenarios run this one function, so the code V8 optimised during the ramp is the code the measured step runs: a
 * function of its own for the step would start cold in it (a fresh process per run), and a branch on the scenario's
 * name, never taken in the ramp, would throw the optimised code away as the step starts. In the ramp the value added is
 * not a lag (its schedule is not constant-rate); it carries scenario=warmup and nothing reads it.
 */
export default async function () {
  // Iteration i of a constant-arrival-rate scenario is due i / rate seconds after the scenario started (no arrival
  // dropped, which a step that holds never has).
  arrivalLag.add(Date.now() - (exec.scenario.startTime + (exec.scenario.iterationInTest * 1000) / RATE));
  await http.asyncRequest('GET', URL, null, { tags: { name: 'bench' } });
}
