// Trail statistics for netauditctl audit stats: counts of records per op,
// per failure reason and per caller uid, each with its successes, failures
// and first and last time. Only counters are kept, one per distinct value,
// whatever the number of records.
import type { TrailEntry } from './trail-line.js';

export interface Tally {
  readonly count: number;
  readonly success: number;
  readonly fail: number;
  /** ts of the first and last record counted, in trail order */
  readonly first: string;
  readonly last: string;
}

export interface TrailStats {
  readonly all: Tally | null;
  /** by op, by reason (records that have one), by uid (records that have one) */
  readonly ops: ReadonlyMap<string, Tally>;
  readonly reasons: ReadonlyMap<string, Tally>;
  readonly uids: ReadonlyMap<number, Tally>;
}

interface MutableTally {
  count: number;
  success: number;
  fail: number;
  first: string;
  last: string;
}

function count<K>(map: Map<K, MutableTally>, key: K, entry: TrailEntry): void {
  let tally = map.get(key);
  if (tally === undefined) {
    tally = { count: 0, success: 0, fail: 0, first: entry.ts, last: entry.ts };
    map.set(key, tally);
  }
  tally.count++;
  if (entry.result === 'success') tally.success++;
  else tally.fail++;
  tally.last = entry.ts;
}

/** Counts records as they come: add() each, then result(). */
export class StatsCounter {
  private readonly all = new Map<'all', MutableTally>();
  private readonly ops = new Map<string, MutableTally>();
  private readonly reasons = new Map<string, MutableTally>();
  private readonly uids = new Map<number, MutableTally>();

  add(entry: TrailEntry): void {
    count(this.all, 'all', entry);
    count(this.ops, entry.op, entry);
    if (entry.reason !== undefined) count(this.reasons, entry.reason, entry);
    if (entry.uid !== undefined) count(this.uids, entry.uid, entry);
  }

  result(): TrailStats {
    return { all: this.all.get('all') ?? null, ops: sorted(this.ops), reasons: sorted(this.reasons), uids: sorted(this.uids) };
  }
}

/** Most frequent first; equal counts by value, so that the output does not depend on the trail's order. */
function sorted<K extends string | number>(map: Map<K, MutableTally>): Map<K, Tally> {
  return new Map(
    [...map].sort(([ka, a], [kb, b]) => b.count - a.count || (typeof ka === 'number' && typeof kb === 'number' ? ka - kb : String(ka) < String(kb) ? -1 : 1)),
  );
}
