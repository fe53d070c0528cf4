// QuietWindow: the events of each key (a file, a sender) coalesced into one, once it has
// been quiet for a short window (docs/profile-edits.md). An editor's save is
// a burst of events (a backup renamed away, a new file written, renamed into
// place): it is one change. A file written without pause is taken as it is
// after `maxMs`, so that a writer that never stops is not never seen.
import type { Clock, TimerHandle } from './dhcp/clock.js';

export interface QuietWindowOptions<K> {
  readonly clock: Clock;
  /** how long a key must be quiet to be ready */
  readonly quietMs: number;
  /** how long after its first event a key is ready however busy it is */
  readonly maxMs: number;
  readonly ready: (key: K) => void;
}

interface Pending {
  readonly first: number;
  timer: TimerHandle;
}

export class QuietWindow<K> {
  private readonly pending = new Map<K, Pending>();

  constructor(private readonly options: QuietWindowOptions<K>) {}

  /** An event for `key`: its window starts again, within the bound of its first event. */
  touch(key: K): void {
    const { clock, quietMs, maxMs } = this.options;
    const now = clock.now();
    const known = this.pending.get(key);
    if (known) clock.clearTimeout(known.timer);
    const first = known?.first ?? now;
    const wait = Math.max(0, Math.min(quietMs, first + maxMs - now));
    const entry: Pending = { first, timer: null };
    entry.timer = clock.setTimeout(() => this.fire(key, entry), wait);
    this.pending.set(key, entry);
  }

  /** Keys with events not yet handed out. */
  get size(): number {
    return this.pending.size;
  }

  /** Drops every pending key: their events are not handed out. */
  close(): void {
    for (const entry of this.pending.values()) this.options.clock.clearTimeout(entry.timer);
    this.pending.clear();
  }

  private fire(key: K, entry: Pending): void {
    if (this.pending.get(key) !== entry) return;
    this.pending.delete(key);
    this.options.ready(key);
  }
}
