// WorkerQueue: hands records to a backend that may block (libaudit while
// the kernel backlog is full, sd_journal_sendv while journald's socket queue
// is full) on a worker thread of its own, behind a bounded queue. The event
// loop never waits: when the queue is full the record is dropped, counted,
// and the episode reported once with its count and seq range (docs/record-format.md).
// A worker is started by the first record and stopped once the queue has
// been empty for a while: an idle worker thread costs its isolate's memory.
import { Worker } from 'node:worker_threads';
import { STOP_WORKER, type WorkerReply, type WorkerRequest } from '../../../native/worker-protocol.js';

export interface DropEpisode {
  readonly count: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
}

export interface WorkerQueueOptions {
  /** the worker's entry module */
  readonly url: URL;
  readonly workerData?: unknown;
  /** records waiting or in the worker at most */
  readonly limit: number;
  /** a drop episode begins (the first record dropped) */
  readonly onDropStart: (seq: number) => void;
  /** a drop episode ended: the queue took a record again */
  readonly onDropEnd: (episode: DropEpisode) => void;
  /** the worker died (it is restarted at the next record) */
  readonly onWorkerError: (error: Error) => void;
  /** the worker is stopped once nothing was queued for this long (ms); default 10 s */
  readonly idleMs?: number;
}

export const DEFAULT_WORKER_IDLE_MS = 10_000;

export class WorkerQueue<T> {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private episode: { count: number; firstSeq: number; lastSeq: number } | null = null;
  private droppedTotal = 0;
  private closed = false;
  /** requests not yet posted: those of one turn of the event loop go in one message */
  private outbox: Array<WorkerRequest<T>> = [];
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: WorkerQueueOptions) {}

  /** True while a worker thread runs (started by a record, stopped when idle). */
  get running(): boolean {
    return this.worker !== null;
  }

  /** Records dropped since start because the queue was full. */
  get dropped(): number {
    return this.droppedTotal;
  }

  get depth(): number {
    return this.pending.size;
  }

  /**
   * Queues `payload` for the worker. Resolves when the worker has handled
   * it, rejects when the worker's call failed; resolves at once (dropped,
   * counted) when the queue is full.
   */
  submit(seq: number, payload: T): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.pending.size >= this.options.limit) {
      this.droppedTotal++;
      if (this.episode === null) {
        this.episode = { count: 0, firstSeq: seq, lastSeq: seq };
        this.options.onDropStart(seq);
      }
      this.episode.count++;
      this.episode.lastSeq = seq;
      return Promise.resolve();
    }
    if (this.episode !== null) {
      const ended = this.episode;
      this.episode = null;
      this.options.onDropEnd(ended);
    }
    const id = ++this.nextId;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.outbox.push({ id, payload });
      if (this.outbox.length === 1) setImmediate(() => this.post());
    });
  }

  private post(): void {
    const batch = this.outbox;
    this.outbox = [];
    if (batch.length === 0 || this.closed) return;
    this.ensureWorker().postMessage(batch);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.options.url, { workerData: this.options.workerData });
    // The worker must not keep the daemon alive at exit.
    worker.unref();
    worker.on('message', (replies: readonly WorkerReply[]) => {
      for (const reply of replies) {
        const entry = this.pending.get(reply.id);
        if (!entry) continue;
        this.pending.delete(reply.id);
        if (reply.error === null) entry.resolve();
        else entry.reject(new Error(reply.error));
      }
      if (this.pending.size === 0) this.stopWhenIdle();
    });
    worker.on('error', (e) => this.lost(worker, e));
    worker.on('exit', (code) => {
      if (!this.closed) this.lost(worker, new Error(`the worker thread exited with code ${code}`));
    });
    this.worker = worker;
    return worker;
  }

  /** (Re)arms the idle timer: the worker stops if nothing is queued before it fires. */
  private stopWhenIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const worker = this.worker;
      if (!worker || this.pending.size > 0 || this.outbox.length > 0 || this.closed) return;
      // Nothing is in flight, so the worker is in no call: it closes what it opened and ends.
      // From here its exit is no loss, and the next record starts a new one.
      this.worker = null;
      worker.postMessage(STOP_WORKER);
    }, this.options.idleMs ?? DEFAULT_WORKER_IDLE_MS);
    this.idleTimer.unref();
  }

  private lost(worker: Worker, e: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) p.reject(e);
    this.options.onWorkerError(e);
  }

  /**
   * Waits, at most `timeoutMs`, for the records queued to be handled (a
   * daemon stopping gracefully loses none to a backend that works), and
   * resolves with how many are still waiting then.
   */
  async drain(timeoutMs: number): Promise<number> {
    if (this.outbox.length > 0) this.post();
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0 && this.worker !== null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return this.pending.size;
  }

  /** Stops the worker; records still queued are abandoned (the trail holds them). */
  close(): void {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const worker = this.worker;
    this.worker = null;
    for (const p of this.pending.values()) p.resolve();
    this.pending.clear();
    // A worker blocked inside a native call cannot be interrupted: do not wait for it.
    if (worker) void worker.terminate();
  }
}
