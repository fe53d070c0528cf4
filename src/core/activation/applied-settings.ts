// The applied settings of an active connection in its run-dir state
// (docs/active-state.md): kept as a keyfile without secrets, the form the
// daemon already writes and reads, so that the next daemon answers
// GetAppliedConnection with what was applied rather than what the profile
// says now.
import { KeyfileSyntaxError, parseKeyfile } from '../../config/ini.js';
import { fromKeyfile } from '../settings/keyfile-reader.js';
import { toKeyfile } from '../settings/keyfile-writer.js';
import { withoutSecrets } from '../settings/secrets.js';
import type { Settings } from '../settings/value.js';

// The state file is written before and after every kernel request; the settings change only at
// activation and Reapply (each a new object), so their text is made once per object.
const texts = new WeakMap<Settings, string>();

/** The keyfile text of `settings`; undefined if the writer cannot render them (the next daemon then takes the profile's). */
export function appliedToKeyfile(settings: Settings): string | undefined {
  let text = texts.get(settings);
  if (text === undefined) {
    try {
      text = toKeyfile(withoutSecrets(settings), new Map());
    } catch {
      // Keeping the connection's state matters more than this one field of it.
      return undefined;
    }
    texts.set(settings, text);
  }
  return text;
}

/** The settings of `text`; undefined when there is none or it does not read (then `warn` says why). */
export function appliedFromKeyfile(text: string | undefined, warn: (message: string) => void): Settings | undefined {
  if (text === undefined) return undefined;
  try {
    return fromKeyfile(parseKeyfile(text, 'applied settings')).settings;
  } catch (e) {
    warn(`its applied settings could not be read back (${e instanceof KeyfileSyntaxError ? e.message : (e as Error).message}); the profile's are taken instead`);
    return undefined;
  }
}
