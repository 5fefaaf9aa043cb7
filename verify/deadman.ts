// A dead man's switch: alarms when no heartbeat came for alarmAfterS, and records each silence as an episode.
// Pure over an injected clock (beat/check); start() adds a timer that checks when the next alarm is due.

export interface DeadmanEpisode {
  /** The last heartbeat before the silence; the switch's creation when none had come (then beforeFirstBeat). */
  lastBeatAt: number;
  /** When the switch raised the alarm (ms, the clock's). */
  alarmedAt: number;
  /** The first heartbeat after the alarm; absent while it lasts. */
  resumedAt?: number;
  /** No heartbeat had come since the switch was created. */
  beforeFirstBeat?: true;
}

export type DeadmanState =
  /** No heartbeat yet; alarms at alarmAt (alarmAfterS after creation) unless one comes. */
  | { state: 'awaiting-first-beat'; since: number; alarmAt: number }
  | { state: 'beating'; lastBeatAt: number; alarmAt: number }
  | { state: 'alarmed'; episode: DeadmanEpisode };

export interface DeadmanOptions {
  alarmAfterS: number;
  /** ms since the epoch; Date.now by default. */
  now?: () => number;
  onAlarm?: (episode: DeadmanEpisode) => void;
  onResume?: (episode: DeadmanEpisode) => void;
}

export interface DeadmanSwitch {
  /** A heartbeat at `at` (a receiver's receivedAt); a beat older than the last one changes nothing. */
  beat(at?: number): void;
  /** Raises the alarm if it is due at `at`; returns the state then. */
  check(at?: number): DeadmanState;
  /** Checks on a timer set for the moment the next alarm is due; stop() clears it. */
  start(): void;
  stop(): void;
  /** Every silence that alarmed, oldest first. */
  episodes(): DeadmanEpisode[];
}

export function createDeadmanSwitch(opts: DeadmanOptions): DeadmanSwitch {
  if (!(opts.alarmAfterS > 0)) throw new Error(`dead man's switch needs alarmAfterS > 0, got ${opts.alarmAfterS}`);
  const now = opts.now ?? Date.now;
  const alarmAfterMs = opts.alarmAfterS * 1000;
  const createdAt = now();
  let lastBeatAt: number | undefined;
  let open: DeadmanEpisode | undefined;
  const closed: DeadmanEpisode[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  const silenceSince = (): number => lastBeatAt ?? createdAt;

  const state = (): DeadmanState => {
    if (open) return { state: 'alarmed', episode: { ...open } };
    const alarmAt = silenceSince() + alarmAfterMs;
    return lastBeatAt === undefined ? { state: 'awaiting-first-beat', since: createdAt, alarmAt } : { state: 'beating', lastBeatAt, alarmAt };
  };

  const check = (at = now()): DeadmanState => {
    if (!open && at - silenceSince() >= alarmAfterMs) {
      open = { lastBeatAt: silenceSince(), alarmedAt: at, ...(lastBeatAt === undefined ? { beforeFirstBeat: true as const } : {}) };
      opts.onAlarm?.({ ...open });
    }
    return state();
  };

  // One timeout for the moment the alarm is due; none while alarmed (the next beat re-arms it).
  const arm = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (!running || open) return;
    timer = setTimeout(() => {
      timer = undefined;
      check();
      arm();
    }, Math.max(0, silenceSince() + alarmAfterMs - now()));
  };

  return {
    beat(at = now()) {
      if (lastBeatAt !== undefined && at <= lastBeatAt) return;
      // A silence nobody checked during still counts: it alarms now and resumes at once.
      check(at);
      lastBeatAt = at;
      if (open) {
        const episode = { ...open, resumedAt: at };
        closed.push(episode);
        open = undefined;
        opts.onResume?.({ ...episode });
      }
      arm();
    },
    check,
    start() {
      running = true;
      arm();
    },
    stop() {
      running = false;
      arm();
    },
    episodes: () => [...closed, ...(open ? [{ ...open }] : [])],
  };
}
