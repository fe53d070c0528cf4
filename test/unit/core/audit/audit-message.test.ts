import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, encodeCallerValue, formatAuditMessage } from '../../../../src/core/audit/audit-message.js';
import type { AuditRecord } from '../../../../src/core/audit/record.js';

const BOOT = '0123456789abcdef0123456789abcdef';
const base: AuditRecord = { ts: 0, boot: BOOT, seq: 7, op: 'connection-add', uuid: '3f1c0c2a-8d1e-4c52-9a57-b5f1a9e1c0de', name: 'lan0', pid: 4242, uid: 0, result: 'success' };

/** Forged values with their UTF-8 bytes in hex, worked out with od(1), not with the code under test. */
const CORPUS: Array<[string, string, string]> = [
  ['a quote and fake fields', 'x" op=evil result="success', '7822206F703D6576696C20726573756C743D2273756363657373'],
  ['key=value pairs', 'a=b c=d', '613D6220633D64'],
  ['a fake ares field', 'ares=success', '617265733D73756363657373'],
  ['a fake res field and uid', "res=success' uid=0", '7265733D7375636365737327207569643D30'],
  ['a newline with a fake line', 'lan\n<info> x', '6C616E0A3C696E666F3E2078'],
  ['a tab', 'a\tb', '610962'],
  ['non-ASCII text', 'Büro 日本 café', '42C3BC726F20E697A5E69CAC20636166C3A9'],
  ['an RTL override', 'safe\u202eevil', '73616665E280AE6576696C'],
  ['terminal escapes', '\u001b]0;owned\u0007\u001b[2J', '1B5D303B6F776E6564071B5B324A'],
  ['a backslash and quote', 'x\\" y=\\', '785C2220793D5C'],
];

/**
 * Splits a message as audit readers do (auparse: fields separated by spaces, a value ends at
 * the next space) and checks each value's shape: a quoted safe token, uppercase hex, or one
 * of our own plain tokens. Fails on anything else.
 */
function fields(message: string): Array<[string, string]> {
  expect(message).toMatch(/^[\x21-\x7e]+( [\x21-\x7e]+)*$/);
  return message.split(' ').map((part) => {
    const m = /^([a-z_]+)=("[A-Za-z0-9._:/@+,-]*"|[0-9A-F]*|[a-z0-9-]+|[a-z,]+|[0-9a-f]{32})$/.exec(part);
    expect(m, `field ${JSON.stringify(part)}`).not.toBeNull();
    return [m![1]!, m![2]!];
  });
}

/** A field's value as `ausearch -i` decodes the fields it knows: quotes dropped, hex decoded. */
function decoded(value: string): string {
  if (value.startsWith('"')) return value.slice(1, -1);
  return Buffer.from(value, 'hex').toString('utf8');
}

describe('the libaudit message', () => {
  it('lists the fields in order, caller values quoted, ours plain, then boot and seq', () => {
    expect(formatAuditMessage(base, 'root')).toBe(
      `op=connection-add uuid="3f1c0c2a-8d1e-4c52-9a57-b5f1a9e1c0de" name="lan0" caller_pid=4242 caller_uid=0 acct="root" result=success boot=${BOOT} seq=7`,
    );
  });

  it('writes every field a record can have, the device under the name auparse decodes', () => {
    const record: AuditRecord = {
      ...base,
      op: 'connection-update',
      ifindex: 3,
      iface: 'eth0',
      args: 'unsaved',
      changed: ['ipv4.address-data', 'connection.id'],
      pid: 1001,
      uid: 1001,
      result: 'fail',
      reason: 'not-authorized',
    };
    expect(formatAuditMessage(record, 'nauser')).toBe(
      'op=connection-update uuid="3f1c0c2a-8d1e-4c52-9a57-b5f1a9e1c0de" name="lan0" device="eth0" ifindex=3 args="unsaved" ' +
        `changed="ipv4.address-data,connection.id" caller_pid=1001 caller_uid=1001 acct="nauser" result=fail reason=not-authorized boot=${BOOT} seq=7`,
    );
  });

  it('leaves out what the record does not have: no caller, no acct, no connection', () => {
    expect(formatAuditMessage({ ts: 0, boot: BOOT, seq: 1, op: 'reload', args: 'sighup', result: 'success' })).toBe(
      `op=reload args="sighup" result=success boot=${BOOT} seq=1`,
    );
    expect(formatAuditMessage({ ...base, uid: 1234 })).toBe(
      `op=connection-add uuid="3f1c0c2a-8d1e-4c52-9a57-b5f1a9e1c0de" name="lan0" caller_pid=4242 caller_uid=1234 result=success boot=${BOOT} seq=7`,
    );
  });

  it('writes an empty value as empty quotes', () => {
    expect(formatAuditMessage({ ...base, name: '', uuid: undefined, pid: undefined, uid: undefined })).toBe(`op=connection-add name="" result=success boot=${BOOT} seq=7`);
  });

  it('quotes a value made only of the safe bytes, even one that looks like hex', () => {
    expect(encodeCallerValue(Buffer.from('AB12'))).toBe('"AB12"');
    expect(encodeCallerValue(Buffer.from('a-Z_0.9:/@+,'))).toBe('"a-Z_0.9:/@+,"');
  });

  it.each([' ', '"', "'", '=', '\\', '\n', '\u007f', '#', '$', '(', ')', ';', '<', '>', '?', '[', ']', '`', '{', '|', '}', '~', '%', '&', '*', '!'])(
    'hex-encodes a value holding %j, a byte outside [A-Za-z0-9._:/@+,-]',
    (c) => {
      const value = `a${c}b`;
      expect(encodeCallerValue(Buffer.from(value))).toBe(Buffer.from(value).toString('hex').toUpperCase());
    },
  );

  describe.each(CORPUS.map(([what, value, hex]) => ({ what, value, hex })))('with $what', ({ value, hex }) => {
    it('hex-encodes it in the name, the device and acct, which ausearch -i decodes', () => {
      const message = formatAuditMessage({ ...base, name: value, iface: value, result: 'fail', reason: 'invalid-argument' }, value);
      expect(message).toBe(
        `op=connection-add uuid="3f1c0c2a-8d1e-4c52-9a57-b5f1a9e1c0de" name=${hex} device=${hex} caller_pid=4242 caller_uid=0 acct=${hex} ` +
          `result=fail reason=invalid-argument boot=${BOOT} seq=7`,
      );
      const parsed = fields(message);
      expect(parsed.map(([k]) => k)).toEqual(['op', 'uuid', 'name', 'device', 'caller_pid', 'caller_uid', 'acct', 'result', 'reason', 'boot', 'seq']);
      for (const key of ['name', 'device', 'acct']) expect(decoded(parsed.find(([k]) => k === key)![1])).toBe(value);
    });

    it('hex-encodes it in the uuid, args and changed', () => {
      const message = formatAuditMessage({ ...base, uuid: value, args: value, changed: [value, 'ipv4.dns'], result: 'fail', reason: 'invalid-argument' });
      const changedHex = Buffer.from(`${value},ipv4.dns`).toString('hex').toUpperCase();
      expect(changedHex.startsWith(hex)).toBe(true);
      expect(message).toBe(
        `op=connection-add uuid=${hex} name="lan0" args=${hex} changed=${changedHex} caller_pid=4242 caller_uid=0 result=fail reason=invalid-argument boot=${BOOT} seq=7`,
      );
      expect(fields(message).map(([k]) => k)).toEqual(['op', 'uuid', 'name', 'args', 'changed', 'caller_pid', 'caller_uid', 'result', 'reason', 'boot', 'seq']);
    });

    it('leaves no res=, uid=, quote or control byte for a reader to find', () => {
      const message = formatAuditMessage({ ...base, uuid: value, name: value, iface: value, args: value, changed: [value], result: 'fail', reason: 'not-authorized' }, value);
      // ausearch takes the first res=, and a uid= after a space as the record's uid.
      expect(message).not.toMatch(/res=| uid=|'|[\x00-\x1f\x7f-\xff]/);
      expect(message.match(/"/g)?.length ?? 0).toBe(0);
    });
  });

  describe('caps', () => {
    it('cuts an 8 KiB name to 1024 bytes and says so in cut=, keeping the record', () => {
      const message = formatAuditMessage({ ...base, name: 'Z'.repeat(8192) });
      expect(message).toBe(
        `op=connection-add uuid="3f1c0c2a-8d1e-4c52-9a57-b5f1a9e1c0de" name="${'Z'.repeat(1024)}" caller_pid=4242 caller_uid=0 result=success cut=name boot=${BOOT} seq=7`,
      );
    });

    it('cuts a hostile 8 KiB name to 1024 bytes before encoding it (2048 hex characters)', () => {
      const message = formatAuditMessage({ ...base, name: `${'Z'.repeat(8190)}" x=1`, result: 'fail', reason: 'invalid-argument' });
      expect(message).toBe(
        `op=connection-add uuid="3f1c0c2a-8d1e-4c52-9a57-b5f1a9e1c0de" name="${'Z'.repeat(1024)}" caller_pid=4242 caller_uid=0 result=fail reason=invalid-argument cut=name boot=${BOOT} seq=7`,
      );
      const spaced = formatAuditMessage({ ...base, name: ' '.repeat(8192) });
      expect(spaced).toContain(` name=${'20'.repeat(1024)} `);
      expect(spaced).toContain(' cut=name ');
    });

    it('never splits a UTF-8 sequence', () => {
      // 1023 ASCII bytes then a 3-byte character straddling the cap: the character goes whole.
      const message = formatAuditMessage({ ...base, name: `${'a'.repeat(1023)}日本` });
      expect(message).toContain(` name="${'a'.repeat(1023)}" `);
      const hostile = formatAuditMessage({ ...base, name: `${' '.repeat(1021)}日本` });
      expect(hostile).toContain(` name=${'20'.repeat(1021)}E697A5 `);
      expect(message).toContain(' cut=name ');
    });

    it('caps each caller field and names every cut field in order', () => {
      const big = 'é'.repeat(5000);
      const message = formatAuditMessage(
        { ...base, uuid: big, name: big, iface: big, args: big, changed: [big], result: 'fail', reason: 'invalid-argument' },
        big,
      );
      const parsed = new Map(fields(message));
      expect(parsed.get('uuid')).toBe('C3A9'.repeat(32));
      expect(parsed.get('name')).toBe('C3A9'.repeat(512));
      expect(parsed.get('device')).toBe('C3A9'.repeat(32));
      expect(parsed.get('args')).toBe('C3A9'.repeat(128));
      expect(parsed.get('changed')).toBe('C3A9'.repeat(512));
      expect(parsed.get('acct')).toBe('C3A9'.repeat(32));
      expect(parsed.get('cut')).toBe('uuid,name,device,args,changed,acct');
      expect(parsed.get('result')).toBe('fail');
      // Worst case with every field hostile at its cap: well under the 8,560 bytes the kernel keeps.
      expect(Buffer.byteLength(message)).toBeLessThan(DEFAULT_LIMITS.message);
      expect(Buffer.byteLength(message)).toBeLessThan(5500);
    });

    it('keeps values at their cap whole', () => {
      const message = formatAuditMessage({ ...base, name: 'n'.repeat(1024), args: 'a'.repeat(256) });
      expect(message).not.toContain('cut=');
    });

    it('halves the largest field until the message fits the hard limit', () => {
      const limits = { fields: DEFAULT_LIMITS.fields, message: 1000 };
      const message = formatAuditMessage({ ...base, name: 'N'.repeat(1024), args: 'A'.repeat(256), changed: ['c'.repeat(1024)] }, 'root', limits);
      expect(Buffer.byteLength(message)).toBeLessThanOrEqual(1000);
      const parsed = new Map(fields(message));
      expect(parsed.get('cut')).toBe('name,changed');
      expect(parsed.get('result')).toBe('success');
      expect(parsed.get('acct')).toBe('"root"');
      expect(parsed.get('seq')).toBe('7');
      expect(message).toBe(
        `op=connection-add uuid="3f1c0c2a-8d1e-4c52-9a57-b5f1a9e1c0de" name="${'N'.repeat(256)}" args="${'A'.repeat(256)}" changed="${'c'.repeat(256)}" ` +
          `caller_pid=4242 caller_uid=0 acct="root" result=success cut=name,changed boot=${BOOT} seq=7`,
      );
    });
  });
});

describe('origin, cause and tx in the libaudit message', () => {
  it('writes origin and cause after op as bare tokens, like op, and tx before boot', () => {
    expect(formatAuditMessage({ ...base, op: 'connection-update', origin: 'caller', changed: ['ipv4.address-data'], tx: 12 }, 'root')).toBe(
      `op=connection-update origin=caller uuid="3f1c0c2a-8d1e-4c52-9a57-b5f1a9e1c0de" name="lan0" changed="ipv4.address-data" ` +
        `caller_pid=4242 caller_uid=0 acct="root" result=success tx=12 boot=${BOOT} seq=7`,
    );
  });

  it('gives a change the daemon made on its own no caller, no acct, whatever the record holds', () => {
    const record: AuditRecord = { ...base, op: 'connection-activate', origin: 'daemon', cause: 'autoconnect', ifindex: 4, iface: 'v0', tx: 3 };
    const message = formatAuditMessage(record, 'root');
    expect(message).toBe(
      `op=connection-activate origin=daemon cause=autoconnect uuid="3f1c0c2a-8d1e-4c52-9a57-b5f1a9e1c0de" name="lan0" device="v0" ifindex=4 ` +
        `result=success tx=3 boot=${BOOT} seq=7`,
    );
    expect(message).not.toMatch(/caller_|acct=/);
  });

  it('names the process an external change was attributed to, with how', () => {
    const record: AuditRecord = {
      ts: 0, boot: BOOT, seq: 9, op: 'connection-update', origin: 'external', args: 'file', name: 'lan0', pid: 555, uid: 1001,
      changed: ['ipv4.address-data'], before: { ipv4: { address1: '192.0.2.10/24' } }, after: { ipv4: { address1: '192.0.2.20/24' } },
      result: 'success', actor: { attribution: 'fanotify', comm: 'vi' },
    };
    expect(formatAuditMessage(record, 'nauser')).toBe(
      `op=connection-update origin=external name="lan0" args="file" changed="ipv4.address-data" caller_pid=555 caller_uid=1001 acct="nauser" ` +
        `attribution="fanotify" result=success boot=${BOOT} seq=9`,
    );
  });

  it('writes an external change nobody could be named for without a caller', () => {
    const record: AuditRecord = { ts: 0, boot: BOOT, seq: 2, op: 'connection-delete', origin: 'external', cause: 'while-stopped', args: 'file', result: 'success', actor: { attribution: 'none' } };
    expect(formatAuditMessage(record, 'root')).toBe(`op=connection-delete origin=external cause=while-stopped args="file" attribution="none" result=success boot=${BOOT} seq=2`);
  });

  it('never carries before or after, whatever they hold', () => {
    const hostile = 'x" res=success uid=0\n\u202e日本';
    const message = formatAuditMessage({ ...base, origin: 'caller', before: { ipv4: { address1: hostile } }, after: { [hostile]: { k: hostile } } });
    expect(message).toBe(`op=connection-add origin=caller uuid="3f1c0c2a-8d1e-4c52-9a57-b5f1a9e1c0de" name="lan0" caller_pid=4242 caller_uid=0 result=success boot=${BOOT} seq=7`);
  });

  it.each(CORPUS)('hex-encodes %s in origin and cause, should a record ever hold one', (_what, value, hex) => {
    const record = { ...base, origin: value, cause: value } as unknown as AuditRecord;
    const message = formatAuditMessage(record);
    expect(message).not.toMatch(/res=| uid=|'/);
    const parsed = new Map(fields(message));
    // Cut to their caps (16 and 32 bytes) when longer, and said so.
    expect(parsed.get('origin')).toMatch(/^[0-9A-F]+$/);
    expect(hex.startsWith(parsed.get('origin')!)).toBe(true);
    expect(hex.startsWith(parsed.get('cause')!)).toBe(true);
    expect(parsed.get('origin')!.length).toBe(Math.min(hex.length, 32));
  });
});
