// Keyfile reader: a NetworkManager keyfile profile → settings, following
// libnm-core-impl/nm-keyfile.c (the parsers of nm_keyfile_read()), the older
// forms it still reads included. Groups and keys we do not know are kept
// raw as ExtraKeys so that a rewrite loses nothing (SPEC §2); a known key
// whose value does not parse rejects the file with its file:line.
import { isIPv4, isIPv6 } from 'node:net';
import { posix } from 'node:path';
import { escapeString, parseList, unescapeString, type Keyfile, type KeyfileEntry } from '../../config/ini.js';
import { quote } from '../errors.js';
import { settingForGroup, type PropertySpec, type SettingSpec } from './schema.js';
import { value, type Settings, type Value } from './value.js';

// Keyfile group name (NetworkManager's alias for known settings) → its
// unknown keys, values raw as found, in file order.
export type ExtraKeys = Map<string, Array<{ key: string; value: string }>>;

export class ProfileFormatError extends Error {
  readonly file: string;
  readonly line: number;

  constructor(file: string, line: number, detail: string) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'ProfileFormatError';
    this.file = file;
    this.line = line;
  }
}

// Special cloned-mac-address values (NM_CLONED_MAC_*): meaningful to
// NetworkManager, but not a MAC address our byte-array property can hold.
const CLONED_MAC_WORDS = ['preserve', 'permanent', 'random', 'stable', 'stable-ssid'];
const CERT_PATH = 'file://';
const CERT_PKCS11 = 'pkcs11:';
const CERT_BLOB = 'data:;base64,';
const CERT_EXTENSIONS = ['.pem', '.cert', '.crt', '.cer', '.p12', '.der', '.key'];
// read_one_ip_address_or_route(): '/', ';' and ',' are interchangeable.
const IP_CHARS = '0123456789abcdefABCDEF:.%';
const DIGITS = '0123456789';
const DELIMITERS = '/;,';
const ADDRESS_KEY = /^(address|addresses)(0|[1-9][0-9]*)?$/;
const ROUTE_KEY = /^(route|routes)(0|[1-9][0-9]*)?$/;
const ROUTE_OPTIONS_KEY = /^(route|routes)(0|[1-9][0-9]*)?_options$/;
// Names NetworkManager 1.46 writes for master and slave-type.
const RENAMED: ReadonlyMap<string, string> = new Map([['controller', 'master'], ['port-type', 'slave-type']]);

class Problem extends Error {}

interface Context {
  readonly file: string;
  readonly baseDir: string;
  readonly extra: ExtraKeys;
}

function fail(ctx: Context, group: string, entry: KeyfileEntry, problem: string): never {
  throw new ProfileFormatError(ctx.file, entry.line, `[${group}] ${entry.key}: ${problem}`);
}

function str(raw: string): string {
  try {
    return unescapeString(raw);
  } catch (e) {
    throw new Problem((e as Error).message);
  }
}

function list(raw: string): string[] {
  try {
    return parseList(raw, ';');
  } catch (e) {
    throw new Problem((e as Error).message);
  }
}

// _nm_utils_ascii_str_to_bool()
function bool(raw: string): boolean {
  const word = raw.trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(word)) return true;
  if (['false', 'no', 'off', '0'].includes(word)) return false;
  throw new Problem(`${quote(raw)} is not a boolean; expected true or false`);
}

// _nm_utils_ascii_str_to_int64(str, 0, …): strtoll's base 0 (0x hex, 0 octal).
function integer(raw: string, min: number, max: number): number {
  const text = raw.trim();
  const m = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))$/.exec(text);
  const magnitude = m ? (m[2] !== undefined ? parseInt(m[2], 16) : m[3] !== undefined ? parseInt(m[3], 8) : parseInt(m[4], 10)) : NaN;
  const n = m?.[1] === '-' ? -magnitude : magnitude;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Problem(`${quote(raw)} is not an integer from ${min} to ${max}`);
  return n;
}

const INT_LIST = /^\s*(\d{1,3}\s*;\s*)+$/;

// The old form of byte arrays, "12;34;56;"; null when the text is not one.
function intList(text: string): Uint8Array | null {
  if (!INT_LIST.test(text)) return null;
  const bytes = text.split(';').filter((p) => p.trim() !== '').map((p) => Number(p.trim()));
  return bytes.every((n) => n <= 255) ? Uint8Array.from(bytes) : null;
}

function mac(raw: string): Uint8Array {
  const text = str(raw);
  const old = intList(text);
  if (old) return old;
  if (!/^[0-9a-fA-F]{1,2}([:-][0-9a-fA-F]{1,2})*$/.test(text)) throw new Problem(`${quote(text)} is not a MAC address`);
  return Uint8Array.from(text.split(/[:-]/).map((h) => parseInt(h, 16)));
}

// get_bytes(…, unescape_semicolon = TRUE): printable SSIDs are written as
// text with ';' escaped as "\;", others as a list of byte values.
function ssid(raw: string): Uint8Array {
  const text = str(raw);
  return intList(text) ?? Buffer.from(text.replace(/\\;/g, ';'), 'utf8');
}

// cert_parser(): "file://PATH", "pkcs11:URI", "data:;base64,DATA", a bare path
// (absolute, or relative to the profile's directory), or the old byte list.
function cert(ctx: Context, raw: string): Uint8Array {
  const text = str(raw);
  const old = intList(text);
  if (old) return old;
  const terminated = (s: string): Uint8Array => Buffer.from(`${s}\0`, 'utf8');
  if (text.startsWith(CERT_PATH) || text.startsWith(CERT_PKCS11)) return terminated(text);
  if (text.startsWith(CERT_BLOB)) {
    const data = text.slice(CERT_BLOB.length);
    if (data === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(data) || data.length % 4 !== 0) throw new Problem('the data after "data:;base64," is not base64');
    return Buffer.from(data, 'base64');
  }
  const looksLikePath = text.includes('/') || CERT_EXTENSIONS.some((ext) => text.endsWith(ext));
  if (looksLikePath && Buffer.byteLength(text) <= 500) {
    const path = text.startsWith('/') ? text : posix.join(ctx.baseDir, posix.basename(text));
    return terminated(`${CERT_PATH}${path}`);
  }
  return terminated(text);
}

function ipv4ToU32(text: string): number {
  // NetworkManager's ipv4.dns holds addresses in network byte order: the
  // uint32 whose bytes in memory are the address's bytes.
  return new Uint32Array(Uint8Array.from(text.split('.').map(Number)).buffer)[0];
}

function ipv6ToBytes(text: string): Uint8Array {
  // An embedded IPv4 tail ("::ffff:192.0.2.1") becomes its two 16-bit words.
  const hex = text.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) =>
    `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`);
  const words = (s: string): number[] => (s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  const [head, tail] = hex.split('::');
  const left = words(head);
  const right = tail === undefined ? [] : words(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

function isAddress(family: 4 | 6, text: string): boolean {
  return family === 4 ? isIPv4(text) : isIPv6(text) && !text.includes('%');
}

interface Cursor {
  rest: string | null;
}

// read_field(): a run of `chars` ended by a delimiter or the end. A bad
// character leaves the cursor where it was, so an optional field can be skipped.
function readField(cur: Cursor, chars: string): { field: string | null; bad?: string } {
  if (cur.rest === null || cur.rest === '') return { field: null };
  const rest = cur.rest;
  let i = 0;
  while (i < rest.length && chars.includes(rest[i])) i++;
  if (i === rest.length) {
    cur.rest = null;
    return { field: rest };
  }
  if (DELIMITERS.includes(rest[i])) {
    cur.rest = rest.slice(i + 1);
    return { field: rest.slice(0, i) };
  }
  return { field: null, bad: rest[i] };
}

interface IpItem {
  readonly entry: Map<string, Value>;
  readonly gateway?: string;
}

// read_one_ip_address_or_route(): ADDR[/PLEN][,GATEWAY] for addresses,
// DEST[/PLEN][,NEXT-HOP[,METRIC]] for routes.
function ipItem(family: 4 | 6, route: boolean, raw: string): IpItem {
  const text = str(raw);
  const cur: Cursor = { rest: text };
  const badChar = (c: string): never => {
    throw new Problem(`unexpected character ${quote(c)} in ${quote(text)}`);
  };
  const address = readField(cur, IP_CHARS);
  if (address.bad !== undefined) badChar(address.bad);
  const plen = readField(cur, DIGITS);
  const gateway = readField(cur, IP_CHARS);
  if (gateway.bad !== undefined) badChar(gateway.bad);
  const metric = route ? readField(cur, DIGITS) : { field: null };
  if (metric.bad !== undefined) badChar(metric.bad);
  if (cur.rest !== null && cur.rest !== '') throw new Problem(`unexpected text at the end of ${quote(text)}`);

  if (address.field === null || !isAddress(family, address.field)) throw new Problem(`${quote(text)} does not start with an IPv${family} address`);
  // NetworkManager's defaults for a missing prefix length (DEFAULT_PREFIX).
  const defaultPrefix = family === 4 ? 24 : route ? 128 : 64;
  const max = family === 4 ? 32 : 128;
  let prefix = defaultPrefix;
  if (plen.field !== null && /^\d+$/.test(plen.field) && Number(plen.field) <= max) prefix = Number(plen.field);

  let gw = gateway.field === '' ? null : gateway.field;
  let metricText = metric.field;
  if (route && gw !== null && !isAddress(family, gw)) {
    // bgo#719851: an old writer put "DEST/PLEN,METRIC" when the next hop was "::".
    if (family === 6 && metricText === null && /^\d+$/.test(gw)) {
      metricText = gw;
      gw = null;
    } else {
      throw new Problem(`${quote(gw)} is not an IPv${family} next hop`);
    }
  }
  const entry = new Map<string, Value>();
  entry.set(route ? 'dest' : 'address', value('s', address.field));
  entry.set('prefix', value('u', prefix));
  if (!route) return gw === null ? { entry } : { entry, gateway: gw };
  // The any address means "no next hop" (nm_ip_route_new canonicalizes it away).
  if (gw !== null && gw !== '0.0.0.0' && !/^[0:]+$/.test(gw)) entry.set('next-hop', value('s', gw));
  if (metricText !== null) entry.set('metric', value('u', integer(metricText, 0, 0xffffffff)));
  return { entry };
}

// nm_utils_parse_variant_attributes(): NAME=VALUE pairs split at unescaped ','.
function splitAttributes(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && i + 1 < text.length) current += text[i] + text[++i];
    else if (text[i] === ',') {
      out.push(current);
      current = '';
    } else current += text[i];
  }
  if (current !== '') out.push(current);
  return out;
}

interface Group {
  readonly name: string;
  readonly spec?: SettingSpec;
  readonly entries: Map<string, KeyfileEntry>;
}

// GLib merges repeated groups and takes the last of repeated keys; a group
// named by its alias and by its D-Bus name is one setting.
function mergeGroups(kf: Keyfile): Group[] {
  const groups = new Map<string, Group>();
  for (const g of kf.groups) {
    const spec = settingForGroup(g.name);
    const name = spec?.keyfileGroup ?? g.name;
    let group = groups.get(name);
    if (!group) groups.set(name, (group = { name, ...(spec ? { spec } : {}), entries: new Map() }));
    for (const entry of g.entries) group.entries.set(entry.key, entry);
  }
  return [...groups.values()];
}

function readIp(ctx: Context, group: Group, props: Map<string, Value>, extra: Array<{ key: string; value: string }>): Set<string> {
  const family = group.spec!.name === 'ipv6' ? 6 : 4;
  const used = new Set<string>();
  const collect = (pattern: RegExp): KeyfileEntry[] =>
    [...group.entries.values()]
      .filter((e) => pattern.test(e.key))
      .map((e) => ({ e, m: pattern.exec(e.key)! }))
      // _build_list_create(): by index (none before 0, 1, …), then "address" before "addresses".
      .sort((a, b) => (a.m[2] === undefined ? -1 : Number(a.m[2])) - (b.m[2] === undefined ? -1 : Number(b.m[2])) || a.m[1].length - b.m[1].length)
      .map(({ e }) => e);
  const attempt = <T>(entry: KeyfileEntry, f: () => T): T => {
    used.add(entry.key);
    try {
      return f();
    } catch (e) {
      if (e instanceof Problem) fail(ctx, group.name, entry, e.message);
      throw e;
    }
  };

  const addresses: Map<string, Value>[] = [];
  let gatewayFromAddress: string | undefined;
  for (const entry of collect(ADDRESS_KEY)) {
    const item = attempt(entry, () => ipItem(family, false, entry.value));
    addresses.push(item.entry);
    gatewayFromAddress ??= item.gateway;
  }
  if (addresses.length > 0) props.set('address-data', value('aa{sv}', addresses));
  // The "gateway" key wins over one given with an address (gateway_parser()).
  if (gatewayFromAddress !== undefined && !group.entries.has('gateway')) props.set('gateway', value('s', gatewayFromAddress));

  const routes: Map<string, Value>[] = [];
  for (const entry of collect(ROUTE_KEY)) {
    const { entry: route } = attempt(entry, () => ipItem(family, true, entry.value));
    const options = group.entries.get(`${entry.key}_options`);
    if (options) {
      const unknown = attempt(options, () => {
        const rest: string[] = [];
        for (const attr of splitAttributes(str(options.value))) {
          const eq = attr.indexOf('=');
          if (attr.slice(0, eq) === 'table') route.set('table', value('u', integer(attr.slice(eq + 1), 0, 0xffffffff)));
          else rest.push(attr);
        }
        return rest;
      });
      // Attributes we do not know follow the route to the number the writer gives it.
      if (unknown.length > 0) extra.push({ key: `route${routes.length + 1}_options`, value: escapeString(unknown.join(',')) });
    }
    routes.push(route);
  }
  if (routes.length > 0) props.set('route-data', value('aa{sv}', routes));
  // Options of a route that is not there: NetworkManager ignores them; we keep them.
  for (const e of group.entries.values()) {
    if (!ROUTE_OPTIONS_KEY.test(e.key) || used.has(e.key)) continue;
    used.add(e.key);
    extra.push({ key: e.key, value: e.value });
  }
  return used;
}

// One known property; undefined when the value is NetworkManager's but not
// representable here, so that the key is kept as an extra one.
function readProperty(ctx: Context, setting: string, spec: PropertySpec, raw: string): Value | undefined {
  const v = (x: unknown): Value => value(spec.signature, x);
  switch (spec.kind) {
    case 'connection-type':
      return v(settingForGroup(str(raw))?.name ?? str(raw));
    case 'mac':
      return v(mac(raw));
    case 'cloned-mac':
      return CLONED_MAC_WORDS.includes(str(raw)) ? undefined : v(mac(raw));
    case 'ssid':
      return v(ssid(raw));
    case 'cert':
      return v(cert(ctx, raw));
    case 'dns': {
      const servers = list(raw);
      // DNS-over-TLS URIs and "ADDR#SNI" forms of newer NetworkManager.
      if (servers.some((s) => s.includes('#') || s.includes('://'))) return undefined;
      const family = setting === 'ipv6' ? 6 : 4;
      for (const s of servers) if (!isAddress(family, s)) throw new Problem(`${quote(s)} is not an IPv${family} address`);
      return v(family === 4 ? servers.map(ipv4ToU32) : servers.map(ipv6ToBytes));
    }
    default:
      break;
  }
  switch (spec.signature) {
    case 's':
      return v(spec.name === 'slave-type' ? (settingForGroup(str(raw))?.name ?? str(raw)) : str(raw));
    case 'b':
      return v(bool(raw));
    case 'u':
      return v(integer(raw, 0, 0xffffffff));
    case 'i':
      return v(integer(raw, -0x80000000, 0x7fffffff));
    case 'as':
      return v(list(raw));
    default:
      throw new Problem(`no keyfile form for D-Bus type ${spec.signature}`);
  }
}

export function fromKeyfile(kf: Keyfile): { settings: Settings; extra: ExtraKeys } {
  const ctx: Context = { file: kf.file, baseDir: posix.dirname(kf.file), extra: new Map() };
  const settings: Settings = new Map();
  for (const group of mergeGroups(kf)) {
    const extra: Array<{ key: string; value: string }> = [];
    if (!group.spec) {
      ctx.extra.set(group.name, [...group.entries.values()].map(({ key, value: raw }) => ({ key, value: raw })));
      continue;
    }
    const props = new Map<string, Value>();
    const setting = group.spec.name;
    const used = setting === 'ipv4' || setting === 'ipv6' ? readIp(ctx, group, props, extra) : new Set<string>();
    for (const entry of group.entries.values()) {
      if (used.has(entry.key)) continue;
      let prop = entry.key;
      if (setting === 'connection' && RENAMED.has(prop)) {
        if (group.entries.has(RENAMED.get(prop)!)) continue;
        prop = RENAMED.get(prop)!;
      }
      const spec = group.spec.properties.get(prop);
      const read = spec && !(spec.kind === 'address-data' || spec.kind === 'route-data') ? attemptRead(ctx, group, entry, setting, spec) : undefined;
      if (read) props.set(prop, read);
      else extra.push({ key: entry.key, value: entry.value });
    }
    settings.set(setting, props);
    if (extra.length > 0) ctx.extra.set(group.name, extra);
  }
  return { settings, extra: ctx.extra };
}

function attemptRead(ctx: Context, group: Group, entry: KeyfileEntry, setting: string, spec: PropertySpec): Value | undefined {
  try {
    return readProperty(ctx, setting, spec, entry.value);
  } catch (e) {
    if (e instanceof Problem) fail(ctx, group.name, entry, e.message);
    throw e;
  }
}
