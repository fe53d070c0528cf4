// Audit values of a profile: what a record's `before` and `after` hold for a
// connection profile, in the keyfile's own form, {GROUP: {KEY: "value as the
// keyfile writes it"}} (docs/record-format.md). They are taken from the
// keyfile writer's own output, so that a keyfile can be rebuilt from them
// (`KEY=value` under `[GROUP]`), and they never hold a secret value.
import { parseKeyfile } from '../../config/ini.js';
import type { AuditValues } from '../audit/record.js';
import { withoutKeptSecrets } from './kept-secrets.js';
import type { ExtraKeys } from './keyfile-reader.js';
import { toKeyfile } from './keyfile-writer.js';
import { withoutSecrets } from './secrets.js';
import type { Settings } from './value.js';

/** One keyfile group's keys and their values as written. */
type GroupValues = Readonly<Record<string, string>>;

// Keys kept verbatim from the file that are secrets: those of the settings
// netauditd does not read are removed by withoutKeptSecrets (kept-secrets.ts).
// What remains can still hold NetworkManager secret properties of settings
// the schema reads only in part (802-1x), a key whose "-flags" sibling marks
// it a secret (the schema's own rule, for properties it does not know), and
// a [vpn-secrets] group kept whole from a file without [vpn]: none of them
// may reach a record.
const PARTLY_READ_SECRETS: ReadonlyMap<string, readonly string[]> = new Map([
  ['802-1x', ['password', 'password-raw', 'pin', 'private-key-password', 'phase2-private-key-password']],
  ['wifi-security', ['psk', 'wep-key0', 'wep-key1', 'wep-key2', 'wep-key3', 'leap-password']],
]);

const VPN_SECRETS = 'vpn-secrets';

function isSecretKey(group: string, key: string, keys: ReadonlySet<string>): boolean {
  if (PARTLY_READ_SECRETS.get(group)?.includes(key)) return true;
  return keys.has(`${key}-flags`);
}

/**
 * The whole non-secret profile in keyfile form: every group the keyfile
 * writer writes for it, in its order, each key with its value as written
 * (escapes and all). An empty group, such as `[ethernet]`, is `{}`.
 */
export function profileValues(settings: Settings, extra: ExtraKeys): AuditValues {
  const keyfile = parseKeyfile(toKeyfile(withoutSecrets(settings), withoutKeptSecrets(extra).extra), 'profile');
  const groups: Array<[string, GroupValues]> = [];
  for (const group of keyfile.groups) {
    // Kept whole from a file without a [vpn] group: nothing but secrets.
    if (group.name === VPN_SECRETS) continue;
    const keys = new Set(group.entries.map((e) => e.key));
    const entries = group.entries.filter((e) => !isSecretKey(group.name, e.key, keys)).map((e): [string, string] => [e.key, e.value]);
    // Object.fromEntries defines "__proto__" as an own key like any other.
    groups.push([group.name, Object.fromEntries(entries)]);
  }
  return Object.fromEntries(groups);
}

function isGroup(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function pick(group: Readonly<Record<string, unknown>>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => Object.hasOwn(group, k)).map((k) => [k, group[k]]));
}

/**
 * What changed between two profiles' values: a group appears on a side when
 * the profile of that side has it and something in it changed, with the
 * keys that changed and their values on that side. So a key only in
 * `before` was removed, a group only in `before` was removed with all its
 * keys, and a group only in `after` was added; a group kept with keys
 * removed is `{}` in `after` when it has none of the changed keys. A side
 * with no group is left out; two equal profiles give `{}`.
 */
export function changedValues(before: AuditValues, after: AuditValues): { before?: AuditValues; after?: AuditValues } {
  const outBefore: Array<[string, unknown]> = [];
  const outAfter: Array<[string, unknown]> = [];
  const changed = new Map<string, string[] | null>();
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const inBefore = Object.hasOwn(before, name);
    const inAfter = Object.hasOwn(after, name);
    const b = before[name];
    const a = after[name];
    if (inBefore && inAfter && isGroup(b) && isGroup(a)) {
      const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => Object.hasOwn(b, k) !== Object.hasOwn(a, k) || !same(b[k], a[k]));
      if (keys.length > 0) changed.set(name, keys);
    } else if (!(inBefore && inAfter && same(b, a))) {
      // Added, removed, or not a group: the value on each side, whole.
      changed.set(name, null);
    }
  }
  for (const name of Object.keys(before)) {
    if (!changed.has(name)) continue;
    const keys = changed.get(name)!;
    outBefore.push([name, keys === null ? before[name] : pick(before[name] as Readonly<Record<string, unknown>>, keys)]);
  }
  for (const name of Object.keys(after)) {
    if (!changed.has(name)) continue;
    const keys = changed.get(name)!;
    outAfter.push([name, keys === null ? after[name] : pick(after[name] as Readonly<Record<string, unknown>>, keys)]);
  }
  return {
    ...(outBefore.length > 0 ? { before: Object.fromEntries(outBefore) } : {}),
    ...(outAfter.length > 0 ? { after: Object.fromEntries(outAfter) } : {}),
  };
}
