// The profiles directory's file worker (WorkerDisk): runs the jobs of the
// commit protocol's critical path — write-ahead appends and installs —
// with synchronous calls on a thread of its own, so that a batch costs the
// event loop one trip between threads instead of one per call.
import { closeSync, constants, fdatasyncSync, fstatSync, ftruncateSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import type { DiskJob, DiskJobReply, DiskJobRequest } from './disk-jobs.js';
import { holdsProfile, type Unlink } from './profile-disk.js';

/** The write-ahead segments open for appending: their descriptor and the bytes known whole on disk. */
const segments = new Map<string, { fd: number; good: number; cutPending: boolean }>();
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

function segment(path: string): { fd: number; good: number; cutPending: boolean } {
  let s = segments.get(path);
  if (!s) {
    // O_DSYNC: each write is durable when it returns, as a write then an fdatasync would be.
    const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_DSYNC);
    s = { fd, good: fstatSync(fd).size, cutPending: false };
    segments.set(path, s);
  }
  if (s.cutPending) {
    ftruncateSync(s.fd, s.good);
    fdatasyncSync(s.fd);
    s.cutPending = false;
  }
  return s;
}

function append(path: string, text: string): void {
  const s = segment(path);
  try {
    writeAll(s.fd, text);
    s.good += Buffer.byteLength(text);
  } catch (e) {
    // Cut the bytes that may have reached the file: the next line must follow a whole one.
    try {
      ftruncateSync(s.fd, s.good);
      fdatasyncSync(s.fd);
    } catch {
      s.cutPending = true;
    }
    throw e;
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
  switch (job.kind) {
    case 'append':
      append(join(job.dir, job.name), job.text);
      return;
    case 'install':
      install(job.dir, job.files, job.unlinks);
      return;
    case 'close': {
      // The segment is being removed: its descriptor goes first.
      const path = join(job.dir, job.name);
      const s = segments.get(path);
      if (!s) return;
      segments.delete(path);
      closeSync(s.fd);
      return;
    }
  }
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

