// Clock: the time and the timers of the DHCP client, injected so that its
// unit tests run a lease of hours in milliseconds with a fake one.

export type TimerHandle = unknown;

export interface Clock {
  /** epoch milliseconds */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Node's timers take at most 2^31-1 ms (about 24.8 days); a lease may run for years. */
const LONGEST_TIMER = 0x7fffffff;

interface LongTimer {
  node: NodeJS.Timeout | null;
}

/**
 * Date.now and Node's timers, unref'd: a client waiting for its renewal does
 * not keep the process alive by itself. A timer longer than Node allows is
 * chained.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: LongTimer = { node: null };
    const due = Date.now() + Math.max(0, ms);
    const arm = (): void => {
      const left = due - Date.now();
      timer.node = setTimeout(left > LONGEST_TIMER ? arm : fn, Math.min(Math.max(0, left), LONGEST_TIMER));
      timer.node.unref();
    };
    arm();
    return timer;
  },
  clearTimeout(handle: TimerHandle): void {
    const timer = handle as LongTimer | null;
    if (timer?.node) clearTimeout(timer.node);
  },
};
