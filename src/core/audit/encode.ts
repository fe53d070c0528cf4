// Encoding of caller-controlled values for line-oriented audit backends: no
// value can end its field, start another one or move a reader's cursor.

// Control characters, Unicode format characters (bidi overrides among them),
// line/paragraph separators, lone surrogates and unassigned code points.
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Cn}"\\]/gu;

const MAX_LOG_VALUE = 1024;

function escapeChar(c: string): string {
  switch (c) {
    case '"':
      return '\\"';
    case '\\':
      return '\\\\';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    default: {
      const cp = c.codePointAt(0) ?? 0;
      return cp < 0x100 ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
    }
  }
}

/**
 * A value as it appears between double quotes in a log line. Printable
 * non-ASCII text stays readable; everything that could split or fake the
 * line is escaped. Values longer than MAX_LOG_VALUE characters are cut with
 * a marker outside the escaping alphabet's reach (the trail keeps them whole).
 */
export function escapeLogValue(text: string): string {
  const chars = Array.from(text);
  const cut = chars.length > MAX_LOG_VALUE;
  const shown = cut ? chars.slice(0, MAX_LOG_VALUE).join('') : text;
  const escaped = shown.replace(UNSAFE, escapeChar);
  return cut ? `${escaped}...[${chars.length - MAX_LOG_VALUE} more characters]` : escaped;
}

/** key="value" with the value escaped. */
export function quotedField(key: string, text: string): string {
  return `${key}="${escapeLogValue(text)}"`;
}
