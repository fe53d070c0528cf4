// The profiles directory's file worker (WorkerDisk): runs the installs of
// the commit protocol — a temp file created and written, renamed into
// place, old files unlinked — with synchronous calls on a thread of its own,
// so that a batch costs the event loop one trip between threads instead of
// one per call.
import { closeSync, constants, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import type { DiskJob, DiskJobReply, DiskJobRequest } from './disk-jobs.js';
import { holdsProfile, type Unlink } from './profile-disk.js';

let temps = 0;

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}

function ignoreMissing(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function install(dir: string, files: ReadonlyArray<{ name: string; content: string }>, unlinks: ReadonlyArray<Unlink>): void {
  for (const f of files) {
    const temp = join(dir, `.netauditd-install-${process.pid}-${++temps}.tmp`);
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeAll(fd, f.content);
    } catch (e) {
      closeSync(fd);
      ignoreMissing(() => unlinkSync(temp));
      throw e;
    }
    closeSync(fd);
    try {
      renameSync(temp, join(dir, f.name));
    } catch (e) {
      ignoreMissing(() => unlinkSync(temp));
      throw e;
    }
  }
  for (const { name, uuid } of unlinks) {
    const path = join(dir, name);
    ignoreMissing(() => {
      // A file that now holds another profile (its name was taken meanwhile) is not this change's to remove.
      if (uuid === '' || holdsProfile(readFileSync(path, 'utf8'), uuid)) unlinkSync(path);
    });
  }
}

function run(job: DiskJob): void {
  install(job.dir, job.files, job.unlinks);
}

const port = parentPort;
if (port === null) throw new Error('disk-worker.js runs as a worker thread of WorkerDisk');
port.on('message', (batch: readonly DiskJobRequest[]) => {
  const replies: DiskJobReply[] = batch.map(({ id, job }) => {
    try {
      run(job);
      return { id, error: null };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return { id, error: { code: err.code ?? 'EIO', message: err.message } };
    }
  });
  port.postMessage(replies);
});

