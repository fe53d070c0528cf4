// WorkerDisk: the daemon's ProfileDisk. Appends to the write-ahead log are
// single O_DSYNC writes on libuv's thread pool, beside the trail's (one trip
// each, cheaper for the event loop than a message to a worker); installs,
// several calls each, run on the directory's worker thread in one trip; the
// background checkpoint's syncs and recovery's reads run on the thread pool.
import { constants } from 'node:fs';
import { open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir, syncPath } from '../durable-file.js';
import { DiskJobs } from './disk-jobs.js';
import type { ProfileDisk, Unlink } from './profile-disk.js';

function missing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'ENOENT';
}

/** A write-ahead segment open for appending: the bytes known whole on disk, and whether a cut is owed. */
interface OpenSegment {
  readonly handle: FileHandle;
  good: number;
  cutPending: boolean;
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  for (let done = 0; done < bytes.length; ) done += (await handle.write(bytes, done, bytes.length - done)).bytesWritten;
}

export class WorkerDisk implements ProfileDisk {
  private readonly jobs = new DiskJobs();
  private readonly segments = new Map<string, Promise<OpenSegment>>();

  constructor(readonly dir: string) {}

  private segment(name: string): Promise<OpenSegment> {
    let opened = this.segments.get(name);
    if (!opened) {
      // O_DSYNC: each write is durable when it returns, as a write then an fdatasync would be.
      opened = open(join(this.dir, name), constants.O_WRONLY | constants.O_APPEND | constants.O_DSYNC).then(async (handle) => ({
        handle,
        good: (await handle.stat()).size,
        cutPending: false,
      }));
      opened.catch(() => this.segments.delete(name));
      this.segments.set(name, opened);
    }
    return opened;
  }

  async append(name: string, text: string): Promise<void> {
    const s = await this.segment(name);
    if (s.cutPending) {
      await s.handle.truncate(s.good);
      await s.handle.datasync();
      s.cutPending = false;
    }
    const bytes = Buffer.from(text, 'utf8');
    try {
      await writeAll(s.handle, bytes);
      s.good += bytes.length;
    } catch (e) {
      // Cut what may have reached the file: the next line must follow a whole one.
      try {
        await s.handle.truncate(s.good);
        await s.handle.datasync();
      } catch {
        s.cutPending = true;
      }
      throw e;
    }
  }

  install(files: ReadonlyArray<{ readonly name: string; readonly content: string }>, unlinks: ReadonlyArray<Unlink>): Promise<void> {
    return this.jobs.run({ kind: 'install', dir: this.dir, files, unlinks });
  }

  async sync(names: readonly string[]): Promise<void> {
    await Promise.all(
      names.map((name) =>
        syncPath(join(this.dir, name), constants.O_RDONLY).catch((e: unknown) => {
          if (!missing(e)) throw e;
        }),
      ),
    );
    await this.syncDir();
  }

  async create(name: string, text: string): Promise<void> {
    const handle = await open(join(this.dir, name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await this.syncDir();
  }

  async remove(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const opened = this.segments.get(name);
      this.segments.delete(name);
      if (opened) await (await opened.catch(() => null))?.handle.close().catch(() => undefined);
      await unlink(join(this.dir, name)).catch((e: unknown) => {
        if (!missing(e)) throw e;
      });
    }
    await this.syncDir();
  }

  list(): Promise<string[]> {
    return readdir(this.dir);
  }

  read(name: string): Promise<string | null> {
    return readFile(join(this.dir, name), 'utf8').catch((e: unknown) => {
      if (missing(e)) return null;
      throw e;
    });
  }

  async writeDurably(name: string, content: string): Promise<void> {
    const temp = join(this.dir, `.netauditd-recover-${process.pid}.tmp`);
    await unlink(temp).catch(() => undefined);
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(this.dir, name));
    await this.syncDir();
  }

  private syncDir(): Promise<void> {
    return syncDir(this.dir);
  }

  close(): void {
    this.jobs.close();
    for (const opened of this.segments.values()) void opened.then((s) => s.handle.close()).catch(() => undefined);
    this.segments.clear();
  }
}
