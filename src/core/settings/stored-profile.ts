// Stored profile: a profile as read from a file, which NetworkManager may
// load although netauditd would refuse to save it (a type it does not
// activate, such as gsm or bond, or a value its validation refuses). Such a
// profile is kept as it is, with its holds: the keys that make activating it
// NotSupported. An update may keep a held value; it may not introduce one
// (docs/profile-files.md).
import { NetauditError, quote } from '../errors.js';
import { changedKeys } from './diff.js';
import type { ExtraKeys } from './keyfile-reader.js';
import { inferType, nmRefusal } from './nm-verify.js';
import { baseSettingOf, canonicalType, settingNames, settingSpec } from './schema.js';
import { validateProperty, validateSettings, validateUuid, type ValidateOptions } from './validate.js';
import { getString, value, type Settings, type Value } from './value.js';

/** A value netauditd refuses but keeps; `value` is absent for a rule across properties. */
export interface Hold {
  /** "setting.property", or the setting alone */
  readonly key: string;
  readonly value?: Value;
  /** names the key; never quotes a secret */
  readonly message: string;
}

export interface StoredProfile {
  readonly settings: Settings;
  readonly holds: readonly Hold[];
}

/** A profile file NetworkManager would refuse too: the file is skipped. */
export class ProfileRefusedError extends Error {
  constructor(detail: string) {
    super(`NetworkManager refuses it too: ${detail}`);
    this.name = 'ProfileRefusedError';
  }
}

const KEY_OF_MESSAGE = /^([a-z0-9-]+(?:\.[a-z0-9-]+)?)(?:\[[^\]]*\])?:/;

function isEmptyList(v: Value): boolean {
  return v.signature.startsWith('a') && v.signature !== 'ay' && v.signature !== 'a{ss}' && (v.value as unknown[]).length === 0;
}

/**
 * The type NetworkManager gives a file whose [connection] names none,
 * inferred from its groups, known (`settings`) and kept (`extra`).
 */
export function withInferredType(settings: Settings, extra: ExtraKeys): void {
  const conn = settings.get('connection') ?? new Map<string, Value>();
  settings.set('connection', conn);
  if (conn.has('type')) return;
  const type = inferType([...settings.keys(), ...extra.keys()]);
  if (type !== undefined) conn.set('type', value('s', canonicalType(type) ?? type));
}

/**
 * The settings a file holds, normalized as far as netauditd accepts them,
 * and the values it keeps without accepting them. Throws
 * ProfileRefusedError for a profile NetworkManager refuses.
 */
export function storedProfile(read: Settings, extra: ExtraKeys, options: ValidateOptions): StoredProfile {
  withInferredType(read, extra);
  const refusal = nmRefusal(read, extra);
  if (refusal !== undefined) throw new ProfileRefusedError(refusal);
  try {
    return { settings: validateSettings(read, options), holds: [] };
  } catch (e) {
    if (!(e instanceof NetauditError)) throw e;
    return held(read, options, e);
  }
}

function held(input: Settings, options: ValidateOptions, refusal: NetauditError): StoredProfile {
  const holds: Hold[] = [];
  const checked: Settings = new Map();
  for (const [name, props] of input) {
    const out = new Map<string, Value>();
    if (!settingSpec(name)) holds.push({ key: name, message: `${name}: a setting netauditd does not know` });
    for (const [prop, v] of props) {
      try {
        const normalized = validateProperty(name, prop, v);
        if (!isEmptyList(normalized)) out.set(prop, normalized);
      } catch (e) {
        if (!(e instanceof NetauditError)) throw e;
        const key = `${name}.${prop}`;
        const message = key === 'connection.type' ? `connection.type ${quote(v.value)}: netauditd keeps, lists and audits profiles of this type but does not activate them` : e.message;
        holds.push({ key, value: v, message });
        out.set(prop, v);
      }
    }
    checked.set(name, out);
  }
  const conn = checked.get('connection') ?? new Map<string, Value>();
  checked.set('connection', conn);
  if (!conn.has('uuid')) conn.set('uuid', value('s', validateUuid(options.generateUuid())));
  const type = getString(checked, 'connection', 'type');
  const base = type === undefined ? undefined : baseSettingOf(type);
  if (base !== undefined && !checked.has(base)) checked.set(base, new Map());
  // Every value passed on its own: a rule across them refused the profile.
  if (holds.length === 0) holds.push({ key: KEY_OF_MESSAGE.exec(refusal.message)?.[1] ?? 'connection', message: refusal.message });

  const ordered: Settings = new Map();
  for (const name of [...settingNames(), ...checked.keys()]) {
    const props = checked.get(name);
    if (!props || ordered.has(name)) continue;
    const spec = settingSpec(name);
    const names = spec ? [...spec.properties.keys(), ...props.keys()] : [...props.keys()];
    ordered.set(name, new Map([...new Set(names)].filter((p) => props.has(p)).map((p) => [p, props.get(p)!])));
  }
  return { settings: ordered, holds };
}

function sameHold(a: Hold, b: Hold): boolean {
  if (a.key !== b.key) return false;
  if (a.value === undefined || b.value === undefined) return a.value === b.value && a.message === b.message;
  const one = (v: Value): Settings => new Map([['s', new Map([['p', v]])]]);
  return changedKeys(one(a.value), one(b.value)).length === 0;
}

/**
 * The settings of an update of a profile with holds `kept`: validated as
 * any update, or, when validation refuses them, kept as they are if every
 * value refused was held before. Otherwise the update introduces a refused
 * value, and validation's error stands.
 */
export function updatedProfile(input: Settings, extra: ExtraKeys, kept: readonly Hold[], options: ValidateOptions): StoredProfile {
  try {
    return { settings: validateSettings(input, options), holds: [] };
  } catch (e) {
    if (!(e instanceof NetauditError) || kept.length === 0) throw e;
    if (!input.get('connection')?.has('type') || nmRefusal(input, extra) !== undefined) throw e;
    const next = held(input, options, e);
    if (!next.holds.every((h) => kept.some((k) => sameHold(h, k)))) throw e;
    return next;
  }
}

/** Activation of a profile with holds is NotSupported, naming what netauditd refuses. */
export function refuseHeld(id: string, holds: readonly Hold[]): void {
  if (holds.length === 0) return;
  throw new NetauditError(
    'NotSupported',
    `The profile ${quote(id)} cannot be activated: ${holds.map((h) => h.message).join('; ')}. NetworkManager loads it, so netauditd keeps it as it is; change that value to activate it.`,
  );
}
