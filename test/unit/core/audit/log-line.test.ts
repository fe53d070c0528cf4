import { describe, expect, it } from 'vitest';
import { formatAuditLine } from '../../../../src/core/audit/backends/log-line.js';
import { escapeLogValue } from '../../../../src/core/audit/encode.js';
import type { AuditRecord } from '../../../../src/core/audit/record.js';

const base: AuditRecord = { ts: 0, boot: 'b', seq: 1, op: 'connection-add', uuid: 'u', name: 'n', pid: 42, uid: 0, result: 'success' };

/** Splits a log line the way a reader does: key=value or key="value" with backslash escapes. */
function parseFields(line: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const re = /([a-z_]+)=(?:"((?:[^"\\]|\\.)*)"|(\S+))(?: |$)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(line)) !== null) {
    out.push([m[1]!, m[2] ?? m[3]!]);
    consumed = re.lastIndex;
  }
  expect(consumed).toBe(line.length);
  return out;
}

describe('the audit log line', () => {
  it('has NetworkManager’s shape', () => {
    expect(formatAuditLine(base)).toBe('op="connection-add" uuid="u" name="n" pid=42 uid=0 result="success"');
  });

  it('adds the reason of a failure and leaves absent fields out', () => {
    expect(formatAuditLine({ ts: 0, boot: 'b', seq: 2, op: 'reload', args: 'sighup', result: 'fail', reason: 'invalid-config' })).toBe(
      'op="reload" args="sighup" result="fail" reason="invalid-config"',
    );
  });

  it.each([
    ['a quote and a fake field', 'evil" result="success x=1', 'evil\\" result=\\"success x=1'],
    ['key=value pairs', 'a=b c=d', 'a=b c=d'],
    ['a fake ares field', 'ares=success', 'ares=success'],
    ['a newline', 'x\nop="evil"', 'x\\nop=\\"evil\\"'],
    ['a tab and carriage return', 'a\tb\rc', 'a\\tb\\rc'],
    ['a backslash before a quote', 'x\\" y', 'x\\\\\\" y'],
    ['a terminal escape', '\u001b[2J\u001b[1;1H', '\\x1b[2J\\x1b[1;1H'],
    ['an RTL override', 'abc\u202edef', 'abc\\u{202e}def'],
    ['DEL and a C1 control', '\u007f\u0085', '\\x7f\\x85'],
    ['a line separator', 'a\u2028b', 'a\\u{2028}b'],
  ])('keeps %s inside the name field', (_what, name, escaped) => {
    const line = formatAuditLine({ ...base, result: 'fail', reason: 'invalid-argument', name });
    expect(line).toBe(`op="connection-add" uuid="u" name="${escaped}" pid=42 uid=0 result="fail" reason="invalid-argument"`);
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202e]/);
    const fields = parseFields(line);
    expect(fields.map(([k]) => k)).toEqual(['op', 'uuid', 'name', 'pid', 'uid', 'result', 'reason']);
    expect(fields.find(([k]) => k === 'result')![1]).toBe('fail');
  });

  it('keeps printable non-ASCII text readable', () => {
    expect(escapeLogValue('Büro Wi-Fi 日本')).toBe('Büro Wi-Fi 日本');
  });

  it('cuts a 4 KiB value with a marker and stays one field', () => {
    const name = 'x'.repeat(4096);
    const escaped = escapeLogValue(name);
    expect(escaped).toBe(`${'x'.repeat(1024)}\\...[3072 more characters]`);
    const fields = parseFields(formatAuditLine({ ...base, name }));
    expect(fields.map(([k]) => k)).toEqual(['op', 'uuid', 'name', 'pid', 'uid', 'result']);
  });

  it.each([
    ['a value ending like a cut', 'lan...[7 more characters]', 'lan...[7 more characters]'],
    ['a backslash before it', 'lan\\...[7 more characters]', 'lan\\\\...[7 more characters]'],
  ])('cannot fake the cut marker with %s', (_what, name, escaped) => {
    expect(escapeLogValue(name)).toBe(escaped);
    // The marker's backslash begins `\.`, an escape no value's text is written with.
    expect(escapeLogValue(name)).not.toMatch(/(?:^|[^\\])(?:\\\\)*\\\./);
    expect(escapeLogValue(`${'y'.repeat(1024)}${name}`)).toBe(`${'y'.repeat(1024)}\\...[${name.length} more characters]`);
  });
});

describe('origin and cause in the audit log line', () => {
  it('shows origin after op, and a caller as pid and uid', () => {
    expect(formatAuditLine({ ...base, origin: 'caller', tx: 4 })).toBe('op="connection-add" origin="caller" uuid="u" name="n" pid=42 uid=0 result="success"');
  });

  it('shows the cause of a change the daemon made on its own, and no caller even if the record held one', () => {
    expect(formatAuditLine({ ...base, op: 'connection-activate', origin: 'daemon', cause: 'autoconnect', ifindex: 3, iface: 'v0' })).toBe(
      'op="connection-activate" origin="daemon" cause="autoconnect" uuid="u" name="n" ifindex=3 iface="v0" result="success"',
    );
  });

  it('shows how an external change was attributed', () => {
    expect(
      formatAuditLine({ ts: 0, boot: 'b', seq: 1, op: 'connection-update', origin: 'external', args: 'file', pid: 9, uid: 1001, result: 'success', actor: { attribution: 'fanotify' } }),
    ).toBe('op="connection-update" origin="external" args="file" pid=9 uid=1001 attribution="fanotify" result="success"');
  });

  it('leaves before and after out, so that no value of theirs can split or fake the line', () => {
    const hostile = 'x" result="success\n<info> audit: op="y"\u202e';
    const line = formatAuditLine({ ...base, origin: 'caller', changed: ['ipv4.address-data'], before: { ipv4: { address1: hostile } }, after: { ipv4: { [hostile]: hostile } } });
    expect(line).toBe('op="connection-add" origin="caller" uuid="u" name="n" changed="ipv4.address-data" pid=42 uid=0 result="success"');
  });

  it.each([
    ['a quote and a fake field', 'x" result="success', 'x\\" result=\\"success'],
    ['a newline', 'x\ny', 'x\\ny'],
    ['an RTL override', 'a\u202eb', 'a\\u{202e}b'],
  ])('escapes %s in origin and cause, should a record ever hold one', (_what, value, escaped) => {
    const line = formatAuditLine({ ...base, origin: value, cause: value } as unknown as AuditRecord);
    expect(line).toBe(`op="connection-add" origin="${escaped}" cause="${escaped}" uuid="u" name="n" pid=42 uid=0 result="success"`);
    expect(parseFields(line).map(([k]) => k)).toEqual(['op', 'origin', 'cause', 'uuid', 'name', 'pid', 'uid', 'result']);
  });
});
