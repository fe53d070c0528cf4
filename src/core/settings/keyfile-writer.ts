// Keyfile writer: settings → a NetworkManager keyfile profile, in the forms
// libnm-core-impl/nm-keyfile.c writes (nm_keyfile_write()), so that
// NetworkManager and `nmcli --offline` read our files and we read theirs.
// Secrets are written (the file is 0600) unless their flags say an agent owns
// them or they are not to be saved. Keys we did not understand when reading
// the file are written back unchanged.
import { SocketAddress } from 'node:net';
import { escapeString, formatList, serializeKeyfile, unescapeString } from '../../config/ini.js';
import type { ExtraKeys } from './keyfile-reader.js';
import { formatRoutingRule, ruleFromDict } from './routing-rule.js';
import {
  keyfileTypeName,
  SECRET_FLAG_AGENT_OWNED,
  SECRET_FLAG_NOT_SAVED,
  settingForGroup,
  settingNames,
  settingSpec,
  type PropertySpec,
} from './schema.js';
import type { Settings, StringDict, Value } from './value.js';

interface Entry {
  key: string;
  value: string;
}

const CERT_PATH = Buffer.from('file://');
const CERT_PKCS11 = Buffer.from('pkcs11:');
// nm_keyfile_detect_unqualified_path_scheme() reads a bare path only up to this length.
const BARE_PATH_MAX = 500;

function bytesOf(v: Value): Buffer {
  const a = v.value as Uint8Array;
  return Buffer.from(a.buffer, a.byteOffset, a.length);
}

function macText(bytes: Buffer): string {
  return [...bytes].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':');
}

function byteList(bytes: Buffer): string {
  return [...bytes].map((b) => `${b};`).join('');
}

// ssid_writer(): printable ASCII as text with ';' escaped as "\;" (so "16;17;"
// is not read as a byte list), anything else as a byte list.
function ssidText(bytes: Buffer): string {
  if (bytes.every((b) => b >= 0x20 && b <= 0x7e)) return escapeString(bytes.toString('latin1').replaceAll(';', '\\;'));
  return byteList(bytes);
}

// cert_writer_default(): a path bare when NetworkManager would read it back as
// one, else with its "file://"; a PKCS#11 URI as is; data as base64.
function certText(bytes: Buffer): string {
  for (const prefix of [CERT_PATH, CERT_PKCS11]) {
    if (bytes.length > prefix.length && bytes.subarray(0, prefix.length).equals(prefix) && bytes.at(-1) === 0) {
      const text = bytes.subarray(0, -1).toString('utf8');
      const path = text.slice(CERT_PATH.length);
      const bare = prefix === CERT_PATH && path.startsWith('/') && Buffer.byteLength(path) <= BARE_PATH_MAX;
      return escapeString(bare ? path : text);
    }
  }
  return escapeString(`data:;base64,${bytes.toString('base64')}`);
}

export function ipv4FromU32(n: number): string {
  // Network byte order: the uint32's bytes in memory are the address's bytes.
  return [...new Uint8Array(Uint32Array.of(n).buffer)].join('.');
}

export function ipv6FromBytes(bytes: Uint8Array): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return new SocketAddress({ address: words.join(':'), family: 'ipv6' }).address;
}

// nm_utils_parse_variant_attributes() syntax: NAME=VALUE split at unescaped ','.
function attributes(text: string): string[] {
  return text.split(/(?<!\\),/).filter((a) => a !== '');
}

function attributeName(attr: string): string {
  return attr.split(/(?<!\\)=/)[0];
}

// write_ip_values(): "DEST/PLEN[,NEXT-HOP[,METRIC]]", the any address standing
// in for a missing next hop when a metric follows. Attributes go to
// routeN_options, sorted by name as NetworkManager formats them.
function routeEntries(setting: string, routes: Map<string, Value>[], extra: Map<string, string>): Entry[] {
  const out: Entry[] = [];
  routes.forEach((route, i) => {
    const key = `route${i + 1}`;
    const get = (k: string): unknown => route.get(k)?.value;
    let text = `${get('dest') as string}/${get('prefix') as number}`;
    const metric = get('metric') as number | undefined;
    const nextHop = get('next-hop') as string | undefined;
    if (nextHop !== undefined || metric !== undefined) text += `,${nextHop ?? (setting === 'ipv6' ? '::' : '0.0.0.0')}`;
    if (metric !== undefined) text += `,${metric}`;
    out.push({ key, value: escapeString(text) });

    const attrs: string[] = [];
    const table = get('table') as number | undefined;
    if (table !== undefined) attrs.push(`table=${table}`);
    const kept = extra.get(`${key}_options`);
    if (kept !== undefined) attrs.push(...attributes(unescapeString(kept)));
    if (attrs.length > 0) {
      attrs.sort((a, b) => (attributeName(a) < attributeName(b) ? -1 : attributeName(a) > attributeName(b) ? 1 : 0));
      out.push({ key: `${key}_options`, value: escapeString(attrs.join(',')) });
    }
  });
  return out;
}

function secretStays(spec: PropertySpec, props: Map<string, Value>): boolean {
  if (!spec.secret) return true;
  const flags = (spec.secretFlags ? (props.get(spec.secretFlags)?.value as number | undefined) : undefined) ?? 0;
  return (flags & (SECRET_FLAG_AGENT_OWNED | SECRET_FLAG_NOT_SAVED)) === 0;
}

// A vpn secret KEY has its flags in the data item "KEY-flags" (nm-setting-vpn.c
// get_secret_flags()); one that does not parse counts as none, as there.
function dictItemStays(key: string, props: Map<string, Value>): boolean {
  const data = props.get('data')?.value as StringDict | undefined;
  const text = data !== undefined && Object.hasOwn(data, `${key}-flags`) ? data[`${key}-flags`] : undefined;
  const flags = text !== undefined && /^\d+$/.test(text) ? Number(text) : 0;
  return (flags & (SECRET_FLAG_AGENT_OWNED | SECRET_FLAG_NOT_SAVED)) === 0;
}

// write_hash_of_string(): one key per item, sorted by key.
function dictEntries(dict: StringDict, keep: (key: string) => boolean): Entry[] {
  return Object.entries(dict)
    .filter(([key]) => keep(key))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key, value: escapeString(value) }));
}

function propertyEntries(setting: string, spec: PropertySpec, v: Value, extra: Map<string, string>): Entry[] {
  const one = (value: string): Entry[] => [{ key: spec.name, value }];
  switch (spec.kind) {
    case 'connection-type':
      return one(escapeString(keyfileTypeName(v.value as string)));
    case 'mac':
    case 'cloned-mac':
      return one(macText(bytesOf(v)));
    case 'ssid':
      return one(ssidText(bytesOf(v)));
    case 'cert':
      return one(certText(bytesOf(v)));
    case 'address-data':
      return (v.value as Map<string, Value>[]).map((a, i) => ({
        key: `address${i + 1}`,
        value: escapeString(`${a.get('address')!.value as string}/${a.get('prefix')!.value as number}`),
      }));
    case 'route-data':
      return routeEntries(setting, v.value as Map<string, Value>[], extra);
    case 'routing-rules':
      return (v.value as Map<string, Value>[]).map((rule, i) => ({
        key: `routing-rule${i + 1}`,
        value: escapeString(formatRoutingRule(ruleFromDict(`${setting}.routing-rules[${i}]`, setting === 'ipv6' ? 6 : 4, rule))),
      }));
    case 'enum':
      return one(spec.choices![v.value as number] ?? String(v.value));
    case 'dns':
      return one(formatList(v.signature === 'au' ? (v.value as number[]).map(ipv4FromU32) : (v.value as Uint8Array[]).map(ipv6FromBytes), ';'));
    default:
      break;
  }
  switch (v.signature) {
    case 's':
      return one(escapeString(v.value as string));
    case 'b':
      return one(v.value ? 'true' : 'false');
    case 'u':
    case 'i':
      return one(String(v.value));
    case 'as':
      return one(formatList(v.value as string[], ';'));
    case 'ay':
      return one(byteList(bytesOf(v)));
    default:
      throw new Error(`BUG: no keyfile form for ${setting}.${spec.name} of D-Bus type ${v.signature}`);
  }
}

// NetworkManager writes a group's keys sorted by property name, except id,
// uuid and type first in [connection]; sorting kept keys in among ours makes
// a file NetworkManager wrote come back byte for byte.
const FIRST: readonly string[] = ['id', 'uuid', 'type'];
const PROPERTY_OF_KEYS: ReadonlyMap<string, string> = new Map([['address-data', 'addresses'], ['route-data', 'routes'], ['routing-rules', 'routing-rule']]);

function sortEntries(setting: string, entries: Array<Entry & { sortName: string }>): Entry[] {
  const rank = (e: { sortName: string }): number => (setting === 'connection' && FIRST.includes(e.sortName) ? FIRST.indexOf(e.sortName) : FIRST.length);
  return entries
    .sort((a, b) => rank(a) - rank(b) || (a.sortName < b.sortName ? -1 : a.sortName > b.sortName ? 1 : 0))
    .map(({ key, value }) => ({ key, value }));
}

export function toKeyfile(settings: Settings, extra: ExtraKeys): string {
  const groups: Array<{ name: string; entries: Entry[] }> = [];
  for (const name of settingNames()) {
    const props = settings.get(name);
    if (!props) continue;
    const spec = settingSpec(name)!;
    const kept = extra.get(spec.keyfileGroup) ?? [];
    const keptByKey = new Map(kept.map((e) => [e.key, e.value]));
    const entries: Array<Entry & { sortName: string }> = [];
    // Groups of their own, such as [vpn-secrets], follow the setting's group.
    const ownGroups: Array<{ name: string; entries: Entry[] }> = [];
    for (const [prop, pspec] of spec.properties) {
      const v = props.get(prop);
      if (!v || !secretStays(pspec, props)) continue;
      if (pspec.kind === 'string-dict') {
        const items = dictEntries(v.value as StringDict, (key) => !pspec.secret || dictItemStays(key, props));
        // NetworkManager writes the items where the property's name sorts.
        if (pspec.keyfileGroup === spec.keyfileGroup) for (const e of items) entries.push({ ...e, sortName: `${prop}\u0000${e.key}` });
        else if (items.length > 0) ownGroups.push({ name: pspec.keyfileGroup!, entries: items });
        continue;
      }
      const sortName = PROPERTY_OF_KEYS.get(prop) ?? prop;
      for (const e of propertyEntries(name, pspec, v, keptByKey)) entries.push({ ...e, sortName });
    }
    // What we write wins over a kept key of the same name.
    const written = new Set(entries.map((e) => e.key));
    for (const { key, value } of kept) if (!written.has(key)) entries.push({ key, value, sortName: key });
    groups.push({ name: spec.keyfileGroup, entries: sortEntries(name, entries) }, ...ownGroups);
  }
  // Kept keys of a known setting the profile no longer has go with it: written
  // alone they would bring the setting back on the next read.
  for (const [name, entries] of extra) {
    if (!settingForGroup(name)) groups.push({ name, entries: entries.map(({ key, value }) => ({ key, value })) });
  }
  return serializeKeyfile(groups);
}
