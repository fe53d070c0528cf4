// Trail scan: records across day files in order and newest first, the day
// files before --since never opened, a torn tail left alone, lines across
// read blocks, the last N with where the trail ended, and follow seeing
// appended lines (whole ones only) and a new day file.
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../../src/core/audit/record.js';
import { createFilter } from '../../../../src/core/audit/trail/filter.js';
import { followTrail, lastRecords, scanTrail, scanTrailBackward, trailEnd, type ScannedRecord, type ScanProgress } from '../../../../src/core/audit/trail/scan.js';
import { formatTrailLine, ZERO_HASH } from '../../../../src/core/audit/trail/trail-line.js';
import { NetauditError } from '../../../../src/core/errors.js';

const DAY = 24 * 3600 * 1000;
const NOV_18 = Date.UTC(2026, 10, 18, 12, 0, 0, 0);

let dir: string;
let prev: string;
let seq: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netaudit-scan-'));
  prev = ZERO_HASH;
  seq = 0;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The next line of the chain for a record at `ts`. */
function next(ts: number, overrides: Partial<AuditRecord> = {}): string {
  const { line, hash } = formatTrailLine({ ts, boot: 'b1', seq: ++seq, op: 'connection-update', result: 'success', ...overrides }, prev);
  prev = hash;
  return line;
}

/** Appends a record to the day file `file` (audit-DATE.jsonl), whatever its ts says. */
async function add(file: string, ts: number, overrides: Partial<AuditRecord> = {}): Promise<string> {
  const text = next(ts, overrides);
  await appendFile(join(dir, `audit-${file}.jsonl`), text);
  return text;
}

/** Three days, two records each. */
async function threeDays(): Promise<string[]> {
  const lines: string[] = [];
  for (let day = 0; day < 3; day++) {
    const date = new Date(NOV_18 + day * DAY).toISOString().slice(0, 10);
    lines.push(await add(date, NOV_18 + day * DAY, { name: `d${day}a` }));
    lines.push(await add(date, NOV_18 + day * DAY + 1000, { name: `d${day}b` }));
  }
  return lines;
}

async function collect(records: AsyncIterable<ScannedRecord>): Promise<string[]> {
  const names: string[] = [];
  for await (const record of records) names.push(record.entry.name ?? `#${record.entry.seq}`);
  return names;
}

describe('scanTrail', () => {
  it('gives every record in trail order, with its bytes as on disk', async () => {
    const lines = await threeDays();
    const records: ScannedRecord[] = [];
    for await (const record of scanTrail(dir, createFilter({}))) records.push(record);
    expect(records.map((r) => r.entry.name)).toEqual(['d0a', 'd0b', 'd1a', 'd1b', 'd2a', 'd2b']);
    expect(records.map((r) => `${r.bytes.toString('utf8')}\n`)).toEqual(lines);
    expect(records[1]).toMatchObject({ file: 'audit-2026-11-18.jsonl', offset: Buffer.byteLength(lines[0]!) });
  });

  it('never opens a day file whose whole day is before --since', async () => {
    await threeDays();
    // Not a record: reading this file would throw.
    await appendFile(join(dir, 'audit-2026-11-18.jsonl'), 'garbage\n');
    const progress: ScanProgress[] = [];
    const names = await collect(scanTrail(dir, createFilter({ since: NOV_18 + DAY }), { onProgress: (p) => progress.push(p) }));
    expect(names).toEqual(['d1a', 'd1b', 'd2a', 'd2b']);
    expect(new Set(progress.map((p) => p.file))).toEqual(new Set(['audit-2026-11-19.jsonl', 'audit-2026-11-20.jsonl']));
    const last = progress.at(-1)!;
    expect(last.bytesRead).toBe(last.bytesTotal);
    await expect(collect(scanTrail(dir, createFilter({})))).rejects.toThrow(/audit-2026-11-18\.jsonl" at byte \d+: not a trail record: not valid JSON; check the trail with netauditctl audit verify/);
  });

  it('finds a record that a stepped-back clock put in a later day file, with --until', async () => {
    await threeDays();
    // The clock went back two days: the daemon writes into the newest file.
    await add('2026-11-20', NOV_18 + 5000, { name: 'stepped-back' });
    const names = await collect(scanTrail(dir, createFilter({ until: NOV_18 + DAY - 1 })));
    expect(names).toEqual(['d0a', 'd0b', 'stepped-back']);
  });

  it('leaves a torn tail of the newest file alone: a write under way is not an error', async () => {
    await threeDays();
    await appendFile(join(dir, 'audit-2026-11-20.jsonl'), next(NOV_18 + 2 * DAY + 5000, { name: 'torn' }).slice(0, 50));
    expect(await collect(scanTrail(dir, createFilter({})))).toEqual(['d0a', 'd0b', 'd1a', 'd1b', 'd2a', 'd2b']);
    expect(await collect(scanTrailBackward(dir, createFilter({})))).toEqual(['d2b', 'd2a', 'd1b', 'd1a', 'd0b', 'd0a']);
  });

  it('reads lines longer than a read block whole, both ways', async () => {
    const long = 'x'.repeat(600 * 1024);
    await add('2026-11-18', NOV_18, { name: 'a' });
    await add('2026-11-18', NOV_18 + 1, { name: long });
    await add('2026-11-18', NOV_18 + 2, { name: 'c' });
    await add('2026-11-18', NOV_18 + 3, { name: long + long });
    const forward = await collect(scanTrail(dir, createFilter({})));
    expect(forward.map((n) => n.length)).toEqual([1, long.length, 1, 2 * long.length]);
    const backward = await collect(scanTrailBackward(dir, createFilter({})));
    expect(backward).toEqual([...forward].reverse());
  });

  it('says where an unreadable directory is and why', async () => {
    const missing = join(dir, 'nope');
    let error: unknown;
    try {
      await collect(scanTrail(missing, createFilter({})));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NetauditError);
    expect((error as Error).message).toBe(`the audit trail directory ${JSON.stringify(missing)} does not exist (ENOENT); netauditd creates it at its first start`);
  });
});

describe('scanTrailBackward and lastRecords', () => {
  it('gives the matching records newest first, stopping at the files before --since', async () => {
    await threeDays();
    await appendFile(join(dir, 'audit-2026-11-18.jsonl'), 'garbage\n');
    expect(await collect(scanTrailBackward(dir, createFilter({ since: NOV_18 + DAY + 500 })))).toEqual(['d2b', 'd2a', 'd1b']);
  });

  it('gives the last N in trail order and where the trail ended', async () => {
    const lines = await threeDays();
    const size = lines.slice(4).reduce((n, l) => n + Buffer.byteLength(l), 0);
    await appendFile(join(dir, 'audit-2026-11-20.jsonl'), '{"ts":"torn');
    const { records, end } = await lastRecords(dir, createFilter({}), 3);
    expect(records.map((r) => r.entry.name)).toEqual(['d1b', 'd2a', 'd2b']);
    expect(end).toEqual({ file: 'audit-2026-11-20.jsonl', offset: size });
    expect(await trailEnd(dir)).toEqual(end);
    const filtered = await lastRecords(dir, createFilter({ name: 'd0*' }), 5);
    expect(filtered.records.map((r) => r.entry.name)).toEqual(['d0a', 'd0b']);
    expect((await lastRecords(dir, createFilter({}), 0)).records).toEqual([]);
  });

  it('has nothing for a trail without day files', async () => {
    expect(await lastRecords(dir, createFilter({}), 5)).toEqual({ records: [], end: { file: null, offset: 0 } });
  });
});

describe('followTrail', () => {
  it('gives records appended after the start, whole lines only, and moves on to a new day file', async () => {
    await threeDays();
    const stop = new AbortController();
    const seen: string[] = [];
    let notify: () => void = () => undefined;
    const from = await trailEnd(dir);
    const follower = (async () => {
      for await (const record of followTrail(dir, createFilter({ ops: ['connection-update'] }), from, { signal: stop.signal, pollMs: 50 })) {
        seen.push(record.entry.name!);
        notify();
      }
    })();
    const waitSeen = (n: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`saw ${JSON.stringify(seen)}, waiting for ${n}`)), 5000);
        notify = () => {
          if (seen.length >= n) {
            clearTimeout(timer);
            resolve();
          }
        };
        notify();
      });

    try {
      await add('2026-11-20', NOV_18 + 2 * DAY + 5000, { name: 'new1' });
      await waitSeen(1);
      // A line written in two parts: nothing shows until it is whole (a part read as
      // a line would fail to parse and end the follow with an error).
      const path = join(dir, 'audit-2026-11-20.jsonl');
      const line = next(NOV_18 + 2 * DAY + 6000, { name: 'new2' });
      await appendFile(path, line.slice(0, 30));
      // Several polls (50 ms) pass over the part.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(seen).toEqual(['new1']);
      await appendFile(path, line.slice(30));
      await add('2026-11-20', NOV_18 + 2 * DAY + 7000, { op: 'reload', name: 'filtered-out' });
      await waitSeen(2);
      // Midnight: the daemon starts a new day file.
      await add('2026-11-21', NOV_18 + 3 * DAY, { name: 'day4' });
      await waitSeen(3);
    } finally {
      stop.abort();
      await follower;
    }
    expect(seen).toEqual(['new1', 'new2', 'day4']);
  });

  it('starts on an empty trail and picks up the first day file', async () => {
    const stop = new AbortController();
    const seen: string[] = [];
    const follower = (async () => {
      for await (const record of followTrail(dir, createFilter({}), { file: null, offset: 0 }, { signal: stop.signal, pollMs: 50 })) {
        seen.push(record.entry.name!);
        if (seen.length === 1) stop.abort();
      }
    })();
    await add('2026-11-18', NOV_18, { name: 'first' });
    await follower;
    expect(seen).toEqual(['first']);
  });
});
