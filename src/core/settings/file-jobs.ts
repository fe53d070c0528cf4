// FileJobs: the profiles directory's file operations, run on a worker
// thread (file-worker.ts) in batches. Jobs that arrive while the worker is
// busy go in its next batch, which writes all their files before one round
// of fsyncs and one fsync of the directory: profile changes share their
// fsyncs as trail records share theirs, and a batch costs one trip between
// threads, which here costs more than the calls it replaces.
import { Worker } from 'node:worker_threads';

export type FileJob =
  /** new files, each written and fsynced, then the directory fsynced */
  | { readonly kind: 'write'; readonly dir: string; readonly files: ReadonlyArray<{ readonly path: string; readonly content: string }> }
  /** renames then unlinks (a missing file is no error), then optionally the directory fsynced */
  | { readonly kind: 'move'; readonly dir: string; readonly renames: ReadonlyArray<readonly [string, string]>; readonly unlinks: readonly string[]; readonly syncDir: boolean }
  /** the directory fsynced, then unlinks */
  | { readonly kind: 'sync-then-unlink'; readonly dir: string; readonly unlinks: readonly string[] };

export interface FileJobRequest {
  readonly id: number;
  readonly job: FileJob;
}

export interface FileJobReply {
  readonly id: number;
  readonly error: { readonly code: string; readonly message: string } | null;
}

export class FileJobs {
  private worker: Worker | null = null;
  private nextId = 0;
  private busy = false;
  private outbox: FileJobRequest[] = [];
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  /** Runs `job`; rejects with an Error whose `code` is the errno name of the call that failed. */
  run(job: FileJob): Promise<void> {
    const id = ++this.nextId;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.outbox.push({ id, job });
      if (!this.busy) this.send();
    });
  }

  private send(): void {
    if (this.outbox.length === 0) {
      this.busy = false;
      return;
    }
    this.busy = true;
    const batch = this.outbox;
    this.outbox = [];
    this.ensureWorker().postMessage(batch);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./file-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (replies: readonly FileJobReply[]) => {
      for (const reply of replies) {
        const entry = this.pending.get(reply.id);
        if (!entry) continue;
        this.pending.delete(reply.id);
        if (reply.error === null) entry.resolve();
        else entry.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
      }
      this.send();
    });
    const lost = (e: Error): void => {
      if (this.worker !== worker) return;
      this.worker = null;
      for (const entry of this.pending.values()) entry.reject(e);
      this.pending.clear();
      this.outbox = [];
      this.busy = false;
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the file worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  close(): void {
    const worker = this.worker;
    this.worker = null;
    if (worker) void worker.terminate();
  }
}
