// Escapes for the daemon's log: no text written to it can split a line,
// move a reader's cursor or reorder what a terminal shows.

/** Control characters, format characters (bidi overrides among them), line and paragraph separators. */
export const LOG_UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/** The escape of one character: \n \r \t, else \xNN below U+0100 and \u{N} above. */
export function escapeChar(c: string): string {
  switch (c) {
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

/** `text` on one line, every LOG_UNSAFE character escaped. */
export function oneLine(text: string): string {
  return text.replace(LOG_UNSAFE, escapeChar);
}
