// WorkerDisk: the daemon's ProfileDisk. The critical path's jobs (appends
// and installs) run on the directory's worker thread; the background
// checkpoint's syncs and recovery's reads run on libuv's thread pool, so
// that a checkpoint never stands in a change's way.
import { constants } from 'node:fs';
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DiskJobs } from './disk-jobs.js';
import type { ProfileDisk, Unlink } from './profile-disk.js';

async function syncPath(path: string, flags: number): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function missing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'ENOENT';
}

export class WorkerDisk implements ProfileDisk {
  private readonly jobs = new DiskJobs();

  constructor(readonly dir: string) {}

  append(name: string, text: string): Promise<void> {
    return this.jobs.run({ kind: 'append', dir: this.dir, name, text });
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
      await this.jobs.run({ kind: 'close', dir: this.dir, name });
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
    return syncPath(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
  }

  close(): void {
    this.jobs.close();
  }
}
