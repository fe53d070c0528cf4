// The profiles directory's file worker (FileJobs): runs batches of file
// jobs — create, write, fsync, rename, unlink, fsync the directory — with
// synchronous calls on a thread of its own, so that the event loop pays one
// trip between threads per batch instead of one per call.
import { closeSync, constants, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { FileJobReply, FileJobRequest } from './file-jobs.js';

function fsyncPath(path: string, flags: number): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDir(dir: string): void {
  fsyncPath(dir, constants.O_RDONLY | constants.O_DIRECTORY);
}

function ignoreMissing(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

type Failure = { code: string; message: string };

function failure(e: unknown): Failure {
  const err = e as NodeJS.ErrnoException;
  return { code: err.code ?? 'EIO', message: err.message };
}

/**
 * Runs a batch: every new file is written first, then the fsyncs (after the
 * first, the others find their data already committed), then one fsync per
 * directory; moves and unlinks follow. A job fails alone unless what failed
 * was the fsync of a directory it shares.
 */
function runBatch(batch: readonly FileJobRequest[]): FileJobReply[] {
  const errors = new Map<number, Failure>();
  const fail = (id: number, e: unknown): void => {
    if (!errors.has(id)) errors.set(id, failure(e));
  };
  const open = new Map<number, Array<{ path: string; fd: number }>>();
  const dirsToSync = new Map<string, number[]>();
  const needDir = (dir: string, id: number): void => {
    dirsToSync.set(dir, [...(dirsToSync.get(dir) ?? []), id]);
  };

  for (const { id, job } of batch) {
    if (job.kind !== 'write') continue;
    const files: Array<{ path: string; fd: number }> = [];
    open.set(id, files);
    try {
      for (const f of job.files) {
        const fd = openSync(f.path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
        files.push({ path: f.path, fd });
        const bytes = Buffer.from(f.content, 'utf8');
        for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
      }
      needDir(job.dir, id);
    } catch (e) {
      fail(id, e);
    }
  }
  for (const [id, files] of open) {
    for (const f of files) {
      try {
        if (!errors.has(id)) fsyncSync(f.fd);
      } catch (e) {
        fail(id, e);
      }
      closeSync(f.fd);
    }
  }
  for (const { id, job } of batch) {
    if (job.kind === 'write') continue;
    try {
      if (job.kind === 'sync-then-unlink') syncDir(job.dir);
      if (job.kind === 'move') for (const [from, to] of job.renames) ignoreMissing(() => renameSync(from, to));
      for (const p of job.unlinks) ignoreMissing(() => unlinkSync(p));
      if (job.kind === 'move' && job.syncDir) needDir(job.dir, id);
    } catch (e) {
      fail(id, e);
    }
  }
  for (const [dir, ids] of dirsToSync) {
    try {
      syncDir(dir);
    } catch (e) {
      for (const id of ids) fail(id, e);
    }
  }
  // A write job that failed leaves nothing behind: its files were never visible to anyone.
  for (const [id, files] of open) {
    if (errors.has(id)) for (const f of files) ignoreMissing(() => unlinkSync(f.path));
  }
  return batch.map(({ id }) => ({ id, error: errors.get(id) ?? null }));
}

const port = parentPort;
if (port === null) throw new Error('file-worker.js runs as a worker thread of FileJobs');
port.on('message', (batch: readonly FileJobRequest[]) => {
  port.postMessage(runBatch(batch));
});
