// DiskJobs: the installs of disk-worker.ts, sent in batches: jobs that
// arrive while the worker is busy go in its next batch, so that concurrent
// changes share one trip between threads.
import { Worker } from 'node:worker_threads';
import type { Unlink } from './profile-disk.js';

/** Files written whole under a temp name and renamed into place, then unlinks; nothing synced. */
export interface DiskJob {
  readonly kind: 'install';
  readonly dir: string;
  readonly files: ReadonlyArray<{ readonly name: string; readonly content: string }>;
  readonly unlinks: ReadonlyArray<Unlink>;
}

export interface DiskJobRequest {
  readonly id: number;
  readonly job: DiskJob;
}

export interface DiskJobReply {
  readonly id: number;
  readonly error: { readonly code: string; readonly message: string } | null;
}

export class DiskJobs {
  private worker: Worker | null = null;
  private nextId = 0;
  private busy = false;
  private outbox: DiskJobRequest[] = [];
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  /** Runs `job`; rejects with an Error whose `code` is the errno name of the call that failed. */
  run(job: DiskJob): Promise<void> {
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
    const worker = new Worker(new URL('./disk-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (replies: readonly DiskJobReply[]) => {
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
    worker.on('exit', (code) => lost(new Error(`the profiles directory's worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  close(): void {
    const worker = this.worker;
    this.worker = null;
    if (worker) void worker.terminate();
  }
}
