// The signal service's own prom-client registry and metrics, with every label bounded to a small closed set.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { bucketsFor } from '../kit/buckets.ts';
import { RecordedHistogram, tuningRecorder } from '../kit/tuning.ts';

/** Route names used as the `endpoint` label; the closed set of everything the service counts. */
export const ENDPOINTS = [
  'models_list',
  'models_create',
  'models_activate',
  'models_reload',
  'signals_generate',
  'signals_latest',
] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

export const STATUS_CLASSES = ['2xx', '4xx', '5xx'] as const;

/** Generation reads a few Redis lists and sorts a small universe: ~1 ms normally, up to Redis' 1.5 s command timeout when degraded. */
export const GENERATION_BUCKETS = bucketsFor('signal_service_signal_generation_duration_seconds');

/** Model names come from users; at most this many get their own series, the rest are "other". */
export const MAX_MODEL_NAME_LABELS = 16;
/** Versions of recently loaded models that keep their signals_generated series; older ones are removed. */
export const MAX_MODEL_VERSION_LABELS = 3;

const MODEL_NAME_LABEL = /^[A-Za-z0-9_.-]{1,64}$/;

export interface SignalMetrics {
  registry: Registry;
  requests: Counter<'endpoint' | 'status'>;
  generationDuration: Histogram;
  signalsGenerated: Counter<'model_version'>;
  predictions: Counter<'model_name'>;
  reloads: Counter<'status'>;
  polls: Counter<'status'>;
  databaseStatus: Gauge;
  redisStatus: Gauge;
  modelLoaded: Gauge;
  modelVersion: Gauge;
  /** The bounded `model_name` label for a registry name. */
  modelNameLabel(name: string): string;
  /** The `model_version` label for a newly loaded version, dropping the series of versions loaded long ago. */
  modelVersionLabel(version: number): string;
}

export function createSignalMetrics(): SignalMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({
    name: 'signal_service_requests_total',
    help: 'HTTP requests by route name and status class.',
    labelNames: ['endpoint', 'status'] as const,
    registers,
  });
  for (const endpoint of ENDPOINTS) for (const status of STATUS_CLASSES) requests.inc({ endpoint, status }, 0);
  const generationDuration = new RecordedHistogram(
    {
      name: 'signal_service_signal_generation_duration_seconds',
      help: 'Time to generate one signal set (read price history, score, rank, cache), failed attempts included.',
      buckets: GENERATION_BUCKETS,
      registers,
    },
    tuningRecorder(registry),
  );
  const signalsGenerated = new Counter({
    name: 'signal_service_signals_generated_total',
    help: 'Actionable signals (symbols given a non-zero target weight) by the version of the model that produced them.',
    labelNames: ['model_version'] as const,
    registers,
  });
  const predictions = new Counter({
    name: 'signal_service_model_predictions_total',
    help: 'Symbols scored by the loaded model, by model name (bounded; excess names are "other").',
    labelNames: ['model_name'] as const,
    registers,
  });
  const reloads = new Counter({
    name: 'signal_service_model_reload_total',
    help: 'Model loads: success when a valid active model was (re)loaded, failure when the active model is invalid.',
    labelNames: ['status'] as const,
    registers,
  });
  reloads.inc({ status: 'success' }, 0);
  reloads.inc({ status: 'failure' }, 0);
  const polls = new Counter({
    name: 'signal_service_model_polls_total',
    help: 'Finished polls of the model registry: ok when the registry answered (whatever it held), error when it could not be read.',
    labelNames: ['status'] as const,
    registers,
  });
  polls.inc({ status: 'ok' }, 0);
  polls.inc({ status: 'error' }, 0);
  const gauge = (name: string, help: string): Gauge => new Gauge({ name, help, registers });
  const databaseStatus = gauge('signal_service_database_connection_status', 'Postgres reachable (1) or not (0), from a periodic probe.');
  const redisStatus = gauge('signal_service_redis_connection_status', 'Redis reachable (1) or not (0), from a periodic probe.');
  const modelLoaded = gauge('signal_service_model_loaded_status', 'A valid model is loaded and signals can be generated (1) or not (0).');
  const modelVersion = gauge('signal_service_model_version', 'Version of the loaded model, 0 when none is loaded.');

  const names = new Set<string>();
  const versions: string[] = [];
  return {
    registry,
    requests,
    generationDuration,
    signalsGenerated,
    predictions,
    reloads,
    polls,
    databaseStatus,
    redisStatus,
    modelLoaded,
    modelVersion,
    modelNameLabel(name) {
      if (names.has(name)) return name;
      if (names.size < MAX_MODEL_NAME_LABELS && MODEL_NAME_LABEL.test(name)) {
        names.add(name);
        return name;
      }
      return 'other';
    },
    modelVersionLabel(version) {
      const label = String(version);
      const known = versions.indexOf(label);
      if (known >= 0) versions.splice(known, 1);
      versions.push(label);
      while (versions.length > MAX_MODEL_VERSION_LABELS) signalsGenerated.remove({ model_version: versions.shift()! });
      signalsGenerated.inc({ model_version: label }, 0);
      return label;
    },
  };
}
