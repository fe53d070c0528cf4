// JsonlFileBackend: the audit trail (docs/record-format.md, the trail), the backend whose
// write commits a change. A write resolves once its line is on disk; writes
// that arrive while a sync is under way share the next one (group commit).
import { constants, mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { NetauditError, quote, quotePath } from '../../errors.js';
import type { AuditBackend, AuditRecord } from '../record.js';
import { dayFileName } from '../trail/day-file.js';
import { readTail } from '../trail/reader.js';
import { formatTrailLine } from '../trail/trail-line.js';

export interface JsonlFileBackendOptions {
  readonly dir: string;
  readonly log: { warn(text: string): void; info(text: string): void };
}

interface Pending {
  readonly file: string;
  readonly bytes: Buffer;
  readonly hash: string;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface DayFile {
  readonly name: string;
  handle: FileHandle | null;
  /** bytes known to be whole lines on disk; null until the file is first opened */
  goodSize: number | null;
  /** a failed write may have left bytes after goodSize that could not be cut yet */
  cutPending: boolean;
}

// O_DSYNC: each write returns once its data (and the size that reaches it) is on disk, as a write
// then an fdatasync would, in one call: one trip to the thread pool per batch instead of two.
const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_DSYNC;

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done);
    done += bytesWritten;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class JsonlFileBackend implements AuditBackend {
  readonly name = 'file' as const;
  readonly commits = true;

  private readonly dir: string;
  private readonly log: JsonlFileBackendOptions['log'];
  /** the hash the next write chains onto, including writes not yet on disk */
  private prev: string;
  /** the hash of the last line known to be on disk */
  private durableHash: string;
  /**
   * The newest day file written to. A record whose ts is older (the clock
   * was stepped back) goes here rather than to an older file, so that the
   * files in date order hold the chain in order.
   */
  private newestName: string | null;
  private file: DayFile | null;
  private queue: Pending[] = [];
  private draining: Promise<void> | null = null;
  private closed = false;

  private constructor(options: JsonlFileBackendOptions, lastHash: string, newest: DayFile | null) {
    this.dir = options.dir;
    this.log = options.log;
    this.prev = lastHash;
    this.durableHash = lastHash;
    this.newestName = newest?.name ?? null;
    this.file = newest;
  }

  /** Opens the trail in dir, creating dir if needed and cutting a line torn by a crash. */
  static async open(options: JsonlFileBackendOptions): Promise<JsonlFileBackend> {
    const { dir, log } = options;
    const created = await mkdir(dir, { recursive: true, mode: 0o750 });
    if (created !== undefined) await syncDir(dirname(created));
    const tail = await readTail(dir);
    if (tail.newestFile !== null && tail.tornLength > 0) {
      const path = join(dir, tail.newestFile);
      const handle = await open(path, 'r+');
      try {
        await handle.truncate(tail.completeLength);
        await handle.sync();
      } finally {
        await handle.close();
      }
      log.warn(
        `audit trail file ${quotePath(path)}: cut ${tail.tornLength} bytes at byte ${tail.completeLength}, a line torn by a crash; no caller was told of it`,
      );
    }
    log.info(
      tail.last === null
        ? `audit trail ${quotePath(dir)}: starting a new hash chain`
        : `audit trail ${quotePath(dir)}: the hash chain resumes after boot=${quote(tail.last.entry.boot)} seq=${tail.last.entry.seq} in ${quotePath(tail.last.file)}`,
    );
    const newest = tail.newestFile === null ? null : { name: tail.newestFile, handle: null, goodSize: tail.completeLength, cutPending: false };
    return new JsonlFileBackend(options, tail.lastHash, newest);
  }

  get lastHash(): string {
    return this.prev;
  }

  /** The day file appended to now (a name), which retention must not remove; null before the first. */
  get currentFile(): string | null {
    return this.newestName;
  }

  async write(record: AuditRecord): Promise<void> {
    if (this.closed) {
      throw new NetauditError('Failed', `audit trail ${quotePath(this.dir)} is closed: the daemon is stopping`, 'audit-trail-unavailable');
    }
    const day = dayFileName(record.ts);
    const file = this.newestName !== null && this.newestName > day ? this.newestName : day;
    // The chain follows the order of write() calls: the hash is fixed now, not when the line reaches the disk.
    const { line, hash } = formatTrailLine(record, this.prev);
    this.prev = hash;
    this.newestName = file;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ file, bytes: Buffer.from(line, 'utf8'), hash, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.draining;
    const handle = this.file?.handle;
    if (this.file && handle) {
      this.file.handle = null;
      await handle.close();
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.commit(this.queue.splice(0));
    this.draining = null;
  }

  // One write and one sync per day file in the batch; the older day's lines
  // are on disk before the newer day's are written, so a crash can only tear
  // the newest file.
  private async commit(batch: Pending[]): Promise<void> {
    for (let start = 0; start < batch.length; ) {
      const name = batch[start]!.file;
      let end = start;
      while (end < batch.length && batch[end]!.file === name) end++;
      const segment = batch.slice(start, end);
      try {
        await this.append(name, Buffer.concat(segment.map((p) => p.bytes)));
      } catch (error) {
        this.fail(name, [...batch.slice(start), ...this.queue.splice(0)], error);
        await this.discard();
        return;
      }
      this.durableHash = segment.at(-1)!.hash;
      for (const p of segment) p.resolve();
      start = end;
    }
  }

  private async append(name: string, bytes: Buffer): Promise<void> {
    const file = await this.dayFile(name);
    const handle = file.handle!;
    await writeAll(handle, bytes);
    file.goodSize! += bytes.length;
  }

  private async dayFile(name: string): Promise<DayFile> {
    let file = this.file;
    if (file === null || file.name !== name) {
      // Only the newest file may end in a partial line (see readTail).
      if (file?.cutPending) await (await this.openDayFile(file)).close();
      // Its lines are already on disk: a failing close loses nothing.
      await file?.handle?.close().catch(() => undefined);
      file = { name, handle: null, goodSize: null, cutPending: false };
      this.file = file;
    }
    file.handle ??= await this.openDayFile(file);
    return file;
  }

  private async openDayFile(file: DayFile): Promise<FileHandle> {
    const path = join(this.dir, file.name);
    let handle: FileHandle;
    let created = false;
    try {
      handle = await open(path, APPEND);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      handle = await open(path, APPEND | constants.O_CREAT | constants.O_EXCL, 0o640);
      created = true;
    }
    try {
      if (created) await syncDir(this.dir);
      const { size } = await handle.stat();
      if (file.goodSize !== null && size > file.goodSize) {
        // A failed write whose cut failed too left bytes behind: no line may follow them.
        await handle.truncate(file.goodSize);
        await handle.datasync();
      } else {
        file.goodSize = size;
      }
      file.cutPending = false;
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    return handle;
  }

  // The failed lines and every line queued behind them chain onto a hash
  // that never reached the disk: all of them are refused, and the chain goes
  // back to the last line on disk.
  private fail(name: string, doomed: Pending[], error: unknown): void {
    const failure = new NetauditError(
      'Failed',
      `audit trail file ${quotePath(join(this.dir, name))} cannot be written: ${errorText(error)}; the change is refused (free space or repair the file system; the next change retries)`,
      'audit-trail-unavailable',
    );
    this.prev = this.durableHash;
    for (const p of doomed) p.reject(failure);
  }

  // Cuts the file back to its last whole line, so that a partial line never
  // stays between two records, and drops the handle: after a failed fsync the
  // kernel may have cleared the error, so the file is opened afresh.
  private async discard(): Promise<void> {
    const file = this.file;
    const handle = file?.handle;
    if (!file || !handle) return;
    file.handle = null;
    try {
      await handle.truncate(file.goodSize!);
      await handle.datasync();
    } catch (error) {
      file.cutPending = true;
      this.log.warn(
        `audit trail file ${quotePath(join(this.dir, file.name))}: cannot cut back to ${file.goodSize} bytes after a failed write (${errorText(error)}), retrying before the next write`,
      );
    }
    await handle.close().catch(() => undefined);
  }
}
