// MemoryTrail: a committing audit backend in memory, for the core unit tests: the records it was
// given, and a way to make it refuse them as a full disk would.
import type { AuditBackend, AuditRecord } from '../../../src/core/audit/record.js';

export class MemoryTrail implements AuditBackend {
  readonly name = 'file' as const;
  readonly commits = true;
  records: AuditRecord[] = [];
  /** set: every write is refused with it */
  failWith: Error | null = null;
  async write(r: AuditRecord): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.records.push(r);
  }
  async close(): Promise<void> {}
}
