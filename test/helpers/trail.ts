// The trail as a reader checks it (docs/record-format.md): day files in date order, each line's hash recomputed
// here with node:crypto, not with the daemon's own trail code, and each line linked to the one before.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';

/** A parsed trail line: the keys every record has, typed; the others as they come. */
export type TrailEntry = Record<string, unknown> & {
  ts: string;
  boot: string;
  seq: number;
  op: string;
  result: string;
  prev: string;
  hash: string;
};

/** The `prev` of the first record of a trail. */
export const ZERO_HASH = '0'.repeat(64);

/** A day file's name: audit-YYYY-MM-DD.jsonl. */
export const DAY_FILE = /^audit-\d{4}-\d{2}-\d{2}\.jsonl$/;

// The order of the keys on a line (src/core/audit/trail/trail-line.ts): the hash covers the text.
export const TRAIL_KEYS: readonly string[] = [
  'ts', 'boot', 'seq', 'op', 'origin', 'cause', 'uuid', 'name', 'ifindex', 'iface', 'args', 'changed', 'before', 'after', 'pid', 'uid',
  'result', 'reason', 'cut', 'actor', 'tx',
  'prev', 'hash',
];

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The names of the day files in `dir`, oldest first: the fixed-width names sort by date. */
export async function dayFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => DAY_FILE.test(name)).sort();
}

/**
 * Reads every day file of `dir` and checks, naming file:line, that each file ends with a whole
 * line, that each line ends with `,"hash":"<64 hex>"}` where the hash is the SHA-256 of the line
 * without that part (plus "}"), and that each `prev` is the hash of the record before it
 * (ZERO_HASH for the first). Returns the records, parsed.
 */
export async function verifiedChain(dir: string): Promise<TrailEntry[]> {
  const entries: TrailEntry[] = [];
  let prev = ZERO_HASH;
  for (const name of await dayFiles(dir)) {
    const text = await readFile(join(dir, name), 'utf8');
    expect(text === '' || text.endsWith('\n'), `${name} ends with a whole line`).toBe(true);
    text.split('\n').slice(0, -1).forEach((line, i) => {
      const where = `${name}:${i + 1}`;
      const m = /^(.*),"hash":"([0-9a-f]{64})"\}$/.exec(line);
      expect(m, `${where} ends with its hash`).not.toBeNull();
      expect(sha256(`${m![1]}}`), `${where} matches its hash`).toBe(m![2]);
      const entry = JSON.parse(line) as TrailEntry;
      expect(entry.prev, `${where} links to the record before it`).toBe(prev);
      prev = entry.hash;
      entries.push(entry);
    });
  }
  return entries;
}

/**
 * Writes day files of old records straight into `dir`, as the daemon would have written them
 * (the trail's own line format, src/core/audit/trail/trail-line.ts), chained from `prev`: for
 * each [date, count], `count` records at 08:00 UTC on that date and on. Returns the records' hashes
 * in order.
 */
export async function writeDayFiles(dir: string, days: Array<[date: string, count: number]>, prev = ZERO_HASH): Promise<string[]> {
  const { formatTrailLine } = await import('../../src/core/audit/trail/trail-line.js');
  const { writeFile } = await import('node:fs/promises');
  const hashes: string[] = [];
  let seq = 0;
  for (const [date, count] of days) {
    let text = '';
    for (let i = 0; i < count; i++) {
      const ts = Date.parse(`${date}T08:00:00.000Z`) + i * 1000;
      const { line, hash } = formatTrailLine({ ts, boot: 'old-boot', seq: ++seq, op: 'connection-add', name: `old${seq}`, pid: 1, uid: 0, result: 'success' }, prev);
      text += line;
      hashes.push(hash);
      prev = hash;
    }
    await writeFile(join(dir, `audit-${date}.jsonl`), text, { mode: 0o640 });
  }
  return hashes;
}
