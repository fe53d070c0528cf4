// Keyfile: GLib's GKeyFile syntax, shared by netauditd.conf and the
// NetworkManager connection profiles (netauditd.conf(5)), read with a file:line for
// every error.
//
// Our own rather than the npm `ini` package, which drops bad lines silently,
// knows no line numbers and cuts values at '#' or ';' (a Wi-Fi password
// holding '#' would be truncated). The rules follow glib/gkeyfile.c:
//  - A line is split at '\n'; one '\r' just before the '\n' is dropped (CRLF
//    files). A '\r' anywhere else, including at the end of a last line that
//    has no '\n', is part of the line, as in GLib.
//  - Leading ASCII whitespace (g_ascii_isspace: space \t \n \v \f \r) of a
//    line is skipped. Then a line that is empty or starts with '#' is a
//    comment. ';' starts no comment: GLib has none, so ";x" is an error and
//    ";x=1" a key.
//  - "[name]" is a group header; spaces and tabs after ']' are allowed,
//    anything else is an error. A name is non-empty, without '[', ']' or
//    ASCII control characters. A repeated header is kept as a second group;
//    GLib merges them, so consumers merge too.
//  - "key=value" splits at the first '='. The key loses its trailing
//    whitespace, the value its leading whitespace; the value's trailing
//    whitespace is kept. A key is non-empty, holds no '[' or ']' except an
//    optional locale suffix "key[de]" (letters, digits, - _ . @), which stays
//    part of the key. A repeated key is kept as a second entry; GLib's lookup
//    returns the last, so consumers take the last.
//  - A key before the first group header is an error, as in GLib.
//  - A NUL character is an error (GLib would silently cut the line there).
//  - Values are stored raw; escapes are decoded on request (unescapeString,
//    parseList), as GLib decodes them in g_key_file_get_string and
//    g_key_file_get_string_list.
import { quote } from '../core/errors.js';

export interface KeyfileEntry {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

export interface KeyfileGroup {
  readonly name: string;
  readonly line: number;
  readonly entries: readonly KeyfileEntry[];
}

export interface Keyfile {
  readonly file: string;
  readonly groups: readonly KeyfileGroup[];
}

export class KeyfileSyntaxError extends Error {
  readonly file: string;
  readonly line: number;
  /** the message without its "file:line: " prefix, for callers that re-wrap it */
  readonly detail: string;

  constructor(file: string, line: number, detail: string) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'KeyfileSyntaxError';
    this.file = file;
    this.line = line;
    this.detail = detail;
  }
}

const LEADING_SPACE = /^[ \t\n\v\f\r]+/;
const TRAILING_SPACE = /[ \t\n\v\f\r]+$/;
// g_key_file_is_key_name: no '=', '[' or ']' but in a trailing locale suffix,
// whose characters are g_unichar_isalnum or - _ . @
const KEY_NAME = /^[^=[\]]+(?:\[[\p{L}\p{N}_.@-]*\])?$/u;
// g_key_file_is_group_name: g_ascii_iscntrl is 0x00-0x1f and 0x7f
const BAD_GROUP_CHAR = /[[\]\x00-\x1f\x7f]/;

/** g_ascii_isspace, by char code */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

export function parseKeyfile(text: string, file: string): Keyfile {
  const groups: { name: string; line: number; entries: KeyfileEntry[] }[] = [];
  const lines = text.split('\n');
  // Each line is looked at for NUL only when the text holds one (a profile load reads thousands).
  const hasNul = text.includes('\0');

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const isLast = i === lines.length - 1;
    const raw = !isLast && lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    const error = (detail: string) => new KeyfileSyntaxError(file, lineNo, detail);

    if (hasNul && raw.includes('\0')) throw error('the line contains a NUL character');
    const content = raw.length > 0 && isSpace(raw.charCodeAt(0)) ? raw.replace(LEADING_SPACE, '') : raw;
    if (content === '' || content.startsWith('#')) continue;

    if (content.startsWith('[')) {
      const close = content.indexOf(']');
      if (close === -1) throw error(`the group header ${quote(content)} has no closing "]"`);
      const trailing = content.slice(close + 1);
      if (!/^[ \t]*$/.test(trailing)) throw error(`unexpected text ${quote(trailing)} after the group header`);
      const name = content.slice(1, close);
      if (name === '') throw error('the group name is empty');
      if (BAD_GROUP_CHAR.test(name)) {
        throw error(`invalid group name ${quote(name)}: "[", "]" and control characters are not allowed`);
      }
      groups.push({ name, line: lineNo, entries: [] });
      continue;
    }

    const eq = content.indexOf('=');
    if (eq === -1) throw error(`expected "[group]", "key=value" or a "#" comment, found ${quote(content)}`);
    if (eq === 0) throw error('the key before "=" is empty');
    const current = groups.at(-1);
    if (current === undefined) throw error('a key=value line comes before the first [group] header');
    const before = content.slice(0, eq);
    const key = isSpace(before.charCodeAt(eq - 1)) ? before.replace(TRAILING_SPACE, '') : before;
    // Without a bracket the key is a name (it has no '=' and is not empty); with one, the locale rule decides.
    if ((key.includes('[') || key.includes(']') || key === '') && !KEY_NAME.test(key)) {
      throw error(`invalid key ${quote(key)}: "[" and "]" are allowed only in a locale suffix such as "name[de]"`);
    }
    const rest = content.slice(eq + 1);
    current.entries.push({ key, value: rest.length > 0 && isSpace(rest.charCodeAt(0)) ? rest.replace(LEADING_SPACE, '') : rest, line: lineNo });
  }
  return { file, groups };
}

const ESCAPES: Readonly<Record<string, string>> = { s: ' ', n: '\n', t: '\t', r: '\r', '\\': '\\' };

// One pass decodes escapes and splits at unescaped separators, as
// g_key_file_parse_value_as_string does; a separator of null means a plain
// string, where "\;" is as invalid as any unknown escape.
function decode(raw: string, separator: string | null): string[] {
  const pieces: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === separator) {
      pieces.push(current);
      current = '';
    } else if (c !== '\\') {
      current += c;
    } else {
      i++;
      if (i === raw.length) throw new Error('the value ends with a "\\" that escapes nothing');
      const escaped = String.fromCodePoint(raw.codePointAt(i)!);
      const decoded = escaped === separator ? separator : ESCAPES[escaped];
      if (decoded === undefined) {
        const allowed = separator === null ? '' : ` and \\${separator}`;
        throw new Error(`invalid escape sequence ${quote(`\\${escaped}`)}: only \\s \\n \\t \\r \\\\${allowed} are allowed`);
      }
      current += decoded;
    }
  }
  // GLib keeps a last piece only when it is non-empty: that is what makes
  // the separator after the last element optional.
  if (separator === null || current !== '') pieces.push(current);
  return pieces;
}

export function unescapeString(raw: string): string {
  return decode(raw, null)[0];
}

// As g_key_file_parse_string_as_value: leading spaces and tabs become \s and
// \t (the parser would strip them), newlines, carriage returns and
// backslashes are always escaped, and in a list the separator too, after
// which GLib counts spaces as leading again.
function encode(value: string, separator: string | null): string {
  if (value.includes('\0')) throw new Error('a NUL character cannot be stored in a keyfile');
  let out = '';
  let leading = true;
  for (const c of value) {
    if (c === ' ' || c === '\t') {
      out += leading ? (c === ' ' ? '\\s' : '\\t') : c;
    } else if (c === '\n') {
      out += '\\n';
    } else if (c === '\r') {
      out += '\\r';
    } else if (c === '\\') {
      out += '\\\\';
      leading = false;
    } else if (c === separator) {
      out += `\\${c}`;
      leading = true;
    } else {
      out += c;
      leading = false;
    }
  }
  return out;
}

// The parser strips a value's leading \v and \f too, and no escape stands for
// them, so such a value cannot survive a write and a read (GLib loses it
// silently); refusing it is better than storing something else.
function assertStorable(raw: string): string {
  if (raw.startsWith('\v') || raw.startsWith('\f')) {
    throw new Error('a value starting with a vertical tab or form feed cannot be stored in a keyfile');
  }
  return raw;
}

export function escapeString(value: string): string {
  return assertStorable(encode(value, null));
}

// The separator must not be read as whitespace or as the letter of an escape
// such as \s; NetworkManager uses ';', the config ','.
function checkSeparator(separator: string): void {
  if (!/^[!-~]$/.test(separator) || /[A-Za-z0-9\\]/.test(separator)) {
    throw new Error(`invalid list separator ${quote(separator)}: use one ASCII punctuation character`);
  }
}

export function parseList(raw: string, separator: string): string[] {
  checkSeparator(separator);
  return decode(raw, separator);
}

// g_key_file_set_string_list writes a separator after every element, the last
// one included; an empty last element thus reads back (";" is [""]).
export function formatList(values: readonly string[], separator: string): string {
  checkSeparator(separator);
  return assertStorable(values.map((v) => encode(v, separator) + separator).join(''));
}

function checkGroupName(name: string): void {
  if (name === '' || BAD_GROUP_CHAR.test(name)) throw new Error(`invalid group name ${quote(name)}`);
}

function checkEntry(group: string, key: string, value: string): void {
  // A key starting with '#' would read back as a comment; GLib writes it anyway.
  const badKey =
    !KEY_NAME.test(key) || /[\0\n\r]/.test(key) || key.startsWith('#') || LEADING_SPACE.test(key) || TRAILING_SPACE.test(key);
  if (badKey) throw new Error(`invalid key ${quote(key)} in [${group}]`);
  if (/[\0\n\r]/.test(value) || LEADING_SPACE.test(value)) {
    throw new Error(`the value of ${quote(key)} in [${group}] is not escaped: ${quote(value)}`);
  }
}

// Values are written as given: callers escape them with escapeString or
// formatList. A name, key or value that would read back as something else is
// refused rather than written.
export function serializeKeyfile(
  groups: ReadonlyArray<{ name: string; entries: ReadonlyArray<{ key: string; value: string }> }>,
): string {
  return groups
    .map((group) => {
      checkGroupName(group.name);
      let text = `[${group.name}]\n`;
      for (const { key, value } of group.entries) {
        checkEntry(group.name, key, value);
        text += `${key}=${value}\n`;
      }
      return text;
    })
    .join('\n');
}
