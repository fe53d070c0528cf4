// Encoding of caller-controlled values for line-oriented audit backends: no
// value can end its field, start another one or move a reader's cursor.
import { escapeChar } from '../../log/escape.js';

// Control characters, Unicode format characters (bidi overrides among them),
// line/paragraph separators, lone surrogates and unassigned code points.
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Cn}"\\]/gu;

const MAX_LOG_VALUE = 1024;

function escapeValueChar(c: string): string {
  if (c === '"') return '\\"';
  if (c === '\\') return '\\\\';
  return escapeChar(c);
}

/**
 * A value as it appears between double quotes in a log line. Printable
 * non-ASCII text stays readable; everything that could split or fake the
 * line is escaped. Values longer than MAX_LOG_VALUE characters are cut with
 * the marker `\...[N more characters]` (the trail keeps them whole). Its
 * `\.` is an escape this function never writes for a value's own text
 * (a value's backslash is written `\\`), so a value cannot fake a cut: a
 * value that ends in `...[7 more characters]` is shown as it is.
 */
export function escapeLogValue(text: string): string {
  const chars = Array.from(text);
  const cut = chars.length > MAX_LOG_VALUE;
  const shown = cut ? chars.slice(0, MAX_LOG_VALUE).join('') : text;
  const escaped = shown.replace(UNSAFE, escapeValueChar);
  return cut ? `${escaped}\\...[${chars.length - MAX_LOG_VALUE} more characters]` : escaped;
}

/** key="value" with the value escaped. */
export function quotedField(key: string, text: string): string {
  return `${key}="${escapeLogValue(text)}"`;
}
