// Services that exit on their own during a run: a service must survive every fault it is put through, so an exit
// nobody asked for (not a scenario's kill, not the harness's stop) fails the run, with the service's last log lines.
import type { ManagedProcess } from '../stack/processes.ts';

export interface Crash {
  service: string;
  code: number;
  /** Epoch ms. */
  at: number;
  /** The service's last log lines, where the cause (an uncaught error, a stack trace) is. */
  tail: string;
}

export interface CrashWatch {
  /** Crashes at or after sinceMs, oldest first. */
  crashes(sinceMs?: number): Crash[];
  stop(): void;
}

export function watchCrashes(processes: Readonly<Record<string, ManagedProcess>>, log: (line: string) => void): CrashWatch {
  const seen: Crash[] = [];
  const unsubscribe = Object.entries(processes).map(([service, proc]) =>
    proc.onExit((code, stopped) => {
      if (stopped) return;
      const crash = { service, code, at: Date.now(), tail: proc.tail().split('\n').slice(-15).join('\n') };
      seen.push(crash);
      log(`  X ${service} exited on its own with code ${code}; its last log lines:\n${crash.tail.replace(/^/gm, '      ')}`);
    }),
  );
  return {
    crashes: (sinceMs = 0) => seen.filter((c) => c.at >= sinceMs),
    stop: () => unsubscribe.forEach((u) => u()),
  };
}

export function describeCrash(c: Crash, startedAt: number): string {
  return `${c.service} exited on its own with code ${c.code} at +${((c.at - startedAt) / 1000).toFixed(1)} s; a service must survive every fault (its log tail is in the report)`;
}
