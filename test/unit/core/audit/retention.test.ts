// Trail retention: which day files are due, the anchor written before they are
// removed, a crash at any point of a run, and verify telling a chain that
// retention shortened from one that was cut.
import { mkdtemp, readdir, readFile, rm, unlink, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonlFileBackend } from '../../../../src/core/audit/backends/jsonl-file.js';
import type { AuditRecord } from '../../../../src/core/audit/record.js';
import { ANCHOR_FILE, readAnchor } from '../../../../src/core/audit/trail/anchor.js';
import { dayFileName, listDayFiles } from '../../../../src/core/audit/trail/day-file.js';
import { readTail } from '../../../../src/core/audit/trail/reader.js';
import { expiredDayFiles, pruneTrail } from '../../../../src/core/audit/trail/retention.js';
import { formatTrailLine, ZERO_HASH } from '../../../../src/core/audit/trail/trail-line.js';
import { verifyTrail, type VerifyResult } from '../../../../src/core/audit/trail/verify.js';

const DAY = 24 * 3600 * 1000;
const OCT_1 = Date.UTC(2026, 9, 1, 8, 0, 0, 0);
/** Five day files, Oct 1–5, with 1, 2, 3, 4 and 5 records. */
const FILES = ['audit-2026-10-01.jsonl', 'audit-2026-10-02.jsonl', 'audit-2026-10-03.jsonl', 'audit-2026-10-04.jsonl', 'audit-2026-10-05.jsonl'];

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netaudit-retention-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes the five days with formatTrailLine, chained from 64 zeros; returns each line's hash, by file. */
async function fiveDays(): Promise<string[][]> {
  let prev = ZERO_HASH;
  let seq = 0;
  const hashes: string[][] = [];
  for (let day = 0; day < 5; day++) {
    const fileHashes: string[] = [];
    for (let i = 0; i <= day; i++) {
      const record: AuditRecord = { ts: OCT_1 + day * DAY + i, boot: 'b1', seq: ++seq, op: 'connection-add', name: 'lan0', result: 'success' };
      const { line, hash } = formatTrailLine(record, prev);
      await appendFile(join(dir, dayFileName(record.ts)), line);
      fileHashes.push(hash);
      prev = hash;
    }
    hashes.push(fileHashes);
  }
  return hashes;
}

/** Noon UTC on the day `days` after Oct 5. */
function daysAfterLast(days: number): number {
  return Date.UTC(2026, 9, 5, 12) + days * DAY;
}

function intact(result: VerifyResult): VerifyResult {
  expect(result.problem).toBeNull();
  expect(result.status).toBe('intact');
  return result;
}

async function lines(file: string): Promise<string[]> {
  return (await readFile(join(dir, file), 'utf8')).split('\n').slice(0, -1);
}

describe('expiredDayFiles', () => {
  it('takes the files whose day ended more than retention-days ago, oldest first', () => {
    // On Oct 5, with retention-days=2: Oct 3 ended 1 day ago, Oct 2 two days ago.
    expect(expiredDayFiles(FILES, 2, daysAfterLast(0))).toEqual(FILES.slice(0, 2));
    expect(expiredDayFiles(FILES, 1, daysAfterLast(0))).toEqual(FILES.slice(0, 3));
    expect(expiredDayFiles(FILES, 4, daysAfterLast(0))).toEqual([]);
  });

  it('keeps everything with retention-days=0', () => {
    expect(expiredDayFiles(FILES, 0, daysAfterLast(1000))).toEqual([]);
  });

  it('never takes the newest file, even when every file is old', () => {
    expect(expiredDayFiles(FILES, 1, daysAfterLast(365))).toEqual(FILES.slice(0, 4));
  });

  it('stops before the file the writer appends to', () => {
    expect(expiredDayFiles(FILES, 1, daysAfterLast(365), FILES[2]!)).toEqual(FILES.slice(0, 2));
  });
});

describe('pruneTrail', () => {
  it('removes the expired files oldest first, writes the anchor before, and verify passes and reports it', async () => {
    const hashes = await fiveDays();
    const removed: string[] = [];
    const result = await pruneTrail(dir, {
      retentionDays: 2,
      now: daysAfterLast(0),
      onRemoved: (r) => removed.push(`${r.file}:${r.records}`),
    });
    expect(removed).toEqual([`${FILES[0]}:1`, `${FILES[1]}:2`]);
    expect(await listDayFiles(dir)).toEqual(FILES.slice(2));
    const anchor = await readAnchor(dir);
    expect(anchor).toEqual(result.anchor);
    expect(anchor).toEqual({
      hash: hashes[1]!.at(-1),
      lastRemovedFile: FILES[1],
      removedFiles: 2,
      removedRecords: 3,
      prunedAt: new Date(daysAfterLast(0)).toISOString(),
      previous: { hash: ZERO_HASH, lastRemovedFile: null, removedFiles: 0, removedRecords: 0 },
      removed: [
        { file: FILES[0], records: 1, lastHash: hashes[0]!.at(-1) },
        { file: FILES[1], records: 2, lastHash: hashes[1]!.at(-1) },
      ],
    });
    // The hash of the last record removed is the prev of the first kept.
    expect(JSON.parse((await lines(FILES[2]!))[0]!).prev).toBe(anchor!.hash);
    const raw = JSON.parse(await readFile(join(dir, ANCHOR_FILE), 'utf8')) as Record<string, unknown>;
    expect(raw).toMatchObject({ hash: anchor!.hash, last_removed_file: FILES[1], removed_files: 2, removed_records: 3, pruned_at: '2026-10-05T12:00:00.000Z' });
    expect(intact(await verifyTrail(dir))).toMatchObject({
      files: 3,
      records: 12,
      pruned: { files: 2, records: 3, lastFile: FILES[1], through: '2026-10-02' },
      // seq 4 is the first kept of boot b1: its seq 1–3 went with the removed files, not a gap.
      warnings: [],
    });
    // No temp file is left behind.
    expect((await readdir(dir)).sort()).toEqual([...FILES.slice(2), ANCHOR_FILE]);
  });

  it('removes nothing and writes no anchor with retention-days=0 or when nothing is due', async () => {
    await fiveDays();
    expect(await pruneTrail(dir, { retentionDays: 0, now: daysAfterLast(1000) })).toEqual({ anchor: null, removed: [] });
    expect(await pruneTrail(dir, { retentionDays: 30, now: daysAfterLast(1) })).toEqual({ anchor: null, removed: [] });
    expect(await listDayFiles(dir)).toEqual(FILES);
    expect(await readAnchor(dir)).toBeNull();
  });

  it('keeps the newest file, whose last record the next one links to, and the writer goes on from it', async () => {
    const hashes = await fiveDays();
    await pruneTrail(dir, { retentionDays: 1, now: daysAfterLast(400) });
    expect(await listDayFiles(dir)).toEqual([FILES[4]]);
    expect((await readTail(dir)).lastHash).toBe(hashes[4]!.at(-1));
    const result = intact(await verifyTrail(dir));
    expect(result.pruned).toEqual({ files: 4, records: 10, lastFile: FILES[3], through: '2026-10-04' });
  });

  it('adds up over runs, and the chain goes on from the anchor when no record is left', async () => {
    await fiveDays();
    await pruneTrail(dir, { retentionDays: 3, now: daysAfterLast(0) });
    const second = await pruneTrail(dir, { retentionDays: 1, now: daysAfterLast(0) });
    expect(second.anchor).toMatchObject({ lastRemovedFile: FILES[2], removedFiles: 3, removedRecords: 6 });
    expect(second.anchor!.previous).toMatchObject({ lastRemovedFile: FILES[0], removedFiles: 1, removedRecords: 1 });
    expect(intact(await verifyTrail(dir)).pruned).toMatchObject({ files: 3, records: 6, through: '2026-10-03' });

    // A newest file without records: the writer links to the anchor's hash.
    await writeFile(join(dir, 'audit-2026-10-09.jsonl'), '');
    await pruneTrail(dir, { retentionDays: 1, now: daysAfterLast(400) });
    expect(await listDayFiles(dir)).toEqual(['audit-2026-10-09.jsonl']);
    const anchor = (await readAnchor(dir))!;
    expect(anchor).toMatchObject({ removedFiles: 5, removedRecords: 15 });
    expect((await readTail(dir)).lastHash).toBe(anchor.hash);
    const trail = await JsonlFileBackend.open({ dir, log: { info: () => undefined, warn: () => undefined } });
    await trail.write({ ts: Date.UTC(2026, 9, 9, 1), boot: 'b2', seq: 1, op: 'reload', result: 'success' });
    await trail.close();
    expect(intact(await verifyTrail(dir))).toMatchObject({ records: 1, pruned: { files: 5, records: 15, through: '2026-10-05' } });
  });

  it('leaves a trail that verifies when a crash stops it after the anchor, before or between removals, and the next run finishes', async () => {
    await fiveDays();
    const saved = new Map<string, string>();
    for (const file of FILES) saved.set(file, await readFile(join(dir, file), 'utf8'));
    await pruneTrail(dir, { retentionDays: 1, now: daysAfterLast(0) });
    expect(await listDayFiles(dir)).toEqual(FILES.slice(3));

    // Anchor written, no file removed yet: the chain from 64 zeros is whole.
    for (const file of FILES.slice(0, 3)) await writeFile(join(dir, file), saved.get(file)!);
    expect(intact(await verifyTrail(dir))).toMatchObject({ files: 5, records: 15, pruned: null });

    // Crash after the first removal: the anchor accounts for that state too.
    await unlink(join(dir, FILES[0]!));
    expect(intact(await verifyTrail(dir)).pruned).toEqual({ files: 1, records: 1, lastFile: FILES[0], through: '2026-10-01' });

    // The next run starts from the state it finds and counts each file once.
    const again = await pruneTrail(dir, { retentionDays: 1, now: daysAfterLast(0) });
    expect(again.removed.map((r) => r.file)).toEqual(FILES.slice(1, 3));
    expect(again.anchor).toMatchObject({ removedFiles: 3, removedRecords: 6, previous: { removedFiles: 1, removedRecords: 1 } });
    expect(intact(await verifyTrail(dir)).pruned).toMatchObject({ files: 3, records: 6, through: '2026-10-03' });
  });

  it('removes nothing when the files due hold a break, so that the evidence stays', async () => {
    await fiveDays();
    const path = join(dir, FILES[1]!);
    await writeFile(path, (await readFile(path, 'utf8')).replace('"name":"lan0"', '"name":"lan1"'));
    await expect(pruneTrail(dir, { retentionDays: 1, now: daysAfterLast(0) })).rejects.toThrow(
      `retention removes nothing: ${FILES[1]}:1 does not match its hash`,
    );
    expect(await listDayFiles(dir)).toEqual(FILES);
    expect(await readAnchor(dir)).toBeNull();
  });

  it('removes nothing when the chain was already cut before the oldest file', async () => {
    await fiveDays();
    await unlink(join(dir, FILES[0]!));
    await expect(pruneTrail(dir, { retentionDays: 1, now: daysAfterLast(0) })).rejects.toThrow(/older records were already removed without it/);
    expect(await listDayFiles(dir)).toEqual(FILES.slice(1));
  });
});

describe('verifyTrail after retention', () => {
  beforeEach(async () => {
    await fiveDays();
    await pruneTrail(dir, { retentionDays: 3, now: daysAfterLast(0) });
    expect(await listDayFiles(dir)).toEqual(FILES.slice(1));
  });

  it('still finds a deleted middle file', async () => {
    await unlink(join(dir, FILES[2]!));
    expect((await verifyTrail(dir)).problem).toMatchObject({ kind: 'bad-link', file: FILES[3], line: 1 });
  });

  it('still finds a changed byte', async () => {
    const path = join(dir, FILES[3]!);
    await writeFile(path, (await readFile(path, 'utf8')).replace('"seq":8', '"seq":9'));
    expect((await verifyTrail(dir)).problem).toMatchObject({ kind: 'bad-hash', file: FILES[3], line: 2 });
  });

  it('still finds a deleted line', async () => {
    const kept = await lines(FILES[2]!);
    await writeFile(join(dir, FILES[2]!), `${kept[0]}\n${kept[2]}\n`);
    expect((await verifyTrail(dir)).problem).toMatchObject({ kind: 'bad-link', file: FILES[2], line: 2 });
  });

  it('still finds a reordered line', async () => {
    const kept = await lines(FILES[3]!);
    await writeFile(join(dir, FILES[3]!), `${kept[0]}\n${kept[2]}\n${kept[1]}\n${kept[3]}\n`);
    expect((await verifyTrail(dir)).problem).toMatchObject({ kind: 'bad-link', file: FILES[3], line: 2 });
  });

  it('calls the chain cut when the first kept file is removed too, beyond what the anchor states', async () => {
    await unlink(join(dir, FILES[1]!));
    const problem = (await verifyTrail(dir)).problem;
    expect(problem).toMatchObject({ kind: 'bad-link', file: FILES[2], line: 1 });
    expect(problem!.detail).toMatch(/the chain was cut: records were removed beyond what retention removed/);
  });

  it('calls the chain cut when the anchor is removed', async () => {
    await unlink(join(dir, ANCHOR_FILE));
    const problem = (await verifyTrail(dir)).problem;
    expect(problem).toMatchObject({ kind: 'bad-link', file: FILES[1], line: 1 });
    expect(problem!.detail).toMatch(/there is no retention anchor \(audit-anchor\.json\): the chain was cut/);
  });
});
