// The load bench's k6 script (npm run bench:load): one GET per iteration at a constant arrival rate, and how late each
// iteration started against its slot in the schedule: `arrival_lag` for every iteration, `arrival_lag_steady` for those
// after the first BENCH_WARMUP_S seconds (a run is a fresh process, and its first half second runs code not yet optimised).
// Config from -e: BENCH_URL (target, loopback), BENCH_RATE (iterations per second), BENCH_DURATION (k6 duration, e.g. '6s'),
// BENCH_VUS (preAllocatedVUs = maxVUs, generous so an arrival is dropped only when the runtime itself falls behind),
// BENCH_WARMUP_S (default 1).
import http from 'k6/http';
import exec from 'k6/execution';
import { Trend } from 'k6/metrics';

const RATE = Number(__ENV.BENCH_RATE ?? '100');
const VUS = Number(__ENV.BENCH_VUS ?? '1000');
const URL = __ENV.BENCH_URL ?? 'http://127.0.0.1:8080/';
const WARMUP_MS = Number(__ENV.BENCH_WARMUP_S ?? '1') * 1000;

export const options = {
  scenarios: {
    arrival: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: __ENV.BENCH_DURATION ?? '6s',
      preAllocatedVUs: VUS,
      maxVUs: VUS,
      gracefulStop: '5s',
    },
  },
  summaryTrendStats: ['avg', 'med', 'p(99)', 'max', 'count'],
};

const arrivalLag = new Trend('arrival_lag', true);
const arrivalLagSteady = new Trend('arrival_lag_steady', true);

export default async function () {
  // Iteration i of a constant-arrival-rate scenario is due i / rate seconds after the scenario started (no arrival
  // dropped, which a step that holds never has).
  const offset = (exec.scenario.iterationInTest * 1000) / RATE;
  const lag = Date.now() - (exec.scenario.startTime + offset);
  arrivalLag.add(lag);
  if (offset >= WARMUP_MS) arrivalLagSteady.add(lag);
  await http.asyncRequest('GET', URL, null, { tags: { name: 'bench' } });
}
