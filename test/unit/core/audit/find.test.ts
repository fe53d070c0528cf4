// Finding one record by SEQ (of the latest daemon start), BOOT:SEQ or the
// start of its hash; what names several records, and what names none.
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../../src/core/audit/record.js';
import { findRecords, parseRecordRef, type RecordRef } from '../../../../src/core/audit/trail/find.js';
import { formatTrailLine, ZERO_HASH } from '../../../../src/core/audit/trail/trail-line.js';

const T0 = Date.UTC(2026, 11, 7, 10, 0, 0, 0);
let dir: string;
let prev: string;
const hashes: string[] = [];

async function add(boot: string, seq: number, overrides: Partial<AuditRecord> = {}): Promise<void> {
  const { line, hash } = formatTrailLine({ ts: T0 + hashes.length, boot, seq, op: 'connection-update', origin: 'caller', result: 'success', ...overrides }, prev);
  prev = hash;
  hashes.push(hash);
  await appendFile(join(dir, 'audit-2026-12-07.jsonl'), line);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netaudit-find-'));
  prev = ZERO_HASH;
  hashes.length = 0;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function ref(text: string): RecordRef {
  const parsed = parseRecordRef(text);
  expect(parsed, text).not.toBeNull();
  return parsed!;
}

describe('parseRecordRef', () => {
  it('reads SEQ, BOOT:SEQ and a hash prefix of 6 to 64 hex digits', () => {
    expect(parseRecordRef('17')).toEqual({ kind: 'seq', seq: 17, text: '17' });
    expect(parseRecordRef('5E1B0A7C:17')).toEqual({ kind: 'boot-seq', boot: '5e1b0a7c', seq: 17, text: '5E1B0A7C:17' });
    expect(parseRecordRef('3FA9c2')).toEqual({ kind: 'hash', prefix: '3fa9c2', text: '3FA9c2' });
  });

  it.each(['', '0', '-1', '1.5', 'abc', 'abcde', 'b:', ':5', 'b:0', 'a:b:1', 'x'.repeat(6), 'a'.repeat(65)])('names nothing with %j', (text) => {
    expect(parseRecordRef(text)).toBeNull();
  });
});

describe('findRecords', () => {
  beforeEach(async () => {
    await add('aaaa1111', 1);
    await add('aaaa1111', 2);
    await add('bbbb2222', 1, { op: 'connection-activate', origin: 'daemon', cause: 'autoconnect' });
    await add('bbbb2222', 2);
    await add('aaaa9999', 1, { op: 'reload' });
  });

  it('takes a bare SEQ in the latest daemon start only', async () => {
    const { records, latestBoot } = await findRecords(dir, ref('1'));
    expect(latestBoot).toBe('aaaa9999');
    expect(records.map((r) => r.entry.op)).toEqual(['reload']);
    expect((await findRecords(dir, ref('2'))).records).toEqual([]);
  });

  it('takes BOOT:SEQ, with the start of BOOT, and says when a start is ambiguous', async () => {
    expect((await findRecords(dir, ref('bbbb2222:1'))).records.map((r) => r.entry.origin)).toEqual(['daemon']);
    expect((await findRecords(dir, ref('bb:2'))).records.map((r) => r.entry.hash)).toEqual([hashes[3]]);
    expect((await findRecords(dir, ref('aaaa:1'))).records.map((r) => r.entry.boot)).toEqual(['aaaa1111', 'aaaa9999']);
  });

  it('takes the start of a hash, upper or lower case', async () => {
    expect((await findRecords(dir, ref(hashes[2]!.slice(0, 8).toUpperCase()))).records.map((r) => r.entry.hash)).toEqual([hashes[2]]);
    expect((await findRecords(dir, ref(hashes[2]!))).records).toHaveLength(1);
  });

  it('tries a long SEQ no record of the latest start has as a hash, digits only', async () => {
    const digits = hashes.find((h) => /^\d{6}/.test(h));
    if (digits !== undefined) expect((await findRecords(dir, ref(digits.slice(0, 6)))).records.map((r) => r.entry.hash)).toEqual([digits]);
    expect((await findRecords(dir, ref('123456'))).records.filter((r) => !r.entry.hash.startsWith('123456'))).toEqual([]);
  });

  it('finds nothing in an empty trail, and says it is empty', async () => {
    await rm(join(dir, 'audit-2026-12-07.jsonl'));
    expect(await findRecords(dir, ref('1'))).toEqual({ records: [], latestBoot: null });
  });
});
