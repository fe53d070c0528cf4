// JsonlFileBackend: the trail on a real file system: exact bytes, the hash
// chain across days and restarts, group commit, crash recovery, and a disk
// that really fills up.
import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { appendFile, mkdir, mkdtemp, open, readFile, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { JsonlFileBackend } from '../../../../src/core/audit/backends/jsonl-file.js';
import type { AuditRecord } from '../../../../src/core/audit/record.js';
import { listDayFiles } from '../../../../src/core/audit/trail/day-file.js';
import { formatTrailLine, lineHashOk, parseTrailLine, ZERO_HASH, type TrailEntry } from '../../../../src/core/audit/trail/trail-line.js';
import { NetauditError } from '../../../../src/core/errors.js';

const DAY = 24 * 3600 * 1000;
const NOV_20 = Date.UTC(2026, 10, 20, 12, 0, 0, 0);
const MIDNIGHT = Date.UTC(2026, 10, 21);

let fileHandleProto: FileHandle;
let dir: string;
let warnings: string[];
let infos: string[];

beforeAll(async () => {
  const probe = await open(tmpdir(), 'r');
  fileHandleProto = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netaudit-trail-'));
  warnings = [];
  infos = [];
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

function openTrail(at = dir): Promise<JsonlFileBackend> {
  return JsonlFileBackend.open({ dir: at, log: { warn: (text) => warnings.push(text), info: (text) => infos.push(text) } });
}

function record(seq: number, overrides: Partial<AuditRecord> = {}): AuditRecord {
  return { ts: NOV_20 + seq, boot: 'b1', seq, op: 'connection-update', uuid: 'u-1', result: 'success', ...overrides };
}

/** Reads every day file, checks each line's hash and its link to the line before, returns the entries. */
async function readChain(at = dir): Promise<TrailEntry[]> {
  const entries: TrailEntry[] = [];
  let prev = ZERO_HASH;
  for (const file of await listDayFiles(at)) {
    const text = await readFile(join(at, file), 'utf8');
    if (text === '') continue;
    expect(text.endsWith('\n'), `${file} ends with a newline`).toBe(true);
    for (const line of text.slice(0, -1).split('\n')) {
      expect(lineHashOk(line)).toBe(true);
      const entry = parseTrailLine(line);
      expect(entry.prev).toBe(prev);
      prev = entry.hash;
      entries.push(entry);
    }
  }
  return entries;
}

async function rejection(promise: Promise<unknown>): Promise<NetauditError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NetauditError);
  return error as NetauditError;
}

describe('JsonlFileBackend', () => {
  it('creates its directory with mode 0750 and day files with mode 0640', async () => {
    const umask = process.umask(0o022);
    try {
      const at = join(dir, 'var', 'audit');
      const trail = await openTrail(at);
      await trail.write(record(1));
      await trail.close();
      expect((await stat(at)).mode & 0o777).toBe(0o750);
      expect((await stat(join(at, 'audit-2026-11-20.jsonl'))).mode & 0o777).toBe(0o640);
    } finally {
      process.umask(umask);
    }
  });

  it('is the committing file backend', async () => {
    const trail = await openTrail();
    expect([trail.name, trail.commits]).toEqual(['file', true]);
    await trail.close();
  });

  it('writes the first record of an empty trail onto 64 zeros, byte for byte', async () => {
    const trail = await openTrail();
    expect(trail.lastHash).toBe(ZERO_HASH);
    const r = record(1, { name: 'a"b\n","hash":"x', actor: { busName: ':1.42', exe: '/usr/bin/busctl' } });
    await trail.write(r);
    await trail.close();
    const { line, hash } = formatTrailLine(r, ZERO_HASH);
    expect(await readFile(join(dir, 'audit-2026-11-20.jsonl'), 'utf8')).toBe(line);
    expect(trail.lastHash).toBe(hash);
    expect(infos).toEqual([`audit trail ${JSON.stringify(dir)}: starting a new hash chain`]);
  });

  it('chains records across day files and a reopen', async () => {
    let trail = await openTrail();
    await trail.write(record(1));
    await trail.write(record(2));
    await trail.write(record(3, { ts: NOV_20 + DAY }));
    const hash = trail.lastHash;
    await trail.close();

    trail = await openTrail();
    expect(trail.lastHash).toBe(hash);
    expect(infos.at(-1)).toBe(`audit trail ${JSON.stringify(dir)}: the hash chain resumes after boot="b1" seq=3 in "audit-2026-11-21.jsonl"`);
    await trail.write(record(1, { boot: 'b2', ts: NOV_20 + DAY + 10 }));
    await trail.write(record(2, { boot: 'b2', ts: NOV_20 + 2 * DAY }));
    await trail.close();

    expect(await listDayFiles(dir)).toEqual(['audit-2026-11-20.jsonl', 'audit-2026-11-21.jsonl', 'audit-2026-11-22.jsonl']);
    const entries = await readChain();
    expect(entries.map((e) => `${e.boot}/${e.seq}`)).toEqual(['b1/1', 'b1/2', 'b1/3', 'b2/1', 'b2/2']);
    expect(entries[3]!.prev).toBe(hash);
    expect(warnings).toEqual([]);
  });

  it('puts each record of a batch that spans midnight into the file of its own UTC day', async () => {
    const trail = await openTrail();
    await Promise.all([
      trail.write(record(1, { ts: MIDNIGHT - 1 })),
      trail.write(record(2, { ts: MIDNIGHT - 1 })),
      trail.write(record(3, { ts: MIDNIGHT })),
      trail.write(record(4, { ts: MIDNIGHT + 1 })),
    ]);
    await trail.close();
    const byFile = async (name: string) => (await readFile(join(dir, name), 'utf8')).trim().split('\n').map((l) => parseTrailLine(l).seq);
    expect(await byFile('audit-2026-11-20.jsonl')).toEqual([1, 2]);
    expect(await byFile('audit-2026-11-21.jsonl')).toEqual([3, 4]);
    expect((await readChain()).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('keeps appending to the newest day file when the clock steps back over midnight', async () => {
    const trail = await openTrail();
    await trail.write(record(1, { ts: MIDNIGHT + 5 }));
    await trail.write(record(2, { ts: MIDNIGHT - 5 }));
    await trail.close();
    expect(await listDayFiles(dir)).toEqual(['audit-2026-11-21.jsonl']);
    const entries = await readChain();
    expect(entries.map((e) => e.ts)).toEqual(['2026-11-21T00:00:00.005Z', '2026-11-20T23:59:59.995Z']);
  });

  it('chains in the order of write() calls and groups concurrent writes into few syncs', async () => {
    const synced = vi.spyOn(fileHandleProto, 'write');
    const trail = await openTrail();
    await Promise.all(Array.from({ length: 100 }, (_, i) => trail.write(record(i + 1))));
    await trail.close();
    // Each write to the O_DSYNC file is a sync: the first starts alone, the other 99 arrive during it and share the next.
    expect(synced).toHaveBeenCalledTimes(2);
    expect((await readChain()).map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('resolves a write only once its line has been synced: written to a file opened O_DSYNC', async () => {
    const events: string[] = [];
    const realWrite = fileHandleProto.write;
    vi.spyOn(fileHandleProto, 'write').mockImplementation(async function (this: FileHandle, ...args: unknown[]) {
      // The kernel's view of the descriptor: its open flags, in octal.
      const flags = parseInt(/^flags:\s+([0-7]+)$/m.exec(await readFile(`/proc/self/fdinfo/${this.fd}`, 'utf8'))![1]!, 8);
      const result = await (realWrite as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      events.push((flags & constants.O_DSYNC) === constants.O_DSYNC ? 'written and synced' : 'written, not synced');
      return result;
    } as never);
    const trail = await openTrail();
    await trail.write(record(1)).then(() => events.push('resolved'));
    await trail.close();
    expect(events).toEqual(['written and synced', 'resolved']);
  });

  it('syncs the directory each time it creates a day file, and only then', async () => {
    const sync = vi.spyOn(fileHandleProto, 'sync');
    const trail = await openTrail();
    await trail.write(record(1));
    expect(sync).toHaveBeenCalledTimes(1);
    await trail.write(record(2));
    expect(sync).toHaveBeenCalledTimes(1);
    await trail.write(record(3, { ts: NOV_20 + DAY }));
    expect(sync).toHaveBeenCalledTimes(2);
    await trail.close();
  });

  it('cuts a line torn by a crash at open and says where, then chains onto the last whole line', async () => {
    let trail = await openTrail();
    await trail.write(record(1));
    await trail.write(record(2));
    const hash = trail.lastHash;
    await trail.close();
    const path = join(dir, 'audit-2026-11-20.jsonl');
    const whole = await readFile(path, 'utf8');
    await appendFile(path, formatTrailLine(record(3), hash).line.slice(0, 100));

    trail = await openTrail();
    expect(warnings).toEqual([
      `audit trail file ${JSON.stringify(path)}: cut 100 bytes at byte ${whole.length}, a line torn by a crash; no caller was told of it`,
    ]);
    expect(await readFile(path, 'utf8')).toBe(whole);
    expect(trail.lastHash).toBe(hash);
    await trail.write(record(3));
    await trail.close();
    expect((await readChain()).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('refuses to open over a last line that does not match its hash, and changes nothing', async () => {
    const trail = await openTrail();
    await trail.write(record(1));
    await trail.write(record(2, { name: 'office' }));
    await trail.close();
    const path = join(dir, 'audit-2026-11-20.jsonl');
    const forged = (await readFile(path, 'utf8')).replace('"office"', '"offica"');
    await writeFile(path, forged);
    const error = await rejection(openTrail());
    expect(error.message).toContain('the last record does not match its hash; the trail is left as it is');
    expect(await readFile(path, 'utf8')).toBe(forged);
  });

  it('refuses to open over a last complete line that is not a record', async () => {
    const trail = await openTrail();
    await trail.write(record(1));
    await trail.close();
    const path = join(dir, 'audit-2026-11-20.jsonl');
    await appendFile(path, '{"ts":"2026-11-20T12:00:00.002Z"}\n');
    const before = await readFile(path, 'utf8');
    const error = await rejection(openTrail());
    expect(error.message).toContain('the last record is damaged (not a trail record: key "boot" is missing)');
    expect(await readFile(path, 'utf8')).toBe(before);
    expect(warnings).toEqual([]);
  });

  it('refuses a batch whose sync fails and every write queued behind it, cuts their lines, and resumes the chain', async () => {
    const trail = await openTrail();
    await trail.write(record(1));
    const good = trail.lastHash;
    const path = join(dir, 'audit-2026-11-20.jsonl');
    const before = await readFile(path, 'utf8');

    vi.spyOn(fileHandleProto, 'write').mockImplementationOnce(async () => {
      throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    });
    const failed = [trail.write(record(2)), trail.write(record(3)), trail.write(record(4))];
    const errors = await Promise.all(failed.map(rejection));
    for (const error of errors) {
      expect(error.code).toBe('Failed');
      expect(error.reason).toBe('audit-trail-unavailable');
      expect(error.message).toBe(
        `audit trail file ${JSON.stringify(path)} cannot be written: EIO: i/o error, write; the change is refused (free space or repair the file system; the next change retries)`,
      );
    }
    expect(trail.lastHash).toBe(good);
    expect(await readFile(path, 'utf8')).toBe(before);

    await trail.write(record(5));
    await trail.close();
    const entries = await readChain();
    expect(entries.map((e) => e.seq)).toEqual([1, 5]);
    expect(entries[1]!.prev).toBe(good);
  });

  it('waits for pending writes on close and refuses writes after it', async () => {
    const trail = await openTrail();
    const pending = [trail.write(record(1)), trail.write(record(2)), trail.write(record(3))];
    await trail.close();
    await Promise.all(pending);
    expect((await readChain()).map((e) => e.seq)).toEqual([1, 2, 3]);
    const error = await rejection(trail.write(record(4)));
    expect([error.code, error.reason]).toEqual(['Failed', 'audit-trail-unavailable']);
  });
});

describe('JsonlFileBackend on a full disk', () => {
  let scratch: string;
  let mnt: string;
  let mounted = false;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'netaudit-full-'));
    mnt = join(scratch, 'mnt');
    await mkdir(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'netaudit-test', mnt], { stdio: 'ignore' });
      mounted = true;
    } catch {
      mounted = false;
    }
  });

  afterAll(async () => {
    if (mounted) execFileSync('umount', [mnt]);
    await rm(scratch, { recursive: true, force: true });
  });

  it('refuses records with audit-trail-unavailable, leaves no partial line, and resumes the chain once there is space', async (ctx) => {
    if (!mounted) ctx.skip('mounting a tmpfs needs root');
    const at = join(mnt, 'trail');
    const pad = join(mnt, 'pad');
    // 16 KiB stay free: four lines of about 3.3 KB fit, the fifth is cut short by the file system.
    await writeFile(pad, Buffer.alloc(48 * 1024));
    const realWrite = fileHandleProto.write as (this: FileHandle, ...args: unknown[]) => Promise<{ bytesWritten: number }>;
    const short: number[] = [];
    vi.spyOn(fileHandleProto, 'write').mockImplementation(async function (this: FileHandle, ...args: unknown[]) {
      const result = await realWrite.apply(this, args);
      if (args[2] !== undefined && result.bytesWritten < (args[2] as number)) short.push(result.bytesWritten);
      return result;
    } as FileHandle['write']);

    let trail = await openTrail(at);
    const name = 'n'.repeat(3000);
    let written = 0;
    let error: NetauditError | undefined;
    for (let seq = 1; seq <= 50 && error === undefined; seq++) {
      try {
        await trail.write(record(seq, { name }));
        written++;
      } catch (e) {
        error = e as NetauditError;
      }
    }
    expect(written).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(NetauditError);
    expect([error!.code, error!.reason]).toEqual(['Failed', 'audit-trail-unavailable']);
    expect(error!.message).toContain('cannot be written: ENOSPC: no space left on device');
    // The file system really took part of the line before it refused the rest.
    expect(short.length).toBeGreaterThan(0);

    let entries = await readChain(at);
    expect(entries).toHaveLength(written);
    expect(trail.lastHash).toBe(entries.at(-1)!.hash);

    // Still full: the retry is refused too, and again leaves nothing behind.
    await expect(trail.write(record(written + 1, { name }))).rejects.toMatchObject({ reason: 'audit-trail-unavailable' });
    expect(await readChain(at)).toHaveLength(written);

    await rm(pad);
    await trail.write(record(written + 1, { name }));
    const hash = trail.lastHash;
    await trail.close();
    entries = await readChain(at);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: written + 1 }, (_, i) => i + 1));

    trail = await openTrail(at);
    expect(trail.lastHash).toBe(hash);
    expect(warnings).toEqual([]);
    await trail.close();
  });
});
