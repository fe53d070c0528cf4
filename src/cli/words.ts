// nmcli's abbreviations: an object, a command or a keyword may be given as
// any unambiguous prefix (`netauditctl c s` is `connection show`).

export type WordMatch<T extends string> = { readonly word: T } | { readonly problem: string };

/** The one of `words` that `typed` names, exactly or as an unambiguous prefix. */
export function matchWord<T extends string>(typed: string, words: readonly T[]): WordMatch<T> {
  const lower = typed.toLowerCase();
  const exact = words.find((w) => w === lower);
  if (exact !== undefined) return { word: exact };
  const found = lower === '' ? [] : words.filter((w) => w.startsWith(lower));
  if (found.length === 1) return { word: found[0]! };
  if (found.length === 0) return { problem: `${JSON.stringify(typed)} is not one of ${words.join(', ')}` };
  return { problem: `${JSON.stringify(typed)} is ambiguous: ${found.join(', ')}` };
}

/** yes/no words of nmcli for booleans; undefined when `text` is none of them. */
export function parseBoolean(text: string): boolean | undefined {
  const v = text.toLowerCase();
  if (['yes', 'true', 'on', '1', 'y'].includes(v)) return true;
  if (['no', 'false', 'off', '0', 'n'].includes(v)) return false;
  return undefined;
}
