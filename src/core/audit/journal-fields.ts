// Journal fields: an audit record as the journal entry the journal backend
// sends (docs/record-format.md). Values are the record's own, unescaped: each
// travels with its length (sd_journal_sendv), so no value can end its field
// or start another. Field names are constants here, never built from input.
import { formatAuditLine } from './backends/log-line.js';
import { actingProcess, type AuditRecord } from './record.js';

/** The MESSAGE_ID of every audit record; data/netauditd.catalog explains it (journalctl -x). */
export const AUDIT_MESSAGE_ID = '139765103cc3466c8e0440ae32e43c24';

/** syslog's "info" (docs/record-format.md) */
export const AUDIT_PRIORITY = '6';

export const SYSLOG_IDENTIFIER = 'netauditd';

/** The NETAUDIT_* field of each record field, in the order they are sent. */
export const NETAUDIT_FIELDS = {
  op: 'NETAUDIT_OP',
  origin: 'NETAUDIT_ORIGIN',
  cause: 'NETAUDIT_CAUSE',
  result: 'NETAUDIT_RESULT',
  reason: 'NETAUDIT_REASON',
  uuid: 'NETAUDIT_CONNECTION_UUID',
  name: 'NETAUDIT_CONNECTION_ID',
  ifindex: 'NETAUDIT_IFINDEX',
  iface: 'NETAUDIT_IFACE',
  args: 'NETAUDIT_ARGS',
  changed: 'NETAUDIT_CHANGED',
  before: 'NETAUDIT_BEFORE',
  after: 'NETAUDIT_AFTER',
  pid: 'NETAUDIT_CALLER_PID',
  uid: 'NETAUDIT_CALLER_UID',
  attribution: 'NETAUDIT_ATTRIBUTION',
  tx: 'NETAUDIT_TX',
  seq: 'NETAUDIT_SEQ',
  boot: 'NETAUDIT_BOOT',
  cut: 'NETAUDIT_CUT',
} as const;

export type JournalFieldName =
  | 'MESSAGE'
  | 'PRIORITY'
  | 'SYSLOG_IDENTIFIER'
  | 'MESSAGE_ID'
  | (typeof NETAUDIT_FIELDS)[keyof typeof NETAUDIT_FIELDS];

/** One field of an entry: its name and its value as text (sent as UTF-8). */
export type JournalField = readonly [name: JournalFieldName, value: string];

function fieldValue(record: AuditRecord, key: keyof typeof NETAUDIT_FIELDS): string | undefined {
  switch (key) {
    case 'pid':
    case 'uid': {
      const value = actingProcess(record)[key];
      return value === undefined ? undefined : String(value);
    }
    case 'attribution':
      return record.actor?.attribution;
    case 'before':
    case 'after': {
      // JSON text, whole: the entry carries each value with its length.
      const value = record[key];
      return value === undefined ? undefined : JSON.stringify(value);
    }
    case 'changed':
    case 'cut': {
      const value = record[key];
      return value === undefined ? undefined : value.join(',');
    }
    default: {
      const value = record[key];
      return value === undefined ? undefined : String(value);
    }
  }
}

/** The fields of the journal entry for `record`: only the record fields it has. */
export function journalFields(record: AuditRecord): JournalField[] {
  const fields: JournalField[] = [
    ['MESSAGE', formatAuditLine(record)],
    ['PRIORITY', AUDIT_PRIORITY],
    ['SYSLOG_IDENTIFIER', SYSLOG_IDENTIFIER],
    ['MESSAGE_ID', AUDIT_MESSAGE_ID],
  ];
  for (const key of Object.keys(NETAUDIT_FIELDS) as Array<keyof typeof NETAUDIT_FIELDS>) {
    const value = fieldValue(record, key);
    if (value !== undefined) fields.push([NETAUDIT_FIELDS[key], value]);
  }
  return fields;
}
