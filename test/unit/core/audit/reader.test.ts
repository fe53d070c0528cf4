// Trail reader: day file names, reading records, finding where the chain
// resumes, and a newest-first search that stops early.
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../../src/core/audit/record.js';
import { dayFileName, listDayFiles, parseDayFileName } from '../../../../src/core/audit/trail/day-file.js';
import { findRecords, readRecords, readTail, type ScannedDayFile } from '../../../../src/core/audit/trail/reader.js';
import { formatTrailLine, ZERO_HASH } from '../../../../src/core/audit/trail/trail-line.js';
import { NetauditError } from '../../../../src/core/errors.js';

const DAY = 24 * 3600 * 1000;
const NOV_20 = Date.UTC(2026, 10, 20, 12, 0, 0, 0);

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netaudit-reader-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return { ts: NOV_20, boot: 'b1', seq: 1, op: 'connection-add', result: 'success', ...overrides };
}

/** Chains records and writes each to the day file of its ts; returns the lines in order. */
async function writeTrail(records: AuditRecord[], prev = ZERO_HASH): Promise<{ lines: string[]; hashes: string[] }> {
  const lines: string[] = [];
  const hashes: string[] = [];
  for (const r of records) {
    const { line, hash } = formatTrailLine(r, prev);
    await appendFile(join(dir, dayFileName(r.ts)), line);
    lines.push(line);
    hashes.push(hash);
    prev = hash;
  }
  return { lines, hashes };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function failure(promise: Promise<unknown>): Promise<NetauditError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NetauditError);
  return error as NetauditError;
}

describe('day files', () => {
  it('names a day file after the UTC date of a timestamp', () => {
    expect(dayFileName(Date.UTC(2026, 10, 22, 23, 59, 59, 999))).toBe('audit-2026-11-22.jsonl');
    expect(dayFileName(Date.UTC(2026, 10, 23, 0, 0, 0, 0))).toBe('audit-2026-11-23.jsonl');
  });

  it('reads the date back from a name, and nothing from other names or impossible dates', () => {
    expect(parseDayFileName('audit-2026-11-22.jsonl')).toBe('2026-11-22');
    for (const name of ['audit-2026-02-30.jsonl', 'audit-2026-13-01.jsonl', 'audit-2026-11-22.jsonl.tmp', 'audit-26-11-22.jsonl', 'x-audit-2026-11-22.jsonl']) {
      expect(parseDayFileName(name)).toBeNull();
    }
  });

  it('lists only day files, oldest first', async () => {
    for (const name of ['audit-2026-11-22.jsonl', 'audit-2025-12-31.jsonl', 'audit-2026-02-30.jsonl', 'notes.txt', 'audit-2026-01-02.jsonl', 'audit-2026-01-02.jsonl.1']) {
      await writeFile(join(dir, name), '');
    }
    expect(await listDayFiles(dir)).toEqual(['audit-2025-12-31.jsonl', 'audit-2026-01-02.jsonl', 'audit-2026-11-22.jsonl']);
  });
});

describe('readRecords', () => {
  it('yields each record with its text, byte offset and line number', async () => {
    const { lines } = await writeTrail([record({ seq: 1, name: 'é' }), record({ seq: 2 })]);
    const read = await collect(readRecords(join(dir, 'audit-2026-11-20.jsonl')));
    expect(read.map((r) => [r.entry.seq, r.number, r.offset, r.text])).toEqual([
      [1, 1, 0, lines[0]!.slice(0, -1)],
      [2, 2, Buffer.byteLength(lines[0]!), lines[1]!.slice(0, -1)],
    ]);
  });

  it('reads lines longer than its read block', async () => {
    await writeTrail([record({ seq: 1, name: 'n'.repeat(150_000) }), record({ seq: 2 })]);
    const read = await collect(readRecords(join(dir, 'audit-2026-11-20.jsonl')));
    expect(read.map((r) => r.entry.seq)).toEqual([1, 2]);
    expect(read[0]!.entry.name).toHaveLength(150_000);
  });

  it('does not yield bytes after the last newline: they are not a record yet', async () => {
    const { lines } = await writeTrail([record({ seq: 1 })]);
    await appendFile(join(dir, 'audit-2026-11-20.jsonl'), lines[0]!.slice(0, 40));
    expect((await collect(readRecords(join(dir, 'audit-2026-11-20.jsonl')))).map((r) => r.entry.seq)).toEqual([1]);
  });

  it('names the file and line of a line that is not a record', async () => {
    const { lines } = await writeTrail([record({ seq: 1 })]);
    const path = join(dir, 'audit-2026-11-20.jsonl');
    await appendFile(path, 'garbage\n');
    const error = await failure(collect(readRecords(path)));
    expect(error.message).toBe(`audit trail file ${JSON.stringify(path)} line 2 (byte ${lines[0]!.length}): not a trail record: not valid JSON`);
  });
});

describe('readTail', () => {
  it('finds an empty trail, which chains onto 64 zeros', async () => {
    expect(await readTail(dir)).toEqual({ lastHash: ZERO_HASH, last: null, newestFile: null, completeLength: 0, tornLength: 0 });
  });

  it('finds the last record of the newest day file', async () => {
    const { lines, hashes } = await writeTrail([record({ seq: 1 }), record({ seq: 2, ts: NOV_20 + DAY }), record({ seq: 3, ts: NOV_20 + DAY })]);
    const tail = await readTail(dir);
    expect(tail).toMatchObject({
      lastHash: hashes[2],
      newestFile: 'audit-2026-11-21.jsonl',
      completeLength: lines[1]!.length + lines[2]!.length,
      tornLength: 0,
      last: { file: 'audit-2026-11-21.jsonl', offset: lines[1]!.length },
    });
    expect(tail.last?.entry.seq).toBe(3);
  });

  it('reports a torn last line without counting it as a record', async () => {
    const { lines, hashes } = await writeTrail([record({ seq: 1 }), record({ seq: 2 })]);
    const torn = formatTrailLine(record({ seq: 3 }), hashes[1]!).line.slice(0, 57);
    await appendFile(join(dir, 'audit-2026-11-20.jsonl'), torn);
    expect(await readTail(dir)).toMatchObject({
      lastHash: hashes[1],
      newestFile: 'audit-2026-11-20.jsonl',
      completeLength: lines[0]!.length + lines[1]!.length,
      tornLength: 57,
    });
  });

  it('passes over a newest day file that holds only a torn line, or nothing', async () => {
    const { hashes } = await writeTrail([record({ seq: 1 }), record({ seq: 2 })]);
    await writeFile(join(dir, 'audit-2026-11-21.jsonl'), '{"ts":"2026-11-21T');
    expect(await readTail(dir)).toMatchObject({ lastHash: hashes[1], newestFile: 'audit-2026-11-21.jsonl', completeLength: 0, tornLength: 18 });
    expect((await readTail(dir)).last?.file).toBe('audit-2026-11-20.jsonl');
    await writeFile(join(dir, 'audit-2026-11-21.jsonl'), '');
    expect(await readTail(dir)).toMatchObject({ lastHash: hashes[1], newestFile: 'audit-2026-11-21.jsonl', completeLength: 0, tornLength: 0 });
  });

  it('reads a last line longer than its read block', async () => {
    const { hashes } = await writeTrail([record({ seq: 1 }), record({ seq: 2, name: 'n'.repeat(200_000) })]);
    expect((await readTail(dir)).lastHash).toBe(hashes[1]);
  });

  it('refuses a last line that does not match its hash', async () => {
    const { lines } = await writeTrail([record({ seq: 1 }), record({ seq: 2, name: 'office' })]);
    const path = join(dir, 'audit-2026-11-20.jsonl');
    await writeFile(path, lines[0]! + lines[1]!.replace('office', 'offica'));
    const error = await failure(readTail(dir));
    expect(error.message).toBe(
      `audit trail file ${JSON.stringify(path)} byte ${lines[0]!.length}: the last record does not match its hash; the trail is left as it is: check it with netauditctl audit verify`,
    );
  });

  it('refuses a last complete line that is not a record', async () => {
    const { lines } = await writeTrail([record({ seq: 1 })]);
    const path = join(dir, 'audit-2026-11-20.jsonl');
    await appendFile(path, '{"ts":1}\n');
    const error = await failure(readTail(dir));
    expect(error.message).toBe(
      `audit trail file ${JSON.stringify(path)} byte ${lines[0]!.length}: the last record is damaged (not a trail record: "ts" has an invalid value 1); the trail is left as it is: check it with netauditctl audit verify`,
    );
  });

  it('refuses to pass over an empty newest file onto an older one that ends without a newline', async () => {
    const { lines } = await writeTrail([record({ seq: 1 })]);
    const path = join(dir, 'audit-2026-11-20.jsonl');
    await appendFile(path, '{"ts"');
    await writeFile(join(dir, 'audit-2026-11-21.jsonl'), '');
    const error = await failure(readTail(dir));
    expect(error.message).toBe(
      `audit trail file ${JSON.stringify(path)} byte ${lines[0]!.length}: 5 bytes without a newline, yet newer day files follow; the trail is left as it is: check it with netauditctl audit verify`,
    );
  });
});

describe('findRecords', () => {
  it('returns the matching records of all day files in trail order', async () => {
    await writeTrail([
      record({ seq: 1, tx: 1 }),
      record({ seq: 2, ts: NOV_20 + DAY, tx: 2 }),
      record({ seq: 3, ts: NOV_20 + DAY }),
      record({ seq: 4, ts: NOV_20 + 2 * DAY, tx: 3 }),
    ]);
    const found = await findRecords(dir, (e) => e.tx !== undefined);
    expect(found.map((e) => e.seq)).toEqual([1, 2, 4]);
  });

  it('reads newest first and stops when stopWhen says older files are not needed', async () => {
    // The oldest file cannot be read: reaching it would throw.
    await writeFile(join(dir, 'audit-2026-11-19.jsonl'), 'not a record\n');
    const { hashes } = await writeTrail([record({ boot: 'old', seq: 7 }), record({ boot: 'last', seq: 1, ts: NOV_20 + 1000, tx: 1 })]);
    await writeTrail([record({ boot: 'last', seq: 2, ts: NOV_20 + DAY, tx: 2 }), record({ boot: 'last', seq: 3, ts: NOV_20 + DAY, result: 'fail', tx: 3 })], hashes[1]);
    await writeFile(join(dir, 'audit-2026-11-22.jsonl'), '');
    const scanned: ScannedDayFile[] = [];
    const found = await findRecords(dir, (e) => e.boot === 'last' && e.result === 'success', {
      stopWhen: (file) => {
        scanned.push(file);
        return file.boots[0] !== 'last';
      },
    });
    expect(found.map((e) => [e.seq, e.tx])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    // The empty newest file is not offered to stopWhen: it says nothing about older files.
    expect(scanned).toEqual([
      { file: 'audit-2026-11-21.jsonl', records: 2, boots: ['last'] },
      { file: 'audit-2026-11-20.jsonl', records: 2, boots: ['old', 'last'] },
    ]);
  });

  it('throws at a damaged line of a file it has to read', async () => {
    await writeFile(join(dir, 'audit-2026-11-19.jsonl'), 'not a record\n');
    await writeTrail([record({ seq: 1 })]);
    const error = await failure(findRecords(dir, () => true));
    expect(error.message).toContain('audit-2026-11-19.jsonl" line 1 (byte 0): not a trail record: not valid JSON');
  });
});
