// What recovery does with the write-ahead segments a previous run left
// (docs/commit.md), decided from the segments and the trail alone, so that
// it can be checked without a disk: which profile files to put back, and
// which recorded changes never reached the log and are to be overturned.
import type { ParsedSegment, WalEntry } from './wal-format.js';

/** The profile changes that go through the write-ahead log when their record has a tx. */
export const LOGGED_OPS: ReadonlySet<string> = new Set([
  'connection-add',
  'connection-add-activate',
  'connection-update',
  'connection-delete',
  'connection-clear-secrets',
]);

/** What recovery needs of a trail record. */
export interface TrailFact {
  readonly boot: string;
  readonly tx?: number;
  readonly op: string;
  readonly origin?: string;
  readonly result: string;
  readonly cause?: string;
  readonly args?: string;
  readonly uuid?: string;
  readonly name?: string;
}

/** A recorded change to overturn: its record stands, but its change never reached the log. */
export interface Overturn {
  readonly boot: string;
  readonly tx: number;
  readonly op: string;
  readonly uuid?: string;
  readonly name?: string;
}

export interface RecoveryPlan {
  /** each profile file to put in its final state: its content, or null to remove it */
  readonly files: ReadonlyMap<string, string | null>;
  readonly overturns: readonly Overturn[];
  /** changes replayed, and changes passed over because no caller was told of them */
  readonly replayed: number;
  readonly dropped: number;
}

const key = (boot: string, tx: number): string => `${boot}:${tx}`;

/**
 * The key of the record a `fail` overturns: its own start's, or for one
 * written at a later start (cause=restart) the start named in its args.
 */
function overturnedKey(r: TrailFact): string | null {
  if (r.result === 'success' || r.tx === undefined) return null;
  const boot = r.cause === 'restart' && r.origin === 'daemon' && r.args !== undefined ? r.args : r.boot;
  return key(boot, r.tx);
}

/**
 * `records` are the trail's records of the segments' starts, in trail
 * order; `holds(file, uuid)` says whether a file holds that profile now.
 */
export function planRecovery(
  segments: ReadonlyArray<ParsedSegment>,
  records: ReadonlyArray<TrailFact>,
  holds: (file: string, uuid: string) => boolean,
): RecoveryPlan {
  const overturned = new Set<string>();
  for (const r of records) {
    const k = overturnedKey(r);
    if (k !== null) overturned.add(k);
  }
  const committed = new Set<string>();
  for (const r of records) {
    if (r.result === 'success' && r.tx !== undefined && !overturned.has(key(r.boot, r.tx))) committed.add(key(r.boot, r.tx));
  }
  // Segments in the order written: by start, in the trail's order of starts, then by number.
  const bootOrder = new Map<string, number>();
  for (const r of records) if (!bootOrder.has(r.boot)) bootOrder.set(r.boot, bootOrder.size);
  const ordered = [...segments].sort(
    (a, b) => (bootOrder.get(a.header.boot) ?? -1) - (bootOrder.get(b.header.boot) ?? -1) || a.header.n - b.header.n,
  );

  const logged = new Set<string>();
  const state = new Map<string, { uuid: string; content: string } | null>();
  const holdsNow = (file: string, uuid: string): boolean => {
    const s = state.get(file);
    return s === undefined ? holds(file, uuid) : s?.uuid === uuid;
  };
  let replayed = 0;
  let dropped = 0;
  const apply = (e: WalEntry): void => {
    if (e.remove !== undefined && e.remove !== e.write && holdsNow(e.remove, e.uuid)) state.set(e.remove, null);
    if (e.write !== undefined && e.content !== undefined) state.set(e.write, { uuid: e.uuid, content: e.content });
  };
  for (const segment of ordered) {
    for (const e of segment.entries) {
      logged.add(key(e.boot, e.tx));
      if (e.recorded && !committed.has(key(e.boot, e.tx))) {
        dropped++;
        continue;
      }
      apply(e);
      replayed++;
    }
  }

  // A change of a start with segments left, recorded as a success from the
  // first tx its oldest segment covers on, must be in one of them or named
  // done by that oldest one; if it is not, its log line never became
  // durable and no caller was told it succeeded.
  const oldest = new Map<string, ParsedSegment['header']>();
  for (const s of segments) {
    const o = oldest.get(s.header.boot);
    if (o === undefined || s.header.n < o.n) oldest.set(s.header.boot, s.header);
  }
  const overturns: Overturn[] = [];
  for (const r of records) {
    if (r.result !== 'success' || r.tx === undefined || r.origin !== 'caller' || !LOGGED_OPS.has(r.op)) continue;
    const first = oldest.get(r.boot);
    if (first === undefined || r.tx < first.from || first.done.includes(r.tx)) continue;
    const k = key(r.boot, r.tx);
    if (!committed.has(k) || logged.has(k)) continue;
    overturns.push({ boot: r.boot, tx: r.tx, op: r.op, ...(r.uuid !== undefined ? { uuid: r.uuid } : {}), ...(r.name !== undefined ? { name: r.name } : {}) });
  }

  const files = new Map<string, string | null>();
  for (const [file, s] of state) files.set(file, s === null ? null : s.content);
  return { files, overturns, replayed, dropped };
}
