// nmcli-style property arguments → typed profile values: `ipv4.addresses
// "192.0.2.1/24, 198.51.100.2/24"` becomes address-data, `ipv4.routes
// "192.0.2.0/24 10.0.0.1 100"` route-data, `ipv4.dns 192.0.2.53` the uint32
// NetworkManager keeps, `802-3-ethernet.mtu 1400` a uint32, booleans from
// yes/no/true/false/on/off. `+prop value` appends to a list, `-prop value`
// removes from it (by value or by index), an empty value clears. The daemon
// validates what it gets; this only gives each value its D-Bus type.
import { isIPv4, isIPv6 } from 'node:net';
import type { PropertySpec } from '../core/settings/schema.js';
import { ipv4ToNetworkU32, ipv6ToBytes } from './ip-text.js';
import { displayName, resolvePropertyName, type PropertyRef } from './property-names.js';
import { cloneProfile, typed, type ProfileSettings, type Typed } from './settings-value.js';
import { elementTexts } from './settings-text.js';
import { parseBoolean } from './words.js';

/** A property argument that cannot be understood; the command exits with 2. */
export class SettingsArgError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsArgError';
  }
}

export type ChangeOp = 'set' | 'append' | 'remove';

export interface Change {
  readonly ref: PropertyRef;
  readonly op: ChangeOp;
  /** The value as typed; '' with `set` clears the property. */
  readonly text: string;
}

// NetworkManager's NMSettingMacvlanMode names.
const MACVLAN_MODES: Readonly<Record<string, number>> = { vepa: 1, bridge: 2, private: 3, passthru: 4, source: 5 };
// NetworkManager's NMSettingSecretFlags names.
const SECRET_FLAGS: Readonly<Record<string, number>> = { none: 0, 'agent-owned': 1, 'not-saved': 2, 'not-required': 4 };

function fail(ref: PropertyRef, text: string, why: string): never {
  throw new SettingsArgError(`invalid value ${JSON.stringify(text)} for ${displayName(ref.setting, ref.property)}: ${why}`);
}

/** The property a word names; SettingsArgError naming it when unknown. */
export function resolveProperty(name: string): PropertyRef {
  const ref = resolvePropertyName(name);
  if (ref === undefined) throw new SettingsArgError(`invalid property ${JSON.stringify(name)}: use setting.property, e.g. ipv4.addresses, 802-3-ethernet.mtu (or an alias: con-name, ifname, type, autoconnect, ip4, gw4, ip6, gw6)`);
  return ref;
}

function listItems(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

function integer(ref: PropertyRef, text: string): number {
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) fail(ref, text, 'not an integer');
  const n = Number(t);
  const [lo, hi] = ref.spec.range ?? (ref.spec.signature === 'u' ? [0, 0xffffffff] : [-0x80000000, 0x7fffffff]);
  if (n < lo || n > hi) fail(ref, text, `out of range; accepted: ${lo} to ${hi}`);
  return n;
}

/** An enum property's name (its keyfile form) or number. */
function enumValue(ref: PropertyRef, text: string): number {
  const at = ref.spec.choices!.indexOf(text.trim());
  if (at >= 0) return at;
  if (!/^-?\d+$/.test(text.trim())) fail(ref, text, `accepted: ${ref.spec.choices!.join(', ')}`);
  return integer(ref, text);
}

function secretFlags(ref: PropertyRef, text: string): number {
  if (/^\d+$/.test(text.trim())) return integer(ref, text);
  let n = 0;
  for (const word of listItems(text)) {
    const bit = SECRET_FLAGS[word];
    if (bit === undefined) fail(ref, text, `accepted: a number or ${Object.keys(SECRET_FLAGS).join(', ')}`);
    n |= bit;
  }
  return n;
}

function family(ref: PropertyRef): 4 | 6 {
  return ref.setting === 'ipv6' ? 6 : 4;
}

function address(ref: PropertyRef, text: string, whole: string): string {
  const fam = family(ref);
  if (fam === 4 ? !isIPv4(text) : !isIPv6(text)) fail(ref, whole, `${JSON.stringify(text)} is not an IPv${fam} address`);
  return text;
}

function prefixed(ref: PropertyRef, text: string, whole: string): { address: string; prefix: number } {
  const max = family(ref) === 4 ? 32 : 128;
  const slash = text.indexOf('/');
  const addr = address(ref, slash === -1 ? text : text.slice(0, slash), whole);
  if (slash === -1) return { address: addr, prefix: max };
  const p = text.slice(slash + 1);
  if (!/^\d+$/.test(p) || Number(p) > max) fail(ref, whole, `${JSON.stringify(p)} is not a prefix length (0 to ${max})`);
  return { address: addr, prefix: Number(p) };
}

function addressEntry(ref: PropertyRef, item: string): Record<string, Typed> {
  const { address: a, prefix } = prefixed(ref, item, item);
  return { address: typed('s', a), prefix: typed('u', prefix) };
}

function routeEntry(ref: PropertyRef, item: string): Record<string, Typed> {
  const [destText, ...rest] = item.split(/\s+/);
  const { address: dest, prefix } = prefixed(ref, destText!, item);
  const entry: Record<string, Typed> = { dest: typed('s', dest), prefix: typed('u', prefix) };
  for (const token of rest) {
    const eq = token.indexOf('=');
    if (eq !== -1) {
      const key = token.slice(0, eq);
      const v = token.slice(eq + 1);
      if (key === 'next-hop') entry['next-hop'] = typed('s', address(ref, v, item));
      else if (key === 'metric' || key === 'table') {
        if (!/^\d+$/.test(v)) fail(ref, item, `${key}=${JSON.stringify(v)} is not a number`);
        entry[key] = typed('u', Number(v));
      } else fail(ref, item, `unknown route attribute ${JSON.stringify(key)}; accepted: metric, table, next-hop`);
    } else if (/^\d+$/.test(token)) {
      if (entry['metric'] !== undefined) fail(ref, item, 'two metrics');
      entry['metric'] = typed('u', Number(token));
    } else {
      if (entry['next-hop'] !== undefined) fail(ref, item, 'two next hops');
      entry['next-hop'] = typed('s', address(ref, token, item));
    }
  }
  return entry;
}

function mac(ref: PropertyRef, text: string): Uint8Array {
  const t = text.trim();
  if (!/^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$/.test(t)) fail(ref, text, 'not a MAC address (six hex bytes, e.g. 52:54:00:12:34:56)');
  return Uint8Array.from(t.split(/[:-]/).map((h) => parseInt(h, 16)));
}

function cert(ref: PropertyRef, text: string): Uint8Array {
  if (text.startsWith('pkcs11:')) return Uint8Array.from(Buffer.from(`${text}\0`));
  const path = text.startsWith('file://') ? text.slice('file://'.length) : text;
  if (!path.startsWith('/')) fail(ref, text, 'name the file by its absolute path');
  return Uint8Array.from(Buffer.from(`file://${path}\0`));
}

/** The list elements of `text` for a list property (each typed as the list's element). */
function listElements(ref: PropertyRef, text: string): unknown[] {
  const { spec } = ref;
  switch (spec.kind) {
    case 'address-data':
      return listItems(text).map((item) => addressEntry(ref, item));
    case 'route-data':
      return listItems(text).map((item) => routeEntry(ref, item));
    case 'dns':
      return listItems(text).map((item) => {
        const v = spec.signature === 'au' ? ipv4ToNetworkU32(item) : ipv6ToBytes(item);
        if (v === undefined) fail(ref, text, `${JSON.stringify(item)} is not an IPv${family(ref)} address`);
        return v;
      });
    default:
      if (spec.signature === 'au') return listItems(text).map((item) => integer(ref, item));
      return listItems(text);
  }
}

function isList(spec: PropertySpec): boolean {
  return spec.signature.startsWith('a') && spec.signature !== 'ay';
}

/** The typed value of `text` for a property. */
export function parseValue(ref: PropertyRef, text: string): Typed {
  const { spec } = ref;
  if (isList(spec)) return typed(spec.signature, listElements(ref, text));
  switch (spec.signature) {
    case 's':
      return typed('s', text);
    case 'b': {
      const b = parseBoolean(text);
      if (b === undefined) fail(ref, text, 'accepted: yes, no (true, false, on, off)');
      return typed('b', b);
    }
    case 'u':
    case 'i':
      if (ref.setting === 'macvlan' && ref.property === 'mode' && MACVLAN_MODES[text] !== undefined) return typed('u', MACVLAN_MODES[text]);
      if (ref.property.endsWith('-flags') && spec.range?.[1] === 15) return typed('u', secretFlags(ref, text));
      if (spec.kind === 'enum') return typed(spec.signature, enumValue(ref, text));
      return typed(spec.signature, integer(ref, text));
    case 'ay':
      if (spec.kind === 'mac' || spec.kind === 'cloned-mac') return typed('ay', mac(ref, text));
      if (spec.kind === 'cert') return typed('ay', cert(ref, text));
      return typed('ay', Uint8Array.from(Buffer.from(text, 'utf8')));
    default:
      return fail(ref, text, `properties of type ${spec.signature} cannot be set from the command line`);
  }
}

/**
 * `prop value` pairs (`+prop`/`-prop` for lists) into changes. The pairs of
 * the keywords in `own`, which the command handles itself (e.g. `save`), are
 * returned in `others` instead.
 */
export function parsePairs(args: readonly string[], own: readonly string[] = []): { changes: Change[]; others: Map<string, string> } {
  const changes: Change[] = [];
  const others = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) {
    const word = args[i]!;
    const text = args[i + 1];
    if (text === undefined) throw new SettingsArgError(`the value of ${JSON.stringify(word)} is missing`);
    if (own.includes(word)) {
      others.set(word, text);
      continue;
    }
    const op: ChangeOp = word.startsWith('+') ? 'append' : word.startsWith('-') ? 'remove' : 'set';
    const ref = resolveProperty(op === 'set' ? word : word.slice(1));
    if (op !== 'set' && !isList(ref.spec)) throw new SettingsArgError(`${JSON.stringify(word)}: '+' and '-' apply to list properties only; ${displayName(ref.setting, ref.property)} is not a list`);
    if (op === 'set' && text !== '') parseValue(ref, text);
    changes.push({ ref, op, text });
  }
  return { changes, others };
}

/** The profile with `changes` applied, in order; the input is left as it is. */
export function applyChanges(settings: ProfileSettings, changes: readonly Change[]): ProfileSettings {
  const out = cloneProfile(settings);
  for (const { ref, op, text } of changes) {
    const props = out.get(ref.setting) ?? new Map<string, Typed>();
    out.set(ref.setting, props);
    const current = props.get(ref.property);
    if (op === 'set') {
      if (text === '') props.delete(ref.property);
      else props.set(ref.property, parseValue(ref, text));
      continue;
    }
    const existing = (current?.value as unknown[] | undefined) ?? [];
    if (op === 'append') {
      props.set(ref.property, typed(ref.spec.signature, [...existing, ...listElements(ref, text)]));
      continue;
    }
    // remove: by value (as shown), else by 0-based index as nmcli does.
    const shown = current === undefined ? [] : elementTexts(current, ref.spec);
    const index = /^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
    let wantedTexts: string[] = [];
    try {
      wantedTexts = elementTexts(parseValue(ref, text), ref.spec);
    } catch (error) {
      if (index === undefined) throw error;
    }
    let kept = existing.filter((_e, i) => !wantedTexts.includes(shown[i]!));
    if (kept.length === existing.length && index !== undefined) {
      if (index >= existing.length) throw new SettingsArgError(`${displayName(ref.setting, ref.property)} has no element ${index} (it has ${existing.length})`);
      kept = existing.filter((_e, i) => i !== index);
    }
    if (kept.length === 0) props.delete(ref.property);
    else props.set(ref.property, typed(ref.spec.signature, kept));
  }
  return out;
}
