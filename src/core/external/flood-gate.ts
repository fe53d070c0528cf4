// FloodGate: a bound on how many records changes made by others get (docs/external-changes.md).
// A script that adds 10,000 routes must neither stall the daemon nor vanish from the trail: up to
// `limit` changes a second are a record each; past that, the rest of the second is counted per
// op and written as one record per op that gives the count, the first and the last change, and
// who made them. Nothing is dropped without being counted.
import type { AuditValues } from '../audit/record.js';
import type { Clock, TimerHandle } from '../dhcp/clock.js';
import type { ChangeRecord } from './change-groups.js';

const SECOND = 1000;

export interface FloodSummary {
  readonly op: ChangeRecord['op'];
  readonly count: number;
  readonly first: AuditValues;
  readonly last: AuditValues;
  /** the distinct pids that made them, as attributed (at most 16) */
  readonly pids: readonly number[];
  /** how long the flood has lasted when this record is written */
  readonly seconds: number;
}

export interface FloodGateOptions {
  readonly clock: Clock;
  /** records a second before changes are counted instead */
  readonly limit: number;
  readonly summary: (s: FloodSummary) => Promise<void>;
}

interface Counted {
  count: number;
  first: AuditValues;
  last: AuditValues;
  readonly pids: Set<number>;
}

const MAX_PIDS = 16;

export class FloodGate {
  private windowStart = -Infinity;
  private admitted = 0;
  private floodStart: number | null = null;
  private readonly counted = new Map<ChangeRecord['op'], Counted>();
  private timer: TimerHandle | null = null;

  constructor(private readonly options: FloodGateOptions) {}

  /** True: write `record` as it is; false: it is counted, and its count written at the end of the second. */
  admit(record: ChangeRecord, pid: number | null): boolean {
    const now = this.options.clock.now();
    if (now - this.windowStart >= SECOND) {
      this.windowStart = now;
      this.admitted = 0;
    }
    if (this.admitted < this.options.limit) {
      this.admitted++;
      return true;
    }
    this.floodStart ??= this.windowStart;
    const values = record.after ?? record.before ?? {};
    const known = this.counted.get(record.op);
    if (known) {
      known.count++;
      known.last = values;
      if (pid !== null && known.pids.size < MAX_PIDS) known.pids.add(pid);
    } else {
      this.counted.set(record.op, { count: 1, first: values, last: values, pids: new Set(pid !== null ? [pid] : []) });
    }
    this.timer ??= this.options.clock.setTimeout(() => void this.release(), this.windowStart + SECOND - now);
    return false;
  }

  /** Writes the counts of this second now, rather than at its end (the daemon is stopping). */
  async close(): Promise<void> {
    if (this.timer === null) return;
    this.options.clock.clearTimeout(this.timer);
    await this.release();
  }

  private async release(): Promise<void> {
    this.timer = null;
    const now = this.options.clock.now();
    const seconds = Math.max(1, Math.round((now - (this.floodStart ?? now)) / SECOND));
    const counted = [...this.counted];
    this.counted.clear();
    for (const [op, c] of counted) await this.options.summary({ op, count: c.count, first: c.first, last: c.last, pids: [...c.pids], seconds });
    // A flood that goes on starts its next second counted from here.
    this.floodStart = null;
  }
}
