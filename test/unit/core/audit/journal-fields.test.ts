import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatAuditLine } from '../../../../src/core/audit/backends/log-line.js';
import { AUDIT_MESSAGE_ID, journalFields } from '../../../../src/core/audit/journal-fields.js';
import type { AuditRecord } from '../../../../src/core/audit/record.js';

const full: AuditRecord = {
  ts: 1_795_359_215_299,
  boot: '0123456789abcdef0123456789abcdef',
  seq: 17,
  op: 'connection-update',
  origin: 'caller',
  uuid: '3c4a9a4e-55c5-4d24-9d3b-6a0b4f3c2a11',
  name: 'lan0',
  ifindex: 3,
  iface: 'eth0',
  args: 'unsaved',
  changed: ['ipv4.address-data', 'connection.id'],
  before: { connection: { id: 'lan' }, ipv4: { address1: '192.0.2.10/24' } },
  after: { connection: { id: 'lan0' }, ipv4: { address1: '192.0.2.20/24' } },
  pid: 1234,
  uid: 0,
  result: 'fail',
  reason: 'invalid-argument',
  actor: { busName: ':1.7', exe: '/usr/bin/nmcli' },
  tx: 5,
};

// Everything a journal field name may be: the fixed names and nothing else.
const NAMES = [
  'MESSAGE', 'PRIORITY', 'SYSLOG_IDENTIFIER', 'MESSAGE_ID',
  'NETAUDIT_OP', 'NETAUDIT_ORIGIN', 'NETAUDIT_RESULT', 'NETAUDIT_REASON', 'NETAUDIT_CONNECTION_UUID', 'NETAUDIT_CONNECTION_ID',
  'NETAUDIT_IFINDEX', 'NETAUDIT_IFACE', 'NETAUDIT_ARGS', 'NETAUDIT_CHANGED', 'NETAUDIT_BEFORE', 'NETAUDIT_AFTER',
  'NETAUDIT_CALLER_PID', 'NETAUDIT_CALLER_UID', 'NETAUDIT_TX', 'NETAUDIT_SEQ', 'NETAUDIT_BOOT',
];

const HOSTILE: Array<[string, string]> = [
  ['a quote and fake fields', 'x" op=evil result="success'],
  ['a fake journal field after a newline', 'lan\nNETAUDIT_RESULT=success\nMESSAGE_ID=0'],
  ['a field name alone', 'NETAUDIT_OP'],
  ['a fake ares field', 'ares=success'],
  ['a tab and carriage return', 'a\tb\rc'],
  ['non-ASCII text', 'Büro 日本 café'],
  ['an RTL override', 'safe\u202eevil'],
  ['terminal escapes', '\u001b]0;owned\u0007\u001b[2J'],
  ['an 8 KiB value', `${'Z'.repeat(8192)}\nNETAUDIT_SEQ=1`],
  ['an empty value', ''],
];

describe('the journal entry of an audit record', () => {
  it('has the fixed fields, then one NETAUDIT_* field per record field, values as they are', () => {
    expect(journalFields(full)).toEqual([
      ['MESSAGE', formatAuditLine(full)],
      ['PRIORITY', '6'],
      ['SYSLOG_IDENTIFIER', 'netauditd'],
      ['MESSAGE_ID', '139765103cc3466c8e0440ae32e43c24'],
      ['NETAUDIT_OP', 'connection-update'],
      ['NETAUDIT_ORIGIN', 'caller'],
      ['NETAUDIT_RESULT', 'fail'],
      ['NETAUDIT_REASON', 'invalid-argument'],
      ['NETAUDIT_CONNECTION_UUID', '3c4a9a4e-55c5-4d24-9d3b-6a0b4f3c2a11'],
      ['NETAUDIT_CONNECTION_ID', 'lan0'],
      ['NETAUDIT_IFINDEX', '3'],
      ['NETAUDIT_IFACE', 'eth0'],
      ['NETAUDIT_ARGS', 'unsaved'],
      ['NETAUDIT_CHANGED', 'ipv4.address-data,connection.id'],
      ['NETAUDIT_BEFORE', '{"connection":{"id":"lan"},"ipv4":{"address1":"192.0.2.10/24"}}'],
      ['NETAUDIT_AFTER', '{"connection":{"id":"lan0"},"ipv4":{"address1":"192.0.2.20/24"}}'],
      ['NETAUDIT_CALLER_PID', '1234'],
      ['NETAUDIT_CALLER_UID', '0'],
      ['NETAUDIT_TX', '5'],
      ['NETAUDIT_SEQ', '17'],
      ['NETAUDIT_BOOT', '0123456789abcdef0123456789abcdef'],
    ]);
  });

  it('leaves out the fields a record does not have (a reload on SIGHUP has no caller)', () => {
    const record: AuditRecord = { ts: 0, boot: 'b', seq: 1, op: 'reload', args: 'sighup', result: 'success' };
    expect(journalFields(record)).toEqual([
      ['MESSAGE', 'op="reload" args="sighup" result="success"'],
      ['PRIORITY', '6'],
      ['SYSLOG_IDENTIFIER', 'netauditd'],
      ['MESSAGE_ID', AUDIT_MESSAGE_ID],
      ['NETAUDIT_OP', 'reload'],
      ['NETAUDIT_RESULT', 'success'],
      ['NETAUDIT_ARGS', 'sighup'],
      ['NETAUDIT_SEQ', '1'],
      ['NETAUDIT_BOOT', 'b'],
    ]);
  });

  it('keeps zero values: ifindex, pid and uid 0 are values, not absent ones', () => {
    const fields = new Map(journalFields({ ...full, ifindex: 0, pid: 0, uid: 0 }));
    expect([fields.get('NETAUDIT_IFINDEX'), fields.get('NETAUDIT_CALLER_PID'), fields.get('NETAUDIT_CALLER_UID')]).toEqual(['0', '0', '0']);
  });

  it.each(HOSTILE)('keeps %s unchanged in every caller-controlled field, under the fixed names', (_what, value) => {
    const record: AuditRecord = { ...full, uuid: value, name: value, iface: value, args: value, changed: [value] };
    const fields = journalFields(record);
    expect(fields.map(([name]) => name)).toEqual(NAMES);
    const byName = new Map(fields);
    for (const name of ['NETAUDIT_CONNECTION_UUID', 'NETAUDIT_CONNECTION_ID', 'NETAUDIT_IFACE', 'NETAUDIT_ARGS', 'NETAUDIT_CHANGED'] as const) {
      expect(byName.get(name)).toBe(value);
    }
    // The message is the log line: escaped, on one line.
    expect(byName.get('MESSAGE')).toBe(formatAuditLine(record));
    expect(byName.get('MESSAGE')).not.toMatch(/[\n\r\u001b\u202e]/);
  });

  it('never takes a field name from a value', () => {
    const names = new Set<string>();
    for (const [, value] of HOSTILE) {
      for (const key of ['uuid', 'name', 'iface', 'args'] as const) {
        for (const [name] of journalFields({ ...full, [key]: value, changed: [value, 'NETAUDIT_X'] })) names.add(name);
      }
    }
    expect([...names].sort()).toEqual([...NAMES].sort());
    for (const name of names) expect(name).toMatch(/^[A-Z][A-Z0-9_]{0,63}$/);
  });

  it('has a MESSAGE_ID that the catalog explains', () => {
    expect(AUDIT_MESSAGE_ID).toMatch(/^[0-9a-f]{32}$/);
    const catalog = readFileSync(new URL('../../../../data/netauditd.catalog', import.meta.url), 'utf8');
    expect(catalog.split('\n').filter((l) => l.startsWith('-- '))).toEqual([`-- ${AUDIT_MESSAGE_ID}`]);
  });
});

describe('origin, cause, tx, before and after in the journal entry', () => {
  it('sends a daemon change with its cause and tx and without any caller field', () => {
    const record: AuditRecord = {
      ts: 0, boot: 'b', seq: 3, op: 'connection-activate', origin: 'daemon', cause: 'autoconnect', uuid: 'u', name: 'lan',
      ifindex: 4, iface: 'v0', pid: 1, uid: 0, result: 'success', tx: 8,
    };
    expect(journalFields(record)).toEqual([
      ['MESSAGE', 'op="connection-activate" origin="daemon" cause="autoconnect" uuid="u" name="lan" ifindex=4 iface="v0" result="success"'],
      ['PRIORITY', '6'],
      ['SYSLOG_IDENTIFIER', 'netauditd'],
      ['MESSAGE_ID', AUDIT_MESSAGE_ID],
      ['NETAUDIT_OP', 'connection-activate'],
      ['NETAUDIT_ORIGIN', 'daemon'],
      ['NETAUDIT_CAUSE', 'autoconnect'],
      ['NETAUDIT_RESULT', 'success'],
      ['NETAUDIT_CONNECTION_UUID', 'u'],
      ['NETAUDIT_CONNECTION_ID', 'lan'],
      ['NETAUDIT_IFINDEX', '4'],
      ['NETAUDIT_IFACE', 'v0'],
      ['NETAUDIT_TX', '8'],
      ['NETAUDIT_SEQ', '3'],
      ['NETAUDIT_BOOT', 'b'],
    ]);
  });

  it('sends an attributed external change with its process and how it was found', () => {
    const fields = new Map(
      journalFields({ ts: 0, boot: 'b', seq: 1, op: 'connection-update', origin: 'external', args: 'file', pid: 9, uid: 1001, result: 'success', actor: { attribution: 'fanotify' } }),
    );
    expect([fields.get('NETAUDIT_ORIGIN'), fields.get('NETAUDIT_CALLER_PID'), fields.get('NETAUDIT_CALLER_UID'), fields.get('NETAUDIT_ATTRIBUTION')]).toEqual(['external', '9', '1001', 'fanotify']);
  });

  it.each(HOSTILE)('keeps %s whole in before and after, as JSON that parses back to it', (_what, value) => {
    const before = { ipv4: { address1: value }, [value]: { [value]: value } };
    const after = { connection: { id: value } };
    const fields = new Map(journalFields({ ...full, before, after }));
    expect(fields.get('NETAUDIT_BEFORE')).toBe(JSON.stringify(before));
    expect(JSON.parse(fields.get('NETAUDIT_BEFORE')!)).toEqual(before);
    expect(JSON.parse(fields.get('NETAUDIT_AFTER')!)).toEqual(after);
    // JSON text never holds a raw newline: one value, whatever it carries.
    expect(fields.get('NETAUDIT_BEFORE')).not.toMatch(/[\n\r]/);
    expect(fields.get('MESSAGE')).toBe(formatAuditLine(full));
  });
});
