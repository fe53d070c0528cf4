// JournalBackend: each audit record as one journal entry with its own
// NETAUDIT_* fields (docs/record-format.md, journald). sd_journal_sendv blocks while
// journald's socket queue is full, so the entries go through a bounded
// WorkerQueue to a thread of their own: a stalled journald costs journal
// entries (dropped, counted, reported), never the daemon's answers, and
// never a trail record.
import type { DomainLogger } from '../../../log/logger.js';
import { journalFields, type JournalField } from '../journal-fields.js';
import type { AuditBackend, AuditRecord, BackendStats } from '../record.js';
import { WorkerQueue } from './worker-queue.js';

export interface JournalBackendOptions {
  readonly log: DomainLogger;
  /** entries waiting or being sent at most; default 1024 */
  readonly queueLimit?: number;
}

export const DEFAULT_JOURNAL_QUEUE_LIMIT = 1024;

export class JournalBackend implements AuditBackend {
  readonly name = 'journal' as const;
  readonly commits = false;

  private readonly log: DomainLogger;
  private readonly queue: WorkerQueue<JournalField[]>;
  private failures = 0;
  /** a worker failure was reported and no entry has been sent since */
  private workerFailing = false;

  constructor(options: JournalBackendOptions) {
    this.log = options.log;
    this.queue = new WorkerQueue<JournalField[]>({
      // The compiled layout: dist/core/audit/backends/ → dist/native/.
      url: new URL('../../../native/journal-worker.js', import.meta.url),
      limit: options.queueLimit ?? DEFAULT_JOURNAL_QUEUE_LIMIT,
      onDropStart: (seq) => this.log.debug(`audit backend journal is dropping records from seq ${seq} on: its queue is full`),
      onDropEnd: ({ count, firstSeq, lastSeq }) =>
        this.log.warn(`audit backend journal dropped ${count} record${count === 1 ? '' : 's'} (seq ${firstSeq}–${lastSeq}): journald did not keep up`),
      onWorkerError: (e) => {
        if (this.workerFailing) return;
        this.workerFailing = true;
        this.log.warn(`audit backend journal lost its worker thread (${e.message}); a new one starts with the next record`);
      },
    });
  }

  /**
   * Resolves once journald has the entry, or at once when the queue is full
   * (the record is dropped and counted); rejects when sd_journal_sendv
   * failed, which the AuditManager reports.
   */
  async write(record: AuditRecord): Promise<void> {
    try {
      await this.queue.submit(record.seq, journalFields(record));
      this.workerFailing = false;
    } catch (e) {
      this.failures++;
      throw e;
    }
  }

  async close(): Promise<void> {
    const left = await this.queue.drain(2000);
    if (left > 0) this.log.warn(`stopping with ${left} audit record(s) not yet sent to the journal; the trail holds them`);
    this.queue.close();
  }

  stats(): BackendStats {
    return { dropped: this.queue.dropped, failed: this.failures, queued: this.queue.depth };
  }
}
