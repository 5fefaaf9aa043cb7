// The runtime's 'k6/metrics' module: custom Counter, Gauge, Rate and Trend, defined in the init context as k6 requires.
import type { Metric, MetricType } from '../metrics.ts';
import { contextTags, testState } from '../state.ts';

class CustomMetric {
  readonly name: string;
  private readonly metric: Metric;

  constructor(type: MetricType, name: string, isTime = false) {
    const state = testState();
    if (state.phase !== 'init') throw new Error(`metric '${name}': custom metrics can only be created in the init context (at module level), as in k6`);
    this.metric = state.registry.define(name, type, isTime ? 'time' : 'default');
    this.name = name;
  }

  add(value: number | boolean, tags?: Record<string, unknown>): boolean {
    const state = testState();
    const extra = tags === undefined ? {} : Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, String(v)]));
    const n = typeof value === 'boolean' ? (value ? 1 : 0) : Number(value);
    if (!Number.isFinite(n)) throw new Error(`metric '${this.name}': add(${String(value)}) is not a finite number`);
    state.registry.add(this.metric, n, { ...contextTags(), ...extra });
    return true;
  }
}

export class Counter extends CustomMetric {
  constructor(name: string) {
    super('counter', name);
  }
}

export class Gauge extends CustomMetric {
  constructor(name: string, isTime = false) {
    super('gauge', name, isTime);
  }
}

export class Rate extends CustomMetric {
  constructor(name: string) {
    super('rate', name);
  }
}

export class Trend extends CustomMetric {
  constructor(name: string, isTime = false) {
    super('trend', name, isTime);
  }
}

export default { Counter, Gauge, Rate, Trend };
