// TimeSlice: the turns a long start-up loop gives the event loop (reading
// thousands of profiles, replaying the trail), so that timers and the bus
// connection wait a few milliseconds at most, not for the whole loop.

/** How long a loop runs before the event loop gets a turn. */
const SLICE_MS = 3;

export class TimeSlice {
  private started = performance.now();

  /** Gives the event loop a turn (setImmediate) once SLICE_MS have passed since the last. */
  async check(): Promise<void> {
    if (performance.now() - this.started < SLICE_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.started = performance.now();
  }
}
