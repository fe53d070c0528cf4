// Keyfile parser and escapes: exact bytes, GLib's rules, file:line on every error.
import { describe, it, expect } from 'vitest';
import {
  KeyfileSyntaxError,
  escapeString,
  formatList,
  parseKeyfile,
  parseList,
  serializeKeyfile,
  unescapeString,
} from '../../../src/config/ini.js';

const FILE = '/etc/x/test.conf';

function entries(text: string, group = 0): Array<[string, string, number]> {
  return parseKeyfile(text, FILE).groups[group].entries.map((e) => [e.key, e.value, e.line]);
}

function syntaxError(text: string): KeyfileSyntaxError {
  try {
    parseKeyfile(text, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(KeyfileSyntaxError);
    return err as KeyfileSyntaxError;
  }
  throw new Error('expected a syntax error');
}

// A deterministic stream of strings made of the characters that break
// keyfiles, so that a failure can be reproduced.
function hostileStrings(count: number, seed: number): string[] {
  const alphabet = [' ', '\t', '\n', '\r', '\\', '#', ';', ',', '=', '[', ']', 's', 'a', 'é', '😀', '\x01', '\x7f', '\v', '\f', '"', '\u2028'];
  let state = seed;
  const next = (n: number) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = '';
    const length = next(12);
    for (let j = 0; j < length; j++) s += alphabet[next(alphabet.length)];
    out.push(s);
  }
  return out;
}

const startsUnstorable = (s: string) => s.startsWith('\v') || s.startsWith('\f');

describe('parseKeyfile', () => {
  it('reads groups and entries with 1-based line numbers', () => {
    const kf = parseKeyfile('# header\n[main]\nauth=polkit\n\n[audit]\ndir=/x\n', FILE);
    expect(kf.file).toBe(FILE);
    expect(kf.groups.map((g) => [g.name, g.line])).toEqual([
      ['main', 2],
      ['audit', 5],
    ]);
    expect(entries('# header\n[main]\nauth=polkit\n')).toEqual([['auth', 'polkit', 3]]);
  });

  it('keeps "#", ";" and "=" inside a value', () => {
    expect(entries('[wifi]\npsk=pa#ss;w=rd # not a comment\n')).toEqual([['psk', 'pa#ss;w=rd # not a comment', 2]]);
  });

  it('drops the whitespace around "=" but keeps the trailing whitespace of the value', () => {
    expect(entries('[g]\nkey \t=  \t value  \t\n')).toEqual([['key', 'value  \t', 2]]);
  });

  it('keeps spaces inside a key', () => {
    expect(entries('[g]\na key=1\n')).toEqual([['a key', '1', 2]]);
  });

  it('reads an empty value as the empty string', () => {
    expect(entries('[g]\nk=\nl=   \n')).toEqual([
      ['k', '', 2],
      ['l', '', 3],
    ]);
  });

  it('does not unescape values', () => {
    expect(entries('[g]\nk=\\sa\\nb\\\\\n')).toEqual([['k', '\\sa\\nb\\\\', 2]]);
  });

  it('skips indented comments and blank lines, and allows indented groups and keys', () => {
    const kf = parseKeyfile('  # c\n\t\n  [g]  \n\t k=v\n   \n', FILE);
    expect(kf.groups).toEqual([{ name: 'g', line: 3, entries: [{ key: 'k', value: 'v', line: 4 }] }]);
  });

  it('allows spaces and tabs after the closing bracket of a group header', () => {
    expect(parseKeyfile('[g] \t \nk=v', FILE).groups[0].name).toBe('g');
  });

  it('keeps spaces inside the brackets as part of the group name', () => {
    expect(parseKeyfile('[ a b ]\n', FILE).groups[0].name).toBe(' a b ');
  });

  it('reads a last line that has no newline', () => {
    expect(entries('[g]\nk=v')).toEqual([['k', 'v', 2]]);
  });

  it('reads CRLF line endings and drops only the carriage return before each newline', () => {
    expect(entries('[g]\r\nk=v\r\nl=a\rb\r\n\r\n')).toEqual([
      ['k', 'v', 2],
      ['l', 'a\rb', 3],
    ]);
  });

  it('keeps a carriage return that ends a last line without newline, as GLib does', () => {
    expect(entries('[g]\r\nk=v\r')).toEqual([['k', 'v\r', 2]]);
  });

  it('keeps a locale suffix as part of the key', () => {
    expect(entries('[g]\nname=x\nname[de]=y\nname[sr@latin]=z\nname[pt_BR.UTF-8]=w\nname[]=e\n')).toEqual([
      ['name', 'x', 2],
      ['name[de]', 'y', 3],
      ['name[sr@latin]', 'z', 4],
      ['name[pt_BR.UTF-8]', 'w', 5],
      ['name[]', 'e', 6],
    ]);
  });

  it('keeps every entry of a repeated key, in order', () => {
    expect(entries('[g]\nk=1\nk=2\n')).toEqual([
      ['k', '1', 2],
      ['k', '2', 3],
    ]);
  });

  it('keeps a repeated group header as a second group, in order', () => {
    const kf = parseKeyfile('[a]\nk=1\n[b]\n[a]\nk=2\n', FILE);
    expect(kf.groups.map((g) => [g.name, g.line, g.entries.length])).toEqual([
      ['a', 1, 1],
      ['b', 3, 0],
      ['a', 4, 1],
    ]);
  });

  it('reads non-ASCII keys, groups and values', () => {
    expect(parseKeyfile('[ünï]\nclé=värde 😀\n', FILE).groups).toEqual([
      { name: 'ünï', line: 1, entries: [{ key: 'clé', value: 'värde 😀', line: 2 }] },
    ]);
  });

  it('reads an empty text as a keyfile without groups', () => {
    expect(parseKeyfile('', FILE).groups).toEqual([]);
    expect(parseKeyfile('# only a comment\n\n', FILE).groups).toEqual([]);
  });

  describe('refuses', () => {
    const cases: Array<[string, string, number, string]> = [
      ['a key before the first group', '# c\nk=v\n[g]\n', 2, 'a key=value line comes before the first [group] header'],
      ['a line that is neither group, key nor comment', '[g]\nk=v\njunk\n', 3, 'expected "[group]", "key=value" or a "#" comment, found "junk"'],
      ['a ";" comment, which GLib does not know', '[g]\n; note\n', 2, 'expected "[group]", "key=value" or a "#" comment, found "; note"'],
      ['an empty key', '[g]\n  = v\n', 2, 'the key before "=" is empty'],
      ['text after a group header', '[g]\n[h] x\n', 2, 'unexpected text " x" after the group header'],
      ['a second closing bracket', '[g]]\n', 1, 'unexpected text "]" after the group header'],
      ['a group header without closing bracket', '\n[g\n', 2, 'the group header "[g" has no closing "]"'],
      ['an empty group name', '[]\n', 1, 'the group name is empty'],
      ['a "[" in a group name', '[a[b]\n', 1, 'invalid group name "a[b": "[", "]" and control characters are not allowed'],
      ['a control character in a group name', '[a\x01b]\n', 1, 'invalid group name "a\\u0001b": "[", "]" and control characters are not allowed'],
      ['a "]" in a key', '[g]\na]b=1\n', 2, 'invalid key "a]b": "[" and "]" are allowed only in a locale suffix such as "name[de]"'],
      ['an unclosed locale suffix', '[g]\nname[de=1\n', 2, 'invalid key "name[de": "[" and "]" are allowed only in a locale suffix such as "name[de]"'],
      ['text after a locale suffix', '[g]\nname[de]x=1\n', 2, 'invalid key "name[de]x": "[" and "]" are allowed only in a locale suffix such as "name[de]"'],
      ['a space in a locale suffix', '[g]\nname[d e]=1\n', 2, 'invalid key "name[d e]": "[" and "]" are allowed only in a locale suffix such as "name[de]"'],
      ['a NUL character', '[g]\nk=v\nk=a\0b\n', 3, 'the line contains a NUL character'],
    ];
    for (const [what, text, line, detail] of cases) {
      it(`${what}, naming file and line ${line}`, () => {
        const err = syntaxError(text);
        expect(err.file).toBe(FILE);
        expect(err.line).toBe(line);
        expect(err.detail).toBe(detail);
        expect(err.message).toBe(`${FILE}:${line}: ${detail}`);
      });
    }

    it('with the line number counted across CRLF lines', () => {
      expect(syntaxError('[g]\r\nk=v\r\nbad\r\n').line).toBe(3);
    });
  });
});

describe('unescapeString', () => {
  it('decodes \\s \\n \\t \\r and \\\\', () => {
    expect(unescapeString('\\sa\\nb\\tc\\rd\\\\e\\s')).toBe(' a\nb\tc\rd\\e ');
  });

  it('leaves "#", ";", "=" and brackets alone', () => {
    expect(unescapeString('a#b;c=d[e]')).toBe('a#b;c=d[e]');
  });

  it('refuses an unknown escape, naming it', () => {
    expect(() => unescapeString('a\\xb')).toThrow('invalid escape sequence "\\\\x": only \\s \\n \\t \\r \\\\ are allowed');
  });

  it('refuses an escaped separator in a plain string, as g_key_file_get_string does', () => {
    expect(() => unescapeString('a\\;b')).toThrow('invalid escape sequence "\\\\;"');
  });

  it('refuses a backslash at the end of the value', () => {
    expect(() => unescapeString('abc\\')).toThrow('the value ends with a "\\" that escapes nothing');
  });
});

describe('escapeString', () => {
  it('escapes leading spaces and tabs only', () => {
    expect(escapeString('  a b\t ')).toBe('\\s\\sa b\t ');
    expect(escapeString('\t x')).toBe('\\t\\sx');
  });

  it('escapes every newline, carriage return and backslash', () => {
    expect(escapeString('a\nb\rc\\d')).toBe('a\\nb\\rc\\\\d');
  });

  it('keeps counting spaces as leading across newlines, as GLib does', () => {
    expect(escapeString('\n x')).toBe('\\n\\sx');
  });

  it('writes "#", ";", "=", brackets and control characters as they are', () => {
    expect(escapeString('#;=[]\x01\x7f')).toBe('#;=[]\x01\x7f');
  });

  it('refuses a NUL character', () => {
    expect(() => escapeString('a\0b')).toThrow('a NUL character cannot be stored in a keyfile');
  });

  it('refuses a leading vertical tab or form feed, which no escape can keep', () => {
    expect(() => escapeString('\vx')).toThrow('cannot be stored in a keyfile');
    expect(() => escapeString('\fx')).toThrow('cannot be stored in a keyfile');
    expect(escapeString(' \fx')).toBe('\\s\fx');
  });

  it('round-trips hostile strings through a written and re-read keyfile', () => {
    const fixed = ['', ' ', '  lead', 'trail  ', '\t', 'pa#ss', ';', 'a=b', '[g]', '\\', '\\s', '\r\n', 'é😀', '\x01\x1f\x7f', ' \v', 'x\f'];
    for (const value of [...fixed, ...hostileStrings(2000, 7)]) {
      if (startsUnstorable(value)) {
        expect(() => escapeString(value)).toThrow();
        continue;
      }
      const text = serializeKeyfile([{ name: 'g', entries: [{ key: 'k', value: escapeString(value) }] }]);
      const [entry] = parseKeyfile(text, FILE).groups[0].entries;
      expect(unescapeString(entry.value)).toBe(value);
    }
  });
});

describe('parseList', () => {
  it('splits at the separator and accepts a trailing one', () => {
    expect(parseList('a;b;', ';')).toEqual(['a', 'b']);
    expect(parseList('a;b', ';')).toEqual(['a', 'b']);
  });

  it('reads an empty value as the empty list and ";" as one empty element', () => {
    expect(parseList('', ';')).toEqual([]);
    expect(parseList(';', ';')).toEqual(['']);
    expect(parseList('a;;', ';')).toEqual(['a', '']);
    expect(parseList(';;a', ';')).toEqual(['', '', 'a']);
  });

  it('keeps an escaped separator inside its element', () => {
    expect(parseList('a\\;b;c;', ';')).toEqual(['a;b', 'c']);
  });

  it('splits after an escaped backslash', () => {
    expect(parseList('a\\\\;b', ';')).toEqual(['a\\', 'b']);
  });

  it('unescapes each element', () => {
    expect(parseList('\\sx;y\\nz;', ';')).toEqual([' x', 'y\nz']);
  });

  it('keeps spaces around elements', () => {
    expect(parseList('a ; b ;', ';')).toEqual(['a ', ' b ']);
  });

  it('works with "," as separator, where ";" is an ordinary character', () => {
    expect(parseList('a;b,c\\,d,', ',')).toEqual(['a;b', 'c,d']);
    expect(() => parseList('a\\;b', ',')).toThrow('invalid escape sequence "\\\\;": only \\s \\n \\t \\r \\\\ and \\, are allowed');
  });

  it('refuses an invalid escape', () => {
    expect(() => parseList('a;\\q;', ';')).toThrow('invalid escape sequence "\\\\q"');
  });

  it('refuses a separator that could be read as whitespace or an escape', () => {
    for (const sep of ['', ' ', 's', '\\', ';;', '\n']) expect(() => parseList('a', sep)).toThrow('invalid list separator');
  });
});

describe('formatList', () => {
  it('writes a separator after every element, as GLib does', () => {
    expect(formatList(['a', 'b'], ';')).toBe('a;b;');
    expect(formatList([], ';')).toBe('');
    expect(formatList([''], ';')).toBe(';');
    expect(formatList(['a', ''], ';')).toBe('a;;');
  });

  it('escapes the separator, and leading spaces of each element', () => {
    expect(formatList([' x', 'y;z', ' w'], ';')).toBe('\\sx;y\\;z;\\sw;');
  });

  it('counts spaces after an escaped separator as leading, as GLib does', () => {
    expect(formatList(['a; b'], ';')).toBe('a\\;\\sb;');
  });

  it('refuses a first element that starts with a form feed', () => {
    expect(() => formatList(['\fa'], ';')).toThrow('cannot be stored in a keyfile');
    expect(formatList(['a', '\fb'], ';')).toBe('a;\fb;');
  });

  it('round-trips hostile lists through a written and re-read keyfile', () => {
    const strings = hostileStrings(3000, 11);
    for (const sep of [';', ',']) {
      for (let i = 0; i + 3 <= strings.length; i += 3) {
        const list = strings.slice(i, i + (i % 4));
        if (list.length > 0 && startsUnstorable(list[0])) continue;
        const text = serializeKeyfile([{ name: 'g', entries: [{ key: 'k', value: formatList(list, sep) }] }]);
        const [entry] = parseKeyfile(text, FILE).groups[0].entries;
        expect(parseList(entry.value, sep)).toEqual(list);
      }
    }
  });
});

describe('serializeKeyfile', () => {
  it('writes groups separated by a blank line and ends with a newline', () => {
    const text = serializeKeyfile([
      { name: 'connection', entries: [{ key: 'id', value: 'lan0' }, { key: 'type', value: 'ethernet' }] },
      { name: 'ipv4', entries: [{ key: 'method', value: 'auto' }] },
      { name: 'empty', entries: [] },
    ]);
    expect(text).toBe('[connection]\nid=lan0\ntype=ethernet\n\n[ipv4]\nmethod=auto\n\n[empty]\n');
  });

  it('writes nothing for no groups', () => {
    expect(serializeKeyfile([])).toBe('');
  });

  it('writes what parseKeyfile reads back', () => {
    const groups = [
      { name: 'a b', entries: [{ key: 'name[de]', value: 'x y ' }, { key: 'k', value: '' }] },
      { name: 'c', entries: [{ key: 'k', value: '#;=[]' }] },
    ];
    const kf = parseKeyfile(serializeKeyfile(groups), FILE);
    expect(kf.groups.map((g) => ({ name: g.name, entries: g.entries.map(({ key, value }) => ({ key, value })) }))).toEqual(groups);
  });

  it('refuses a group name, key or value that would read back as something else', () => {
    const write = (name: string, key: string, value: string) => () => serializeKeyfile([{ name, entries: [{ key, value }] }]);
    expect(write('a]b', 'k', 'v')).toThrow('invalid group name "a]b"');
    expect(write('', 'k', 'v')).toThrow('invalid group name ""');
    expect(write('g\n', 'k', 'v')).toThrow('invalid group name');
    expect(write('g', 'a=b', 'v')).toThrow('invalid key "a=b" in [g]');
    expect(write('g', '#k', 'v')).toThrow('invalid key "#k" in [g]');
    expect(write('g', 'k\nx', 'v')).toThrow('invalid key');
    expect(write('g', ' k', 'v')).toThrow('invalid key');
    expect(write('g', 'k ', 'v')).toThrow('invalid key');
    expect(write('g', '', 'v')).toThrow('invalid key');
    expect(write('g', 'k', 'a\nb')).toThrow('the value of "k" in [g] is not escaped: "a\\nb"');
    expect(write('g', 'k', ' v')).toThrow('is not escaped');
    expect(write('g', 'k', 'a\rb')).toThrow('is not escaped');
  });
});
