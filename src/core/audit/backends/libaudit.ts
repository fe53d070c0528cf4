// LibauditBackend: each audit record as a USYS_CONFIG record in the kernel
// audit log (docs/record-format.md), sent by a worker thread of its own behind a bounded
// queue, since audit_log_user_message blocks while the kernel's backlog is
// full. When the queue is full a record is dropped and counted, and the
// episode reported; the trail never drops one. A failing call rejects the
// write, which the AuditManager reports once per episode. Its probe tells
// the AuditManager at once when the kernel cannot take the records at all
// (the audit socket refused, CAP_AUDIT_WRITE missing).
import type { DomainLogger } from '../../../log/logger.js';
import { probeAudit } from '../../../native/libaudit.js';
import type { AuditBackend, AuditRecord, BackendStats } from '../record.js';
import { WorkerQueue, type DropEpisode } from './worker-queue.js';

export interface LibauditBackendOptions {
  readonly log: DomainLogger;
  /** records waiting or in the worker at most; default 1024 */
  readonly queueLimit?: number;
}

const DEFAULT_QUEUE_LIMIT = 1024;

export class LibauditBackend implements AuditBackend {
  readonly name = 'libaudit' as const;
  readonly commits = false;
  private readonly log: DomainLogger;
  private readonly queue: WorkerQueue<AuditRecord>;
  private failedCount = 0;
  /** the drop episode under way, for close() to report */
  private dropping: { firstSeq: number; lastSeq: number; droppedBefore: number } | null = null;
  private workerFailing = false;

  constructor(options: LibauditBackendOptions) {
    this.log = options.log;
    const limit = options.queueLimit ?? DEFAULT_QUEUE_LIMIT;
    this.queue = new WorkerQueue<AuditRecord>({
      // Compiled layout: dist/core/audit/backends/libaudit.js → dist/native/libaudit-worker.js
      url: new URL('../../../native/libaudit-worker.js', import.meta.url),
      limit,
      onDropStart: (seq) => {
        this.dropping = { firstSeq: seq, lastSeq: seq, droppedBefore: this.queue.dropped - 1 };
        // Reported once, with its count and range, when it ends (or at close).
        this.log.debug(`audit backend libaudit is dropping records from seq ${seq} on: ${limit} records wait for the kernel audit queue`);
      },
      onDropEnd: (episode) => {
        this.dropping = null;
        this.reportDrops(episode);
      },
      onWorkerError: (e) => {
        if (this.workerFailing) return;
        this.workerFailing = true;
        this.log.warn(`audit backend libaudit: its worker thread stopped (${e.message}); a new one starts at the next record`);
      },
    });
  }

  async write(record: AuditRecord): Promise<void> {
    const sent = this.queue.submit(record.seq, record);
    if (this.dropping !== null) this.dropping.lastSeq = record.seq;
    try {
      await sent;
    } catch (e) {
      this.failedCount++;
      throw e;
    }
    this.workerFailing = false;
  }

  async close(): Promise<void> {
    if (this.dropping !== null) {
      const { firstSeq, lastSeq, droppedBefore } = this.dropping;
      this.dropping = null;
      this.reportDrops({ count: this.queue.dropped - droppedBefore, firstSeq, lastSeq });
    }
    // A stalled kernel backlog must not hold the stop up for long.
    const left = await this.queue.drain(2000);
    if (left > 0) this.log.warn(`stopping with ${left} audit record(s) not yet sent to the kernel audit log; the trail holds them`);
    this.queue.close();
  }

  /** Whether the kernel audit log can take records now; see probeAudit. */
  probe(): string | null {
    return probeAudit();
  }

  stats(): BackendStats {
    return { dropped: this.queue.dropped, failed: this.failedCount, queued: this.queue.depth };
  }

  private reportDrops(episode: DropEpisode): void {
    const { count, firstSeq, lastSeq } = episode;
    this.log.warn(`audit backend libaudit dropped ${count} record${count === 1 ? '' : 's'} (seq ${firstSeq}–${lastSeq}): the kernel audit queue was full`);
  }
}
