// LogLineBackend: the audit record as one line in the daemon's own log, in
// NetworkManager's shape, every value escaped (docs/record-format.md). The
// line says who did what and how it ended; `before`, `after` and `tx` are
// left out: the trail and the journal hold them, and `changed` names the keys.
import type { Logger } from '../../../log/logger.js';
import { quotedField } from '../encode.js';
import { actingProcess, type AuditBackend, type AuditRecord } from '../record.js';

export function formatAuditLine(r: AuditRecord): string {
  const parts = [quotedField('op', r.op)];
  if (r.origin !== undefined) parts.push(quotedField('origin', r.origin));
  if (r.cause !== undefined) parts.push(quotedField('cause', r.cause));
  if (r.uuid !== undefined) parts.push(quotedField('uuid', r.uuid));
  if (r.name !== undefined) parts.push(quotedField('name', r.name));
  if (r.ifindex !== undefined) parts.push(`ifindex=${r.ifindex}`);
  if (r.iface !== undefined) parts.push(quotedField('iface', r.iface));
  if (r.args !== undefined) parts.push(quotedField('args', r.args));
  if (r.changed !== undefined) parts.push(quotedField('changed', r.changed.join(',')));
  const { pid, uid } = actingProcess(r);
  if (pid !== undefined) parts.push(`pid=${pid}`);
  if (uid !== undefined) parts.push(`uid=${uid}`);
  if (r.actor?.attribution !== undefined) parts.push(quotedField('attribution', r.actor.attribution));
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
