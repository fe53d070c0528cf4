// Finding one record of the trail by the names a person gives it
// (docs/record-format.md): `SEQ` (of the latest daemon start), `BOOT:SEQ`
// (BOOT or the start of it) or the start of its hash (6 hex digits or more).
import type { RecordFilter } from './filter.js';
import { scanTrail, scanTrailBackward, type ScannedRecord } from './scan.js';

export type RecordRef =
  | { readonly kind: 'seq'; readonly seq: number; readonly text: string }
  | { readonly kind: 'boot-seq'; readonly boot: string; readonly seq: number; readonly text: string }
  | { readonly kind: 'hash'; readonly prefix: string; readonly text: string };

/** Fewest hex digits of a hash that name a record: fewer would name many in any trail of some size. */
export const MIN_HASH_PREFIX = 6;

const SEQ = /^[1-9]\d{0,15}$/;
const HEX = /^[0-9a-fA-F]+$/;

/** What `text` names, or null when it is none of the three forms. */
export function parseRecordRef(text: string): RecordRef | null {
  const colon = text.lastIndexOf(':');
  if (colon !== -1) {
    const boot = text.slice(0, colon);
    const seq = text.slice(colon + 1);
    if (boot === '' || boot.includes(':') || !SEQ.test(seq) || !Number.isSafeInteger(Number(seq))) return null;
    return { kind: 'boot-seq', boot: boot.toLowerCase(), seq: Number(seq), text };
  }
  if (SEQ.test(text) && Number.isSafeInteger(Number(text))) return { kind: 'seq', seq: Number(text), text };
  if (HEX.test(text) && text.length >= MIN_HASH_PREFIX && text.length <= 64) return { kind: 'hash', prefix: text.toLowerCase(), text };
  return null;
}

/** A filter that parses only the lines whose text may hold the record. */
function lineFilter(mayMatchLine: (text: string) => boolean, matches: RecordFilter['matches']): RecordFilter {
  return { options: {}, matches, mayMatchLine, mayMatchDay: () => true };
}

async function collect(records: AsyncIterable<ScannedRecord>, limit: number): Promise<ScannedRecord[]> {
  const found: ScannedRecord[] = [];
  for await (const record of records) {
    found.push(record);
    if (found.length >= limit) break;
  }
  return found;
}

export interface FindResult {
  /** the records that match, oldest first; at most `limit` of them */
  readonly records: readonly ScannedRecord[];
  /** for a bare SEQ: the latest daemon start, which it was looked up in; null for an empty trail */
  readonly latestBoot?: string | null;
}

/**
 * The records `ref` names in the trail of `dir`. A bare SEQ is looked up in
 * the latest daemon start only (the boot of the trail's last record), read
 * from the end; a SEQ of 6 digits or more that no record of it has is then
 * taken as the start of a hash, which may be made of digits only.
 */
export async function findRecords(dir: string, ref: RecordRef, limit = 10): Promise<FindResult> {
  switch (ref.kind) {
    case 'seq': {
      let latestBoot: string | null = null;
      const found: ScannedRecord[] = [];
      for await (const record of scanTrailBackward(dir, lineFilter(() => true, () => true))) {
        latestBoot ??= record.entry.boot;
        // A daemon start's records are together in the trail: one daemon at a time writes it.
        if (record.entry.boot !== latestBoot) break;
        if (record.entry.seq === ref.seq) found.push(record);
        if (found.length >= limit) break;
      }
      if (found.length === 0 && ref.text.length >= MIN_HASH_PREFIX) {
        const byHash = await findRecords(dir, { kind: 'hash', prefix: ref.text, text: ref.text }, limit);
        if (byHash.records.length > 0) return byHash;
      }
      return { records: found.reverse(), latestBoot };
    }
    case 'boot-seq': {
      const seqText = `"seq":${ref.seq},`;
      const filter = lineFilter(
        (text) => text.includes(seqText),
        (entry) => entry.seq === ref.seq && entry.boot.toLowerCase().startsWith(ref.boot),
      );
      return { records: await collect(scanTrail(dir, filter), limit) };
    }
    case 'hash': {
      const hashText = `"hash":"${ref.prefix}`;
      const filter = lineFilter((text) => text.includes(hashText), (entry) => entry.hash.startsWith(ref.prefix));
      return { records: await collect(scanTrail(dir, filter), limit) };
    }
  }
}
