// Escaping of values shown by netauditctl: a value from the daemon (a
// connection's name, an interface's) is hostile text. Characters that move the
// cursor, start an escape sequence, end a line or reorder it (bidi controls)
// are always written as escapes; in terse mode ':' and '\' are also
// backslash-escaped (nmcli -e yes), so fields split on unescaped ':' only.

// C0 controls, DEL, C1 controls, the line and paragraph separators, and the
// bidi embeddings/overrides/isolates that could make a row read differently.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeCharacter(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Escapes the control characters of text; nothing else changes. */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, escapeCharacter);
}

/** Terse-mode escaping (nmcli -t -e yes): '\' and ':' get a backslash, control characters are escaped. */
export function escapeTerse(text: string, extra = ''): string {
  let out = '';
  for (const ch of text) {
    if (ch === '\\' || ch === ':' || extra.includes(ch)) out += `\\${ch}`;
    else out += ch;
  }
  return escapeControls(out);
}

/** True when text has a character escapeControls would escape. */
export function hasControls(text: string): boolean {
  UNSAFE.lastIndex = 0;
  const found = UNSAFE.test(text);
  UNSAFE.lastIndex = 0;
  return found;
}

/**
 * JSON text of a value with, beyond what JSON.stringify escapes (C0, '"', '\'),
 * DEL, C1, U+2028/2029 and the bidi controls as \\uXXXX too: still valid JSON,
 * and safe to print on a terminal.
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, (ch) => `\\u${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}
