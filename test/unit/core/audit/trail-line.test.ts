// Trail line: exact bytes of a record on the trail, its hash, and the parser
// that refuses anything the daemon would not have written.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NetauditError } from '../../../../src/core/errors.js';
import type { AuditRecord } from '../../../../src/core/audit/record.js';
import { formatTrailLine, lineHashOk, parseTrailLine, ZERO_HASH } from '../../../../src/core/audit/trail/trail-line.js';

const TS = Date.UTC(2026, 10, 22, 18, 30, 0, 123);
const PREV = 'ab'.repeat(32);

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return { ts: TS, boot: 'b1', seq: 1, op: 'connection-add', result: 'success', ...overrides };
}

function sha256(text: string): string {
  return createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex');
}

/** The line as docs/record-format.md defines it, built from the JSON text without the hash key. */
function expectedLine(body: string): string {
  return `${body.slice(0, -1)},"hash":"${sha256(body)}"}\n`;
}

describe('formatTrailLine', () => {
  it('writes every field under its trail name, in trail order, with the hash last', () => {
    const { line, hash } = formatTrailLine(
      record({
        seq: 7,
        op: 'connection-update',
        uuid: '5f1c3a9e-7c59-4c47-9f0e-3b1f3f8a2d10',
        name: 'office',
        ifindex: 3,
        iface: 'eth0',
        args: 'save',
        changed: ['ipv4.address-data', 'connection.id'],
        pid: 1234,
        uid: 0,
        result: 'fail',
        reason: 'not-authorized',
        actor: { busName: ':1.42', exe: '/usr/bin/busctl' },
        tx: 9,
      }),
      PREV,
    );
    const body =
      '{"ts":"2026-11-22T18:30:00.123Z","boot":"b1","seq":7,"op":"connection-update",' +
      '"uuid":"5f1c3a9e-7c59-4c47-9f0e-3b1f3f8a2d10","name":"office","ifindex":3,"iface":"eth0","args":"save",' +
      '"changed":"ipv4.address-data,connection.id","pid":1234,"uid":0,"result":"fail","reason":"not-authorized",' +
      `"actor":{"bus_name":":1.42","exe":"/usr/bin/busctl"},"tx":9,"prev":"${PREV}"}`;
    expect(line).toBe(expectedLine(body));
    expect(hash).toBe(sha256(body));
  });

  it('omits absent fields, and the actor when it has neither bus name nor executable', () => {
    expect(formatTrailLine(record({ actor: {} }), PREV).line).toBe(
      expectedLine(`{"ts":"2026-11-22T18:30:00.123Z","boot":"b1","seq":1,"op":"connection-add","result":"success","prev":"${PREV}"}`),
    );
  });

  it('omits the actor key that is absent and keeps the other', () => {
    const { line } = formatTrailLine(record({ actor: { busName: ':1.7' } }), PREV);
    expect(line).toContain('"result":"success","actor":{"bus_name":":1.7"},"prev":');
  });

  it('chains the first record of a trail onto 64 zeros', () => {
    expect(ZERO_HASH).toBe('0000000000000000000000000000000000000000000000000000000000000000');
    expect(parseTrailLine(formatTrailLine(record(), ZERO_HASH).line).prev).toBe(ZERO_HASH);
  });

  it('uses the UTC date and time with milliseconds, whatever the local time zone', () => {
    const { line } = formatTrailLine(record({ ts: Date.UTC(2026, 0, 1, 0, 0, 0, 5) }), PREV);
    expect(line.startsWith('{"ts":"2026-01-01T00:00:00.005Z",')).toBe(true);
  });

  it('hashes exactly the line without its hash key, as an independent SHA-256 finds', () => {
    const { line, hash } = formatTrailLine(record({ name: 'é ✓ 𝄞' }), PREV);
    const withoutHash = line.replace(/,"hash":"[0-9a-f]{64}"\}\n$/, '}');
    expect(hash).toBe(createHash('sha256').update(Buffer.from(withoutHash, 'utf8')).digest('hex'));
    expect(JSON.parse(line).hash).toBe(hash);
  });

  it('keeps hostile values inside their field and the record on one line', () => {
    const hostile = 'a"b\nc","hash":"x\u0000\u202e\ud800z';
    const { line } = formatTrailLine(record({ name: hostile }), PREV);
    // JSON escapes the quote, newline, NUL and the lone surrogate; the trail escapes U+202E too.
    expect(line).toBe(
      expectedLine(
        '{"ts":"2026-11-22T18:30:00.123Z","boot":"b1","seq":1,"op":"connection-add",' +
          '"name":"a\\"b\\nc\\",\\"hash\\":\\"x\\u0000\\u202e\\ud800z",' +
          `"result":"success","prev":"${PREV}"}`,
      ),
    );
  });

  it.each([
    ['a quote', 'x"y'],
    ['a newline and a carriage return', 'x\ny\rz'],
    ['a forged hash key', '","hash":"' + '0'.repeat(64)],
    ['a NUL byte', 'x\u0000y'],
    ['a right-to-left override', '\u202eevil'],
    ['lone surrogates', '\ud800x\udc00'],
    ['8 KiB', 'x'.repeat(8192)],
  ])('keeps %s in every text field, round trip exact', (_what, hostile) => {
    const input = record({
      uuid: hostile,
      name: hostile,
      iface: hostile,
      args: hostile,
      changed: [hostile, 'connection.id'],
      actor: { busName: hostile, exe: hostile },
    });
    const { line, hash } = formatTrailLine(input, PREV);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(lineHashOk(line)).toBe(true);
    const entry = parseTrailLine(line);
    expect(Object.keys(entry)).toEqual(['ts', 'boot', 'seq', 'op', 'uuid', 'name', 'iface', 'args', 'changed', 'result', 'actor', 'prev', 'hash']);
    expect(entry).toMatchObject({ uuid: hostile, name: hostile, iface: hostile, args: hostile, changed: `${hostile},connection.id` });
    expect(entry.actor).toEqual({ bus_name: hostile, exe: hostile });
    expect(entry.hash).toBe(hash);
  });
});

describe('lineHashOk', () => {
  const { line } = formatTrailLine(record({ name: 'office' }), PREV);

  it('accepts a line with or without its newline', () => {
    expect(lineHashOk(line)).toBe(true);
    expect(lineHashOk(line.slice(0, -1))).toBe(true);
  });

  it('rejects a line with one changed byte', () => {
    expect(lineHashOk(line.replace('"office"', '"offica"'))).toBe(false);
  });

  it('rejects a line whose hash was changed', () => {
    expect(lineHashOk(line.replace(/"hash":"(.)/, (_m, c: string) => `"hash":"${c === '0' ? '1' : '0'}`))).toBe(false);
  });

  it('rejects a line without a hash, or with an upper-case one', () => {
    expect(lineHashOk(line.replace(/,"hash":"[0-9a-f]{64}"/, ''))).toBe(false);
    expect(lineHashOk(line.replace(/"hash":"([0-9a-f]{64})"/, (_m, h: string) => `"hash":"${h.toUpperCase()}"`))).toBe(false);
    expect(lineHashOk('')).toBe(false);
  });
});

describe('parseTrailLine', () => {
  const { line, hash } = formatTrailLine(record({ pid: 42, actor: { busName: ':1.42' }, tx: 3 }), PREV);

  it('returns the fields of a line as written', () => {
    expect(parseTrailLine(line)).toEqual({
      ts: '2026-11-22T18:30:00.123Z',
      boot: 'b1',
      seq: 1,
      op: 'connection-add',
      pid: 42,
      result: 'success',
      actor: { bus_name: ':1.42' },
      tx: 3,
      prev: PREV,
      hash,
    });
  });

  function reject(text: string, message: string): void {
    let error: unknown;
    try {
      parseTrailLine(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NetauditError);
    expect((error as NetauditError).message).toBe(`not a trail record: ${message}`);
  }

  const body = `"ts":"2026-11-22T18:30:00.123Z","boot":"b1","seq":1,"op":"connection-add","result":"success","prev":"${PREV}","hash":"${PREV}"`;

  it('refuses text that is not JSON, or not an object', () => {
    reject('{"ts":', 'not valid JSON');
    reject('', 'not valid JSON');
    reject('[1]', 'not a JSON object');
    reject('null', 'not a JSON object');
  });

  it('refuses an unknown key, even __proto__', () => {
    reject(`{${body.replace('"result"', '"color":"red","result"')}}`, 'unknown key "color"');
    reject(`{"__proto__":{},${body}}`, 'unknown key "__proto__"');
  });

  it('refuses keys out of trail order', () => {
    reject(`{"boot":"b1","ts":"2026-11-22T18:30:00.123Z"}`, 'key "ts" is out of order');
  });

  it('refuses a record without a required key', () => {
    reject(`{${body.replace('"boot":"b1",', '')}}`, 'key "boot" is missing');
    reject(`{${body.replace(`,"hash":"${PREV}"`, '')}}`, 'key "hash" is missing');
  });

  it.each([
    ['"seq":1', '"seq":0', '"seq" has an invalid value 0'],
    ['"seq":1', '"seq":1.5', '"seq" has an invalid value 1.5'],
    ['"seq":1', '"seq":"1"', '"seq" has an invalid value "1"'],
    ['"result":"success"', '"result":"maybe"', '"result" has an invalid value "maybe"'],
    ['"boot":"b1"', '"boot":null', '"boot" has an invalid value null'],
    ['.123Z', 'Z', '"ts" has an invalid value "2026-11-22T18:30:00Z"'],
    ['2026-11-22', '2026-02-30', '"ts" has an invalid value "2026-02-30T18:30:00.123Z"'],
    [`"prev":"${PREV}"`, `"prev":"${PREV.toUpperCase()}"`, `"prev" has an invalid value "${PREV.toUpperCase()}"`],
    ['"result"', '"actor":{"exe":"/x"},"result"', 'key "result" is out of order'],
    ['"prev"', '"actor":{},"prev"', '"actor" has an invalid value {}'],
    ['"prev"', '"actor":{"exe":"/x","bus_name":":1.1"},"prev"', '"actor" has an invalid value {"exe":"/x","bus_name":":1.1"}'],
    ['"prev"', '"actor":{"uid":0},"prev"', '"actor" has an invalid value {"uid":0}'],
  ])('refuses a value of the wrong form (%s → %s)', (from, to, message) => {
    reject(`{${body.replace(from, to)}}`, message);
  });

  it('refuses another spelling of the same JSON: whitespace, escapes, a repeated key', () => {
    const why = 'not in the form the daemon writes (whitespace, escapes or a repeated key)';
    reject(line.replace('"boot":"b1"', '"boot": "b1"'), why);
    reject(line.replace('"boot":"b1"', '"boot":"\\u0062\\u0031"'), why);
    reject(line.replace('"boot":"b1"', '"boot":"x","boot":"b1"'), why);
  });

  it('refuses two records on one line', () => {
    reject(line + line, 'not valid JSON');
  });
});

describe('characters that split or reorder a line for its readers', () => {
  it('are written as \\u escapes, and the line parses back to the value', () => {
    const name = 'a\u2028b\u2029c\u0085d\u202ee\u2066f\u007fg\ufeffh\u200fi 日本 café';
    const { line } = formatTrailLine({ ts: 0, boot: 'b', seq: 1, op: 'connection-add', name, result: 'success' }, ZERO_HASH);
    expect(line).not.toMatch(/[\u007f-\u009f\u2028\u2029\u202e\u2066\ufeff\u200f]/);
    expect(line).toContain('a\\u2028b\\u2029c\\u0085d\\u202ee\\u2066f\\u007fg\\ufeffh\\u200fi 日本 café');
    expect(line.split(/\r\n|[\n\r\u2028\u2029\u0085\v\f\u001c-\u001e]/)).toEqual([line.slice(0, -1), '']);
    expect(parseTrailLine(line).name).toBe(name);
    expect(lineHashOk(line)).toBe(true);
  });

  it('make a raw one a line not in the daemon\'s form', () => {
    const { line } = formatTrailLine({ ts: 0, boot: 'b', seq: 1, op: 'connection-add', name: 'a\u2028b', result: 'success' }, ZERO_HASH);
    expect(() => parseTrailLine(line.replace('\\u2028', '\u2028'))).toThrow(/not in the form the daemon writes/);
  });
});

describe('origin, cause, before, after and the actor of every origin on the trail', () => {
  it('writes each new key in trail order, before and after as JSON objects', () => {
    const { line, hash } = formatTrailLine(
      record({
        seq: 8,
        op: 'connection-update',
        origin: 'caller',
        uuid: 'u1',
        name: 'office',
        changed: ['ipv4.address-data', '802-11-wireless-security.psk'],
        before: { ipv4: { address1: '192.0.2.10/24' } },
        after: { ipv4: { address1: '192.0.2.20/24', gateway: '192.0.2.1' } },
        pid: 1234,
        uid: 0,
        actor: { busName: ':1.42', exe: '/usr/bin/busctl', auth: 'uid0' },
        tx: 9,
      }),
      PREV,
    );
    const body =
      '{"ts":"2026-11-22T18:30:00.123Z","boot":"b1","seq":8,"op":"connection-update","origin":"caller","uuid":"u1","name":"office",' +
      '"changed":"ipv4.address-data,802-11-wireless-security.psk",' +
      '"before":{"ipv4":{"address1":"192.0.2.10/24"}},"after":{"ipv4":{"address1":"192.0.2.20/24","gateway":"192.0.2.1"}},' +
      '"pid":1234,"uid":0,"result":"success","actor":{"bus_name":":1.42","exe":"/usr/bin/busctl","auth":"uid0"},' +
      `"tx":9,"prev":"${PREV}"}`;
    expect(line).toBe(expectedLine(body));
    expect(hash).toBe(sha256(body));
    expect(parseTrailLine(line)).toMatchObject({ origin: 'caller', before: { ipv4: { address1: '192.0.2.10/24' } } });
  });

  it('writes a daemon change with its cause and no caller', () => {
    const { line } = formatTrailLine(record({ op: 'connection-activate', origin: 'daemon', cause: 'autoconnect', ifindex: 4, iface: 'v0', tx: 2 }), PREV);
    expect(line).toBe(
      expectedLine(
        '{"ts":"2026-11-22T18:30:00.123Z","boot":"b1","seq":1,"op":"connection-activate","origin":"daemon","cause":"autoconnect",' +
          `"ifindex":4,"iface":"v0","result":"success","tx":2,"prev":"${PREV}"}`,
      ),
    );
  });

  it("writes an external change's actor keys in their order", () => {
    const { line } = formatTrailLine(
      record({
        op: 'connection-update',
        origin: 'external',
        args: 'file',
        pid: 77,
        uid: 1001,
        actor: { file: 'lan.nmconnection', portid: 0, ses: 3, auid: 1001, comm: 'vi', attribution: 'fanotify', exe: '/usr/bin/vim.basic' },
      }),
      PREV,
    );
    expect(line).toContain(
      '"actor":{"exe":"/usr/bin/vim.basic","attribution":"fanotify","comm":"vi","auid":1001,"ses":3,"portid":0,"file":"lan.nmconnection"},"prev"',
    );
    expect(parseTrailLine(line).actor).toEqual({ exe: '/usr/bin/vim.basic', attribution: 'fanotify', comm: 'vi', auid: 1001, ses: 3, portid: 0, file: 'lan.nmconnection' });
  });

  it('keeps hostile text in before and after inside its value, written with the same line-safe escapes, never cut', () => {
    const hostile = 'a"b=c\nd\r\u0000e\u001b[2J\u2028f\u202eg\u0085h 日本 café';
    const long = 'x'.repeat(10_000);
    const { line } = formatTrailLine(record({ before: { [hostile]: { k: hostile } }, after: { ipv4: { address1: long } } }), PREV);
    expect(line).toBe(
      expectedLine(
        '{"ts":"2026-11-22T18:30:00.123Z","boot":"b1","seq":1,"op":"connection-add",' +
          '"before":{"a\\"b=c\\nd\\r\\u0000e\\u001b[2J\\u2028f\\u202eg\\u0085h 日本 café":{"k":"a\\"b=c\\nd\\r\\u0000e\\u001b[2J\\u2028f\\u202eg\\u0085h 日本 café"}},' +
          `"after":{"ipv4":{"address1":"${long}"}},"result":"success","prev":"${PREV}"}`,
      ),
    );
    expect(line.split(/\r\n|[\n\r\u2028\u2029\u0085\v\f\u001c-\u001e]/)).toEqual([line.slice(0, -1), '']);
    const entry = parseTrailLine(line);
    expect(entry.before).toEqual({ [hostile]: { k: hostile } });
    expect(entry.after).toEqual({ ipv4: { address1: long } });
    expect(lineHashOk(line)).toBe(true);
  });

  it('reads a line written before these keys existed, and its hash checks', () => {
    const body =
      '{"ts":"2026-11-22T18:30:00.123Z","boot":"b1","seq":7,"op":"connection-update","uuid":"u","name":"office",' +
      `"changed":"connection.id","pid":1234,"uid":0,"result":"success","actor":{"bus_name":":1.42","exe":"/usr/bin/busctl"},"tx":9,"prev":"${PREV}"}`;
    const line = expectedLine(body);
    expect(lineHashOk(line)).toBe(true);
    const entry = parseTrailLine(line);
    expect(entry.origin).toBeUndefined();
    expect(entry.actor).toEqual({ bus_name: ':1.42', exe: '/usr/bin/busctl' });
  });

  function rejects(line: string, message: string): void {
    expect(() => parseTrailLine(line)).toThrow(`not a trail record: ${message}`);
  }

  const body = `"ts":"2026-11-22T18:30:00.123Z","boot":"b1","seq":1,"op":"connection-add","result":"success","prev":"${PREV}","hash":"${PREV}"`;

  it.each([
    ['"op":"connection-add"', '"op":"connection-add","before":"x"', '"before" has an invalid value "x"'],
    ['"op":"connection-add"', '"op":"connection-add","after":[1]', '"after" has an invalid value [1]'],
    ['"op":"connection-add"', '"op":"connection-add","after":null', '"after" has an invalid value null'],
    ['"op":"connection-add"', '"op":"connection-add","origin":7', '"origin" has an invalid value 7'],
    ['"op":"connection-add"', '"origin":"caller","op":"connection-add"', 'key "op" is out of order'],
    ['"op":"connection-add"', '"op":"connection-add","after":{},"before":{}', 'key "before" is out of order'],
    ['"prev"', '"actor":{"auth":"uid0","exe":"/x"},"prev"', '"actor" has an invalid value {"auth":"uid0","exe":"/x"}'],
    ['"prev"', '"actor":{"auid":-1},"prev"', '"actor" has an invalid value {"auid":-1}'],
    ['"prev"', '"actor":{"comm":3},"prev"', '"actor" has an invalid value {"comm":3}'],
  ])('refuses a new key of the wrong form (%s → %s)', (from, to, message) => {
    rejects(`{${body.replace(from, to)}}`, message);
  });

  it('refuses another spelling of before: whitespace or a repeated key', () => {
    const { line } = formatTrailLine(record({ before: { ipv4: { address1: 'a' } } }), PREV);
    const why = 'not in the form the daemon writes (whitespace, escapes or a repeated key)';
    rejects(line.replace('{"ipv4":{', '{"ipv4": {'), why);
    rejects(line.replace('{"ipv4":{"address1":"a"}}', '{"ipv4":{"address1":"b","address1":"a"}}'), why);
  });
});
