// How a fault reaches each part of a stack: the bindings every backend describes and the fault drivers act through.
import type { ManagedProcess } from './processes.ts';

/** Signals a fault may send. SIGSTOP is undone by SIGCONT; the others end the process, undone by starting it again. */
export const FAULT_SIGNALS = ['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGSTOP'] as const;
export type FaultSignal = (typeof FAULT_SIGNALS)[number];

/** A process the stack started itself: its own handle does the signalling, waits, and restarts. */
export interface HandleBinding {
  kind: 'handle';
  describe: string;
  process(): ManagedProcess | undefined;
  /** Sends the signal; resolves once the process is stopped (SIGSTOP) or has exited (the others). */
  signal(sig: FaultSignal): Promise<void>;
  /** SIGCONT; resolves once it runs again. */
  resume(): Promise<void>;
  /** Starts it again after a signal that ended it; resolves once it serves again. */
  start(): Promise<void>;
}

/** How a process that a signal ended is brought back, when the harness did not start it. */
export type StartSpec = { url: string; method: string } | { command: string[] };

/** A local process someone else runs: found by pid or pid file, signalled as a process or a process group. */
export interface PidBinding {
  kind: 'pid';
  pid?: number;
  /** Read at every signal, so a restarted process (a new pid) is still found. */
  pidFile?: string;
  /** Signal the process group whose leader the pid is (a launcher and its children). */
  group: boolean;
  start?: StartSpec;
}

/** A docker compose service: `docker compose kill -s <signal>` and `docker compose start`. */
export interface ComposeBinding {
  kind: 'compose';
  service: string;
  project?: string;
  files: string[];
}

export type ProcessBinding = HandleBinding | PidBinding | ComposeBinding;

/** A hop in front of the target, driven through toxiproxy's HTTP API (toxiproxy itself, or our fault proxy's). */
export interface ProxyBinding {
  api: string;
  name: string;
}

/** The config file a daemon runs (Prometheus, Alertmanager) and how it re-reads it: the config driver edits and reloads. */
export interface ConfigBinding {
  /** The rendered config the daemon runs. */
  file: string;
  /** Prometheus: the directory it loads every *.yml rule file from (its rule_files glob). */
  rulesDir?: string;
  /** Re-reads the config (and rule files); rejects with the daemon's own error when they are invalid. */
  reload(): Promise<void>;
}

/** Everything one part of the stack offers the fault drivers; a driver needs only its own binding. */
export interface TargetBindings {
  /** Base URL of its HTTP API (the http driver and the load). */
  url?: string;
  /** The signal driver's way to the process (ours, a local pid, or a compose service). */
  process?: ProcessBinding;
  proxy?: ProxyBinding;
  /** fake-alpaca's fault admin API (the broker driver). */
  brokerAdmin?: string;
  /** Databases on this server by name, for the sql driver. */
  databases?: Record<string, string>;
  /** The config driver's file and reload (Prometheus and Alertmanager the stack started). */
  config?: ConfigBinding;
}

export type Targets = Record<string, TargetBindings>;

export function describeProcess(b: ProcessBinding): string {
  if (b.kind === 'handle') return b.describe;
  if (b.kind === 'compose') return `compose service ${b.service}${b.project ? ` (project ${b.project})` : ''}`;
  return b.pidFile ? `pid from ${b.pidFile}` : `pid ${b.pid}`;
}
