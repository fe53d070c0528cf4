// render: tables, multiline, terse, -g and JSON lines, field selection, and
// escaping of hostile values in every mode.
import { describe, expect, it } from 'vitest';
import { escapeControls, escapeTerse, safeJson } from '../../../src/cli/format/escape.js';
import { resolveColor } from '../../../src/cli/format/color.js';
import { render, type Cell, type Column, type OutputOptions } from '../../../src/cli/format/render.js';
import { UsageError } from '../../../src/cli/exit-codes.js';

const base: OutputOptions = { mode: 'tabular', modeGiven: false, terse: false, fields: null, getValues: false, escape: true, color: false, json: false, pretty: false };
const columns: Column[] = [{ name: 'NAME' }, { name: 'N' }, { name: 'ON' }, { name: 'LIST' }, { name: 'EXTRA', default: false }];
const rows: Record<string, Cell>[] = [
  { NAME: 'lan0', N: 1500, ON: true, LIST: ['a', 'b'], EXTRA: 'x' },
  { NAME: 'a:b\\c\x1b[2J\nfake:row\u202e', N: 7, ON: false, LIST: [], EXTRA: null },
];

function out(options: Partial<OutputOptions>, cols: Column[] = columns, data = rows): string {
  let text = '';
  render(cols, data, { ...base, ...options }, { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream);
  return text;
}

describe('render', () => {
  it('aligns a table with a header, "--" for what is missing, controls escaped', () => {
    expect(out({})).toBe(
      `${'NAME'.padEnd(28)}  N     ON   LIST\n` +
      `${'lan0'.padEnd(28)}  1500  yes  a, b\n` +
      'a:b\\c\\x1b[2J\\nfake:row\\u202e  7     no   --\n',
    );
  });

  it('joins terse fields with ":", escaping ":" and "\\" (not with -e no), never raw controls', () => {
    expect(out({ terse: true })).toBe('lan0:1500:yes:a,b\na\\:b\\\\c\\x1b[2J\\nfake\\:row\\u202e:7:no:\n');
    expect(out({ terse: true, escape: false, fields: ['NAME'] })).toBe('lan0\na:b\\c\\x1b[2J\\nfake:row\\u202e\n');
  });

  it('prints JSON lines with typed values and lower-case keys, in -f order', () => {
    expect(out({ json: true, fields: ['on', 'NAME', 'extra'] })).toBe(
      '{"on":true,"name":"lan0","extra":"x"}\n{"on":false,"name":"a:b\\\\c\\u001b[2J\\nfake:row\\u202e","extra":null}\n',
    );
  });

  it('prints multiline FIELD: value lines, lists as FIELD[n], and -g values only', () => {
    expect(out({ mode: 'multiline', fields: ['NAME', 'LIST'] }, columns, [rows[0]!])).toBe('NAME:       lan0\nLIST[1]:    a\nLIST[2]:    b\n');
    expect(out({ mode: 'multiline', terse: true, fields: ['N', 'LIST'] }, columns, [rows[0]!])).toBe('N:1500\nLIST[1]:a\nLIST[2]:b\n');
    expect(out({ mode: 'multiline', getValues: true, terse: true, fields: ['N', 'LIST'] }, columns, [rows[0]!])).toBe('1500\na,b\n');
  });

  it('takes all and common, and refuses an unknown field naming the valid ones', () => {
    expect(out({ terse: true, fields: ['all'] }, columns, [rows[0]!])).toBe('lan0:1500:yes:a,b:x\n');
    expect(() => out({ fields: ['NAME', 'bogus'] })).toThrow(UsageError);
    expect(() => out({ fields: ['bogus'] })).toThrow('invalid field "bogus"; allowed fields: NAME,N,ON,LIST,EXTRA');
  });

  it('colors cells only when asked', () => {
    const colored: Column[] = [{ name: 'S', colorOf: (v) => (v === 'up' ? 'green' : null) }];
    expect(out({ color: true }, colored, [{ S: 'up' }])).toBe('S\n\x1b[32mup\x1b[0m\n');
    expect(out({}, colored, [{ S: 'up' }])).toBe('S\nup\n');
  });
});

describe('escaping and colors', () => {
  it('escapes C0, DEL, C1, line separators and bidi controls', () => {
    expect(escapeControls('\x00\t\x7f\x85\u2028\u2029\u202a\u2066\u2069ok')).toBe('\\x00\\t\\x7f\\x85\\u2028\\u2029\\u202a\\u2066\\u2069ok');
    expect(escapeTerse('a:b\\c,d', ',')).toBe('a\\:b\\\\c\\,d');
    expect(safeJson({ a: '\x7f\u2028' })).toBe('{"a":"\\u007f\\u2028"}');
    expect(JSON.parse(safeJson({ a: '\x7f\u2028\u202e' })).a).toBe('\x7f\u2028\u202e');
  });

  it('resolves -c auto from the terminal and NO_COLOR (set and non-empty disables)', () => {
    expect(resolveColor('auto', {}, true)).toBe(true);
    expect(resolveColor('auto', { NO_COLOR: '1' }, true)).toBe(false);
    expect(resolveColor('auto', { NO_COLOR: '' }, true)).toBe(true);
    expect(resolveColor('auto', {}, false)).toBe(false);
    expect(resolveColor('yes', { NO_COLOR: '1' }, false)).toBe(true);
    expect(resolveColor('no', {}, true)).toBe(false);
  });
});
