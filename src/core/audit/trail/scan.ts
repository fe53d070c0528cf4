// Trail scan: the records of the audit trail's day files in trail order (or
// newest first), streaming, for netauditctl's audit list, export, follow and
// stats. Day files before --since are passed over unread; bytes after the
// newest file's last newline are a write under way (or a line torn by a
// crash), not a record, and are left for the next read; `follow` waits for
// lines appended to the newest file and for new day files.
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { NetauditError, quotePath } from '../../errors.js';
import { listDayFiles, parseDayFileName } from './day-file.js';
import type { RecordFilter } from './filter.js';
import { parseTrailLine, type TrailEntry } from './trail-line.js';

const BLOCK = 256 * 1024;
const NEWLINE = 0x0a;
const DEFAULT_POLL_MS = 500;

/** A record of the trail and where it is. */
export interface ScannedRecord {
  /** the day file's name */
  readonly file: string;
  /** byte offset of its line in the file */
  readonly offset: number;
  /** the line's bytes as on disk, without its "\n" */
  readonly bytes: Buffer;
  readonly entry: TrailEntry;
}

/** A place in the trail: reading on from it gives the records written after it. */
export interface TrailPosition {
  /** the day file's name; null when the trail has no day file yet */
  readonly file: string | null;
  /** a byte offset in that file, just after a newline (or 0) */
  readonly offset: number;
}

export interface ScanProgress {
  readonly file: string;
  /** bytes read so far, and the size of the files to read when the scan began */
  readonly bytesRead: number;
  readonly bytesTotal: number;
  readonly records: number;
}

export interface ScanOptions {
  /** called when a file is opened and after each block read */
  readonly onProgress?: (progress: ScanProgress) => void;
}

export interface FollowOptions {
  /** ends the follow: the iterator then returns */
  readonly signal: AbortSignal;
  /** how often the trail is looked at when no change event came (default 500 ms) */
  readonly pollMs?: number;
}

interface RawLine {
  readonly bytes: Buffer;
  readonly offset: number;
}

function errnoCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

/** An error reading the trail, with the errno code it comes from. */
export class TrailReadError extends NetauditError {
  readonly errno: string;

  constructor(message: string, errno: string) {
    super('Failed', message, 'io-error');
    this.name = 'TrailReadError';
    this.errno = errno;
  }
}

/** An error reading the trail, as a person would want to read it. */
export function trailReadError(path: string, error: unknown, what: 'directory' | 'file' = 'file'): NetauditError {
  if (error instanceof NetauditError) return error;
  const code = errnoCode(error);
  let text = `cannot read the audit trail ${what} ${quotePath(path)} (${code})`;
  if (code === 'ENOENT' && what === 'directory') text = `the audit trail directory ${quotePath(path)} does not exist (ENOENT); netauditd creates it at its first start`;
  else if (code === 'ENOENT') text += ': it was removed while being read (by retention, or by hand)';
  else if (code === 'EACCES' || code === 'EPERM') text += ': reading the trail needs read access to its directory and files';
  else if (code === 'ENOTDIR') text += ': not a directory';
  return new TrailReadError(text, code);
}

/** The trail's day files, oldest first. */
export async function trailFiles(dir: string): Promise<string[]> {
  try {
    return await listDayFiles(dir);
  } catch (error) {
    throw trailReadError(dir, error, 'directory');
  }
}

async function openFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    throw trailReadError(path, error);
  }
}

async function readAt(handle: FileHandle, path: string, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  try {
    for (let done = 0; done < length; ) {
      const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
      if (bytesRead === 0) return buffer.subarray(0, done);
      done += bytesRead;
    }
  } catch (error) {
    throw trailReadError(path, error);
  }
  return buffer;
}

/** The complete lines of a file from byte `start` on; bytes after the last newline are left unread. */
async function* linesFrom(path: string, start: number, onBytes?: (bytes: number) => void): AsyncGenerator<RawLine> {
  const handle = await openFile(path);
  try {
    let carry: Buffer[] = [];
    let lineStart = start;
    for (let position = start; ; ) {
      const block = await readAt(handle, path, position, BLOCK);
      if (block.length === 0) return;
      position += block.length;
      onBytes?.(block.length);
      let from = 0;
      for (let nl = block.indexOf(NEWLINE); nl !== -1; nl = block.indexOf(NEWLINE, from)) {
        const piece = block.subarray(from, nl);
        const bytes = carry.length === 0 ? piece : Buffer.concat([...carry, piece]);
        yield { bytes, offset: lineStart };
        lineStart += bytes.length + 1;
        carry = [];
        from = nl + 1;
      }
      if (from < block.length) carry.push(block.subarray(from));
    }
  } finally {
    await handle.close();
  }
}

/** The complete lines of a file before byte `end` (just after a newline, or 0), last line first. */
async function* linesBackward(path: string, end: number): AsyncGenerator<RawLine> {
  const handle = await openFile(path);
  try {
    // pending holds bytes [position, …) not yet given out; it ends with a newline.
    let position = end;
    let pending = Buffer.alloc(0);
    for (;;) {
      let stop = pending.length - 1;
      while (stop >= 0) {
        const nl = stop === 0 ? -1 : pending.lastIndexOf(NEWLINE, stop - 1);
        if (nl === -1 && position > 0) break; // the line starts in an earlier block
        yield { bytes: pending.subarray(nl + 1, stop), offset: position + nl + 1 };
        stop = nl;
      }
      if (position === 0) return;
      const length = Math.min(BLOCK, position);
      position -= length;
      pending = Buffer.concat([await readAt(handle, path, position, length), pending.subarray(0, stop + 1)]);
    }
  } finally {
    await handle.close();
  }
}

/** Bytes of a file up to the end of its last complete line. */
async function completeLength(path: string): Promise<number> {
  const handle = await openFile(path);
  try {
    const size = (await handle.stat()).size;
    for (let position = size; position > 0; ) {
      const length = Math.min(BLOCK, position);
      position -= length;
      const nl = (await readAt(handle, path, position, length)).lastIndexOf(NEWLINE);
      if (nl !== -1) return position + nl + 1;
    }
    return 0;
  } finally {
    await handle.close();
  }
}

function matching(dir: string, file: string, line: RawLine, filter: RecordFilter): ScannedRecord | null {
  if (filter.mayMatchBytes && !filter.mayMatchBytes(line.bytes)) return null;
  const text = line.bytes.toString('utf8');
  if (!filter.mayMatchLine(text)) return null;
  let entry: TrailEntry;
  try {
    entry = parseTrailLine(text);
  } catch (error) {
    throw new NetauditError(
      'Failed',
      `audit trail file ${quotePath(join(dir, file))} at byte ${line.offset}: ${(error as Error).message}; check the trail with netauditctl audit verify`,
      'io-error',
    );
  }
  return filter.matches(entry) ? { file, offset: line.offset, bytes: line.bytes, entry } : null;
}

function mayMatchFile(filter: RecordFilter, file: string): boolean {
  const date = parseDayFileName(file);
  return date === null || filter.mayMatchDay(date);
}

/** Where the trail ends now: the end of the newest day file's last complete line. */
export async function trailEnd(dir: string): Promise<TrailPosition> {
  const newest = (await trailFiles(dir)).at(-1);
  if (newest === undefined) return { file: null, offset: 0 };
  return { file: newest, offset: await completeLength(join(dir, newest)) };
}

/** The matching records in trail order (oldest first). */
export async function* scanTrail(dir: string, filter: RecordFilter, options: ScanOptions = {}): AsyncGenerator<ScannedRecord> {
  const files = (await trailFiles(dir)).filter((file) => mayMatchFile(filter, file));
  const sizes: number[] = [];
  for (const file of files) {
    try {
      sizes.push((await stat(join(dir, file))).size);
    } catch (error) {
      throw trailReadError(join(dir, file), error);
    }
  }
  const bytesTotal = sizes.reduce((a, b) => a + b, 0);
  let bytesRead = 0;
  let records = 0;
  for (const file of files) {
    const progress = (): void => options.onProgress?.({ file, bytesRead, bytesTotal, records });
    progress();
    const onBytes = (bytes: number): void => {
      bytesRead += bytes;
      progress();
    };
    for await (const line of linesFrom(join(dir, file), 0, options.onProgress && onBytes)) {
      const record = matching(dir, file, line, filter);
      if (record === null) continue;
      records++;
      yield record;
    }
  }
}

/**
 * The matching records newest first, from `end` (default: where the trail
 * ends now) back to the oldest, or to the first day file before --since.
 */
export async function* scanTrailBackward(dir: string, filter: RecordFilter, end?: TrailPosition): AsyncGenerator<ScannedRecord> {
  const from = end ?? (await trailEnd(dir));
  if (from.file === null) return;
  const files = (await trailFiles(dir)).filter((file) => file <= from.file!).reverse();
  for (const file of files) {
    // Older files hold older days only: once one is before --since, all the rest are.
    if (!mayMatchFile(filter, file)) return;
    const path = join(dir, file);
    const last = file === from.file ? from.offset : (await stat(path).catch((error: unknown) => { throw trailReadError(path, error); })).size;
    for await (const line of linesBackward(path, last)) {
      const record = matching(dir, file, line, filter);
      if (record !== null) yield record;
    }
  }
}

/** The last `count` matching records in trail order, and where the trail ended when they were read. */
export async function lastRecords(dir: string, filter: RecordFilter, count: number): Promise<{ records: ScannedRecord[]; end: TrailPosition }> {
  const end = await trailEnd(dir);
  const records: ScannedRecord[] = [];
  if (count > 0) {
    for await (const record of scanTrailBackward(dir, filter, end)) {
      records.push(record);
      if (records.length >= count) break;
    }
  }
  return { records: records.reverse(), end };
}

/** Wakes a follower when the trail's directory changes, or every pollMs (fs.watch may miss events, e.g. on NFS). */
class ChangeWaiter {
  private changed = false;
  private wake: (() => void) | null = null;
  private watcher: FSWatcher | null = null;

  constructor(dir: string, private readonly pollMs: number) {
    try {
      this.watcher = watch(dir, { persistent: true }, () => this.poke());
      this.watcher.on('error', () => this.stopWatching());
    } catch {
      // No inotify (limits reached, a file system without it): polling alone.
      this.watcher = null;
    }
  }

  /** Forgets earlier changes: call it before reading, so that a change made meanwhile is not missed. */
  arm(): void {
    this.changed = false;
  }

  wait(signal: AbortSignal): Promise<void> {
    if (this.changed || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, this.pollMs);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  close(): void {
    this.stopWatching();
    this.wake?.();
  }

  private poke(): void {
    this.changed = true;
    this.wake?.();
  }

  private stopWatching(): void {
    this.watcher?.close();
    this.watcher = null;
  }
}

/**
 * The matching records written after `from`, as they land, until the signal
 * aborts. It reads on in the current day file and moves to a newer one when
 * the daemon starts it (at midnight UTC), after reading what the daemon
 * wrote to the older file first. A day file removed meanwhile (retention) is
 * passed over.
 */
export async function* followTrail(dir: string, filter: RecordFilter, from: TrailPosition, options: FollowOptions): AsyncGenerator<ScannedRecord> {
  const { signal } = options;
  const waiter = new ChangeWaiter(dir, options.pollMs ?? DEFAULT_POLL_MS);
  let file = from.file;
  let offset = from.offset;
  // Reads the complete lines appended to the current file since the last read.
  async function* readOn(): AsyncGenerator<ScannedRecord> {
    if (file === null) return;
    const current = file;
    try {
      for await (const line of linesFrom(join(dir, current), offset)) {
        offset = line.offset + line.bytes.length + 1;
        const record = matching(dir, current, line, filter);
        if (record !== null) yield record;
      }
    } catch (error) {
      if (!(error instanceof TrailReadError && error.errno === 'ENOENT')) throw error;
    }
  }
  try {
    while (!signal.aborted) {
      waiter.arm();
      yield* readOn();
      const newer = (await trailFiles(dir)).filter((name) => file === null || name > file);
      if (newer.length > 0) {
        // The daemon writes an older day's lines before it starts a newer day's file.
        yield* readOn();
        file = newer[0]!;
        offset = 0;
        continue;
      }
      await waiter.wait(signal);
    }
  } finally {
    waiter.close();
  }
}
