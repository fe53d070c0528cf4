// LogLineBackend: the audit record as one line in the daemon's own log, in
// NetworkManager's shape (SPEC §4), every caller value escaped.
import type { Logger } from '../../../log/logger.js';
import { quotedField } from '../encode.js';
import type { AuditBackend, AuditRecord } from '../record.js';

export function formatAuditLine(r: AuditRecord): string {
  const parts = [quotedField('op', r.op)];
  if (r.uuid !== undefined) parts.push(quotedField('uuid', r.uuid));
  if (r.name !== undefined) parts.push(quotedField('name', r.name));
  if (r.ifindex !== undefined) parts.push(`ifindex=${r.ifindex}`);
  if (r.iface !== undefined) parts.push(quotedField('iface', r.iface));
  if (r.args !== undefined) parts.push(quotedField('args', r.args));
  if (r.changed !== undefined) parts.push(quotedField('changed', r.changed.join(',')));
  if (r.pid !== undefined) parts.push(`pid=${r.pid}`);
  if (r.uid !== undefined) parts.push(`uid=${r.uid}`);
  parts.push(quotedField('result', r.result));
  if (r.reason !== undefined) parts.push(quotedField('reason', r.reason));
  if (r.cut !== undefined) parts.push(quotedField('cut', r.cut.join(',')));
  return parts.join(' ');
}

export class LogLineBackend implements AuditBackend {
  readonly name = 'log' as const;
  readonly commits = false;

  constructor(private readonly logger: Logger) {}

  async write(record: AuditRecord): Promise<void> {
    this.logger.audit(formatAuditLine(record));
  }

  async close(): Promise<void> {}
}
