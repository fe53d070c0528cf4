// Secrets: the views of a profile with and without its secret properties
// (docs/api.md). What is a secret is the schema's word, never a list of names here.
import { invalidArgument, quote } from '../errors.js';
import { isSecret, settingNames, settingSpec } from './schema.js';
import { cloneSettings, type Settings, type Value } from './value.js';

function filter(settings: Settings, keep: (setting: string, prop: string) => boolean, dropEmpty: boolean): Settings {
  const out: Settings = new Map();
  for (const [name, props] of settings) {
    const kept = new Map<string, Value>([...props].filter(([prop]) => keep(name, prop)));
    if (!dropEmpty || kept.size > 0) out.set(name, kept);
  }
  return out;
}

/** What GetSettings returns: everything but the secrets (their flags stay: they are not secret). */
export function withoutSecrets(settings: Settings): Settings {
  return filter(settings, (setting, prop) => !isSecret(setting, prop), false);
}

/**
 * What GetSecrets returns: only the secret properties of `setting` ('' for
 * every setting); settings without a secret are left out, as NetworkManager does.
 */
export function secretsOf(settings: Settings, setting: string): Settings {
  if (setting !== '' && !settingSpec(setting)) {
    throw invalidArgument(`unknown setting ${quote(setting)}; accepted settings: ${settingNames().join(', ')}`);
  }
  return filter(settings, (name, prop) => (setting === '' || name === setting) && isSecret(name, prop), true);
}

export function hasSecrets(settings: Settings): boolean {
  for (const [name, props] of settings) for (const prop of props.keys()) if (isSecret(name, prop)) return true;
  return false;
}

/**
 * An Update that carries no secret at all keeps the stored ones: GetSettings
 * never returns them, so a read-modify-write must not wipe them. They are
 * copied into the settings that still exist in `next`; flags are not secrets
 * and come from `next` like any other property. An Update carrying any
 * secret replaces them all.
 */
export function keepSecrets(next: Settings, previous: Settings): Settings {
  const out = cloneSettings(next);
  if (hasSecrets(next)) return out;
  for (const [name, props] of previous) {
    const target = out.get(name);
    if (!target) continue;
    for (const [prop, v] of props) if (isSecret(name, prop)) target.set(prop, v);
  }
  return out;
}

/** ClearSecrets: the profile without its secrets; the flags stay, as in NetworkManager. */
export function clearSecrets(settings: Settings): Settings {
  return withoutSecrets(settings);
}
