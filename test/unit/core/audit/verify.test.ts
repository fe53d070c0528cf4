// Trail verification: trails written by the real writer (JsonlFileBackend) or
// line by line with formatTrailLine, then damaged the ways a crash, a full
// disk or a person would, and the first break named by file and line.
import { appendFile, mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonlFileBackend } from '../../../../src/core/audit/backends/jsonl-file.js';
import type { AuditRecord } from '../../../../src/core/audit/record.js';
import { NOTHING_REMOVED, writeAnchor } from '../../../../src/core/audit/trail/anchor.js';
import { dayFileName } from '../../../../src/core/audit/trail/day-file.js';
import { formatTrailLine, ZERO_HASH } from '../../../../src/core/audit/trail/trail-line.js';
import { describeWarning, verifyTrail, type VerifyProgress, type VerifyResult } from '../../../../src/core/audit/trail/verify.js';
import { NetauditError } from '../../../../src/core/errors.js';

const DAY = 24 * 3600 * 1000;
const NOV_20 = Date.UTC(2026, 10, 20, 12, 0, 0, 0);
const FILE_20 = 'audit-2026-11-20.jsonl';
const FILE_21 = 'audit-2026-11-21.jsonl';
const FILE_22 = 'audit-2026-11-22.jsonl';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netaudit-verify-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function record(seq: number, overrides: Partial<AuditRecord> = {}): AuditRecord {
  return { ts: NOV_20 + seq, boot: 'b1', seq, op: 'connection-update', uuid: 'u-1', name: 'lan0', result: 'success', ...overrides };
}

const quiet = { warn: () => undefined, info: () => undefined };

/** Writes records with the daemon's own writer, one daemon start per batch; returns the last hash. */
async function writeWithDaemon(...starts: AuditRecord[][]): Promise<string> {
  let last = ZERO_HASH;
  for (const records of starts) {
    const trail = await JsonlFileBackend.open({ dir, log: quiet });
    for (const r of records) await trail.write(r);
    last = trail.lastHash;
    await trail.close();
  }
  return last;
}

/** Chains records and appends each to `file`, or to the day file of its ts; returns the lines. */
async function writeLines(records: Array<AuditRecord & { file?: string }>, prev = ZERO_HASH): Promise<string[]> {
  const lines: string[] = [];
  for (const { file, ...r } of records) {
    const { line, hash } = formatTrailLine(r, prev);
    await appendFile(join(dir, file ?? dayFileName(r.ts)), line);
    lines.push(line);
    prev = hash;
  }
  return lines;
}

/** Three days, two daemon starts: 3 records on Nov 20, 2 on Nov 21 (boot b1), 2 on Nov 22 (boot b2). */
async function threeDays(): Promise<string> {
  return writeWithDaemon(
    [record(1), record(2), record(3), record(4, { ts: NOV_20 + DAY }), record(5, { ts: NOV_20 + DAY + 1 })],
    [record(1, { boot: 'b2', ts: NOV_20 + 2 * DAY }), record(2, { boot: 'b2', ts: NOV_20 + 2 * DAY + 1 })],
  );
}

async function lines(file: string): Promise<string[]> {
  return (await readFile(join(dir, file), 'utf8')).split('\n').slice(0, -1);
}

async function rewrite(file: string, edit: (lines: string[]) => string[]): Promise<void> {
  const edited = edit(await lines(file));
  await writeFile(join(dir, file), edited.map((l) => `${l}\n`).join(''));
}

function broken(result: VerifyResult): NonNullable<VerifyResult['problem']> {
  expect(result.status).toBe('broken');
  expect(result.problem).not.toBeNull();
  return result.problem!;
}

describe('verifyTrail on an intact trail', () => {
  it('follows the chain across day files and daemon starts and counts files, records and boots', async () => {
    const lastHash = await threeDays();
    expect(await verifyTrail(dir)).toEqual({
      dir,
      status: 'intact',
      files: 3,
      records: 7,
      boots: 2,
      lastHash,
      problem: null,
      warnings: [],
      warningsOmitted: 0,
      pruned: null,
    });
  });

  it('accepts a record dated earlier than its file: the writer keeps writing to the newest file after the clock steps back', async () => {
    await writeWithDaemon([record(1, { ts: NOV_20 + DAY }), record(2, { ts: NOV_20 })]);
    expect((await lines(FILE_21)).length).toBe(2);
    expect(await verifyTrail(dir)).toMatchObject({ status: 'intact', files: 1, records: 2 });
  });

  it('reads a record longer than a read block whole', async () => {
    const name = 'x'.repeat(700 * 1024);
    await writeWithDaemon([record(1), record(2, { name }), record(3)]);
    expect(await verifyTrail(dir)).toMatchObject({ status: 'intact', records: 3 });
  });

  it('ignores files that are not day files', async () => {
    await writeWithDaemon([record(1)]);
    await writeFile(join(dir, 'notes.txt'), 'not a record\n');
    await writeFile(join(dir, 'audit-2026-02-30.jsonl'), 'an impossible date\n');
    expect(await verifyTrail(dir)).toMatchObject({ status: 'intact', files: 1, records: 1 });
  });

  it('reports progress per file and block, ending with every byte read', async () => {
    await threeDays();
    const seen: VerifyProgress[] = [];
    await verifyTrail(dir, { onProgress: (p) => seen.push(p) });
    expect([...new Set(seen.map((p) => `${p.fileNumber}/${p.files} ${p.file}`))]).toEqual([
      `1/3 ${FILE_20}`,
      `2/3 ${FILE_21}`,
      `3/3 ${FILE_22}`,
    ]);
    const last = seen.at(-1)!;
    expect(last.bytesRead).toBe(last.bytesTotal);
    expect(last.records).toBe(7);
  });
});

describe('verifyTrail on an empty trail', () => {
  it('calls a directory without day files empty, not broken', async () => {
    expect(await verifyTrail(dir)).toMatchObject({ status: 'empty', files: 0, records: 0, boots: 0, lastHash: ZERO_HASH, problem: null });
  });

  it('calls a trail of empty day files empty', async () => {
    await writeFile(join(dir, FILE_20), '');
    expect(await verifyTrail(dir)).toMatchObject({ status: 'empty', files: 1, records: 0 });
  });

  it('throws, naming the directory, when it does not exist', async () => {
    const missing = join(dir, 'nothing-here');
    const error = await verifyTrail(missing).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(NetauditError);
    expect((error as NetauditError).message).toBe(
      `the audit trail directory ${JSON.stringify(missing)} does not exist (ENOENT); netauditd creates it at its first start`,
    );
  });
});

describe('verifyTrail finds the first break', () => {
  it('names a changed byte as bad-hash at its file and line', async () => {
    await threeDays();
    await rewrite(FILE_21, (l) => [l[0]!, l[1]!.replace('"name":"lan0"', '"name":"lan1"')]);
    const result = await verifyTrail(dir);
    expect(broken(result)).toEqual({
      kind: 'bad-hash',
      file: FILE_21,
      line: 2,
      offset: Buffer.byteLength(`${(await lines(FILE_21))[0]}\n`),
      detail: 'the line does not match its hash: its content was changed after netauditd wrote it',
    });
    // The records before the break are counted, the broken one is not.
    expect(result).toMatchObject({ files: 2, records: 4, boots: 1 });
  });

  it('names a byte that is no longer UTF-8 as bad-hash', async () => {
    await threeDays();
    const path = join(dir, FILE_20);
    const bytes = await readFile(path);
    bytes[bytes.indexOf('lan0') + 3] = 0xff;
    await writeFile(path, bytes);
    expect(broken(await verifyTrail(dir))).toMatchObject({ kind: 'bad-hash', file: FILE_20, line: 1 });
  });

  it('names a deleted line as bad-link at the line that now follows the gap', async () => {
    await threeDays();
    await rewrite(FILE_20, (l) => [l[0]!, l[2]!]);
    expect(broken(await verifyTrail(dir))).toEqual({
      kind: 'bad-link',
      file: FILE_20,
      line: 2,
      offset: expect.any(Number),
      detail: `prev is not the hash of the record before it (${FILE_20}:1); seq jumps from 1 to 3: records were removed here, or records were moved`,
    });
  });

  it('names swapped lines as bad-link at the first of them', async () => {
    await threeDays();
    await rewrite(FILE_20, (l) => [l[0]!, l[2]!, l[1]!]);
    expect(broken(await verifyTrail(dir))).toMatchObject({ kind: 'bad-link', file: FILE_20, line: 2 });
  });

  it('names a copied line as bad-link and says which record it links to', async () => {
    await threeDays();
    await rewrite(FILE_20, (l) => [l[0]!, l[1]!, l[1]!, l[2]!]);
    expect(broken(await verifyTrail(dir))).toMatchObject({
      kind: 'bad-link',
      file: FILE_20,
      line: 3,
      detail: `prev is not the hash of the record before it (${FILE_20}:2); it links to ${FILE_20}:1, 2 records back, instead: records were inserted before it, or it was copied or moved here`,
    });
  });

  it('names a deleted day file as bad-link at the first line of the next one', async () => {
    await threeDays();
    await unlink(join(dir, FILE_21));
    const result = await verifyTrail(dir);
    expect(broken(result)).toEqual({
      kind: 'bad-link',
      file: FILE_22,
      line: 1,
      offset: 0,
      detail: `prev is not the hash of the record before it (${FILE_20}:3): records were removed at the end of ${FILE_20} or at the start of this file, or day files between them were removed`,
    });
    expect(result).toMatchObject({ files: 2, records: 3 });
  });

  it('does not suspect a day file between two consecutive days', async () => {
    await threeDays();
    await rewrite(FILE_21, (l) => [l[1]!]);
    expect(broken(await verifyTrail(dir))).toMatchObject({
      kind: 'bad-link',
      file: FILE_21,
      line: 1,
      detail: `prev is not the hash of the record before it (${FILE_20}:3): records were removed at the end of ${FILE_20} or at the start of this file`,
    });
  });

  it('names a removed first day file as bad-link at the first record, which must start the chain', async () => {
    await threeDays();
    await unlink(join(dir, FILE_20));
    expect(broken(await verifyTrail(dir))).toEqual({
      kind: 'bad-link',
      file: FILE_21,
      line: 1,
      offset: 0,
      detail:
        'prev is not 64 zeros, as the first record of a trail has, and there is no retention anchor (audit-anchor.json): the chain was cut: older day files, or records at the start of this one, were removed, not by retention',
    });
  });

  it('calls a first record that links to no hash the retention anchor names a cut chain', async () => {
    await threeDays();
    const first = JSON.parse((await lines(FILE_21))[0]!) as { prev: string };
    await unlink(join(dir, FILE_20));
    // An anchor that accounts for another hash than the one the first record links to.
    await writeAnchor(dir, {
      hash: 'a'.repeat(64),
      lastRemovedFile: FILE_20,
      removedFiles: 1,
      removedRecords: 3,
      prunedAt: '2026-12-22T00:00:01.000Z',
      previous: NOTHING_REMOVED,
      removed: [{ file: FILE_20, records: 3, lastHash: 'a'.repeat(64) }],
    });
    expect(first.prev).not.toBe('a'.repeat(64));
    expect(broken(await verifyTrail(dir))).toEqual({
      kind: 'bad-link',
      file: FILE_21,
      line: 1,
      offset: 0,
      detail: `prev is not 64 zeros, as the first record of a trail has, nor a hash the retention anchor (audit-anchor.json, files removed up to ${FILE_20}) names: the chain was cut: records were removed beyond what retention removed, or the anchor was replaced`,
    });
  });

  it('calls a first record a cut chain when the retention anchor is damaged', async () => {
    await threeDays();
    await unlink(join(dir, FILE_20));
    await writeFile(join(dir, 'audit-anchor.json'), '{"hash":');
    const problem = broken(await verifyTrail(dir));
    expect(problem).toMatchObject({ kind: 'bad-link', file: FILE_21, line: 1 });
    expect(problem.detail).toBe(
      `prev is not 64 zeros, as the first record of a trail has, and the retention anchor cannot vouch for it (the retention anchor ${JSON.stringify(join(dir, 'audit-anchor.json'))} is damaged: not valid JSON): the chain was cut, or the anchor damaged`,
    );
  });

  it('names a line that is not a record as unparseable', async () => {
    await threeDays();
    await rewrite(FILE_21, (l) => [l[0]!, 'garbage', l[1]!]);
    expect(broken(await verifyTrail(dir))).toMatchObject({
      kind: 'unparseable',
      file: FILE_21,
      line: 2,
      detail: 'not a trail record: not valid JSON: the line was damaged or changed (netauditd writes only whole, well-formed records)',
    });
  });

  it('names an empty line as unparseable', async () => {
    await threeDays();
    await rewrite(FILE_20, (l) => [l[0]!, '', l[1]!, l[2]!]);
    expect(broken(await verifyTrail(dir))).toMatchObject({ kind: 'unparseable', file: FILE_20, line: 2 });
  });

  it('names a record dated later than its file as wrong-file', async () => {
    await writeLines([record(1), { ...record(2, { ts: NOV_20 + DAY }), file: FILE_20 }]);
    expect(broken(await verifyTrail(dir))).toMatchObject({
      kind: 'wrong-file',
      file: FILE_20,
      line: 2,
      detail:
        "the record is dated 2026-11-21, later than its file's day 2026-11-20: netauditd never writes a record into an earlier day's file, so the file was renamed or records were moved between files",
    });
  });

  it('names a day file renamed to an earlier day as wrong-file', async () => {
    await writeLines([record(1), record(2, { ts: NOV_20 + 2 * DAY })]);
    const moved = await readFile(join(dir, FILE_22));
    await unlink(join(dir, FILE_22));
    await writeFile(join(dir, FILE_21), moved);
    expect(broken(await verifyTrail(dir))).toMatchObject({ kind: 'wrong-file', file: FILE_21, line: 1 });
  });

  it('names bytes after the last newline of the newest file a torn tail, not tampering', async () => {
    await threeDays();
    const complete = (await readFile(join(dir, FILE_22))).length;
    const torn = '{"ts":"2026-11-22T12:00:00.003Z","boot":"b2"';
    await appendFile(join(dir, FILE_22), torn);
    const result = await verifyTrail(dir);
    expect(broken(result)).toEqual({
      kind: 'torn-tail',
      file: FILE_22,
      line: 3,
      offset: complete,
      detail:
        `${torn.length} bytes after the last newline of the newest day file: a record cut short by a crash while it was written (or a write under way, if netauditd is running now), not tampering; no caller was told of that change, and netauditd cuts these bytes off at its next start`,
    });
    // Every complete record was checked.
    expect(result).toMatchObject({ files: 3, records: 7, boots: 2 });
  });

  it('names a newest file holding only a torn line a torn tail at line 1', async () => {
    await threeDays();
    await writeFile(join(dir, 'audit-2026-11-23.jsonl'), '{"ts"');
    expect(broken(await verifyTrail(dir))).toMatchObject({ kind: 'torn-tail', file: 'audit-2026-11-23.jsonl', line: 1, offset: 0 });
  });

  it('agrees with the writer, which cuts a torn tail at start and chains on', async () => {
    await threeDays();
    await appendFile(join(dir, FILE_22), '{"ts":"2026-11');
    expect(broken(await verifyTrail(dir)).kind).toBe('torn-tail');
    await writeWithDaemon([record(1, { boot: 'b3', ts: NOV_20 + 2 * DAY + 5 })]);
    expect(await verifyTrail(dir)).toMatchObject({ status: 'intact', records: 8, boots: 3 });
  });

  it('names bytes after the last newline of an older file unterminated', async () => {
    await threeDays();
    const complete = (await readFile(join(dir, FILE_20))).length;
    const third = (await lines(FILE_20))[2]!;
    await truncate(join(dir, FILE_20), complete - 10);
    expect(broken(await verifyTrail(dir))).toEqual({
      kind: 'unterminated',
      file: FILE_20,
      line: 3,
      offset: complete - Buffer.byteLength(third) - 1,
      detail:
        `${Buffer.byteLength(third) + 1 - 10} bytes after the last newline of a day file that newer files follow: a crash can only tear the newest file, so this file was changed or cut short; netauditd refuses to start on such a trail`,
    });
  });

  it('reports only the first of several breaks', async () => {
    await threeDays();
    await rewrite(FILE_21, (l) => [l[0]!.replace('lan0', 'lan9'), l[1]!]);
    await appendFile(join(dir, FILE_22), 'torn');
    await unlink(join(dir, FILE_20));
    expect(broken(await verifyTrail(dir))).toMatchObject({ kind: 'bad-hash', file: FILE_21, line: 1 });
  });
});

describe('verifyTrail on seq numbers', () => {
  it('warns of a gap within a boot with the missing range, the chain being intact', async () => {
    await writeLines([record(1), record(2), record(5), record(6)]);
    const result = await verifyTrail(dir);
    expect(result).toMatchObject({ status: 'intact', records: 4, boots: 1 });
    expect(result.warnings).toEqual([{ kind: 'seq-gap', file: FILE_20, line: 3, boot: 'b1', from: 3, to: 4 }]);
    expect(describeWarning(result.warnings[0]!)).toBe(
      'boot "b1": seq 3–4 (2 records) are not in the trail although the chain is intact: netauditd counted records the trail did not get (it was full or unavailable, or the file backend was off)',
    );
  });

  it('lets a new boot restart at 1, and warns when it starts later', async () => {
    await writeLines([record(1), record(2), record(1, { boot: 'b2' }), record(3, { boot: 'b3' })]);
    const result = await verifyTrail(dir);
    expect(result).toMatchObject({ status: 'intact', boots: 3 });
    expect(result.warnings).toEqual([{ kind: 'seq-gap', file: FILE_20, line: 4, boot: 'b3', from: 1, to: 2 }]);
    expect(describeWarning(result.warnings[0]!)).toMatch(/^boot "b3": seq 1–2 \(2 records\) are not in the trail/);
  });

  it('names a single missing seq', async () => {
    await writeLines([record(1), record(3)]);
    expect(describeWarning((await verifyTrail(dir)).warnings[0]!)).toMatch(/^boot "b1": seq 2 is not in the trail/);
  });

  it('warns of a seq that does not grow within a boot', async () => {
    await writeLines([record(1), record(2), record(2)]);
    const result = await verifyTrail(dir);
    expect(result.status).toBe('intact');
    expect(result.warnings).toEqual([{ kind: 'seq-repeat', file: FILE_20, line: 3, boot: 'b1', seq: 2, after: 2 }]);
  });

  it('keeps maxWarnings warnings and counts the others', async () => {
    await writeLines([2, 4, 6, 8, 10].map((seq) => record(seq)));
    const result = await verifyTrail(dir, { maxWarnings: 2 });
    expect(result.warnings.map((w) => w.line)).toEqual([1, 2]);
    expect(result.warningsOmitted).toBe(3);
  });
});
