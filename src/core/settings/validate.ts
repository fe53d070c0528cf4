// Validation: turns settings a caller sent (or a profile file held) into the
// normalized settings the daemon stores, or says exactly which
// setting.property is wrong and what it accepts (docs/api.md). The rules follow
// NetworkManager's verify() of each setting where the project names no other.
import { isIPv4 } from 'node:net';
import { invalidArgument, quote } from '../errors.js';
import {
  allowedSettingsOf,
  baseSettingOf,
  canonicalType,
  connectionTypes,
  settingNames,
  settingSpec,
  type PropertySpec,
} from './schema.js';
import { checkAddress, checkAddressData, checkRouteData, familyOf } from './validate-ip.js';
import { checkRange, checkVariant } from './validate-variant.js';
import { ruleFromDict, ruleToDict } from './routing-rule.js';
import { stringDict, value, type Settings, type StringDict, type Value } from './value.js';

export interface ValidateOptions {
  readonly generateUuid: () => string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ID_MAX_BYTES = 1024;
const IFNAMSIZ = 16;
// C0, DEL and C1: none of them belongs in a file name, a log line or a table.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// In other strings tab, newline and carriage return are allowed (a keyfile
// escapes them); the other C0 characters cannot be written back exactly.
const STRING_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const PERMISSION = /^user:[^:]+:?$/;

function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Checks a UUID in the canonical 8-4-4-4-12 form and returns it in lowercase, as it is stored. */
export function validateUuid(uuid: string, what = 'connection.uuid'): string {
  if (!UUID.test(uuid)) {
    throw invalidArgument(`${what}: ${quote(uuid)} is not a UUID; expected 32 hexadecimal digits in the form 8-4-4-4-12, such as "0f2d3c4b-5a69-4788-9766-554433221100"`);
  }
  return uuid.toLowerCase();
}

/** True for a name of 1 to 15 ASCII letters, digits, '-', '_' and '.', other than "." and "..": most names, checked without a Buffer. */
function isPlainInterfaceName(name: string): boolean {
  if (name.length === 0 || name.length >= IFNAMSIZ || name === '.' || name === '..') return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const plain = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2e;
    if (!plain) return false;
  }
  return true;
}

function interfaceNameProblem(name: string): string | undefined {
  if (isPlainInterfaceName(name)) return undefined;
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length === 0) return 'it is empty';
  if (bytes.length >= IFNAMSIZ) return `it is ${bytes.length} bytes long`;
  if (name === '.' || name === '..') return `${quote(name)} names a directory in /sys/class/net`;
  if (LONE_SURROGATE.test(name)) return 'it is not valid UTF-8';
  // The kernel's dev_valid_name() works on bytes: isspace() there is also true
  // for 0xA0, which a UTF-8 sequence such as "à" (C3 A0) contains.
  for (const byte of bytes) {
    if (byte === 0) return 'it contains NUL';
    if (byte === 0x2f) return 'it contains "/"';
    if (byte === 0x3a) return 'it contains ":"';
    if ((byte >= 0x09 && byte <= 0x0d) || byte === 0x20 || byte === 0xa0) return 'it contains whitespace';
  }
  return undefined;
}

/** Checks a name as the kernel's dev_valid_name() does and returns it. */
export function validateInterfaceName(name: string, what = 'connection.interface-name'): string {
  const problem = interfaceNameProblem(name);
  if (problem !== undefined) {
    throw invalidArgument(`${what}: ${quote(name)} is not an interface name the kernel accepts (${problem}); a name has 1 to 15 bytes, is not "." or "..", and holds no "/", ":", whitespace or NUL`);
  }
  return name;
}

function validateId(id: string): string {
  const why = 'the id names the profile file, so it must be 1 to 1024 bytes of UTF-8 without "/" or control characters';
  const bytes = Buffer.byteLength(id, 'utf8');
  let problem: string | undefined;
  if (bytes === 0) problem = 'it is empty';
  else if (bytes > ID_MAX_BYTES) problem = `it is ${bytes} bytes long`;
  else if (id.includes('/')) problem = `${quote(id)} contains "/"`;
  else if (CONTROL.test(id)) problem = `${quote(id)} contains the control character ${codePoint(CONTROL.exec(id)![0])}`;
  else if (LONE_SURROGATE.test(id)) problem = `${quote(id)} is not valid UTF-8`;
  if (problem !== undefined) throw invalidArgument(`connection.id: ${problem}; ${why}`);
  return id;
}

// A secret's value is never quoted: the message reaches the caller and the log.
function checkString(key: string, s: string, secret: boolean): void {
  // Quoted only for a message: quote() costs more than the checks, and a profile has dozens of strings.
  const what = (): string => (secret ? 'the secret value' : quote(s));
  const bad = STRING_CONTROL.exec(s);
  if (bad) throw invalidArgument(`${key}: ${what()} contains the control character ${codePoint(bad[0])}; only tab, newline and carriage return are allowed`);
  if (LONE_SURROGATE.test(s)) throw invalidArgument(`${key}: ${what()} is not valid UTF-8`);
}

// A dictionary key becomes a keyfile key (NetworkManager's vpn data and
// secrets): it must read back as the same key of the same group.
const DICT_KEY_BAD = /[=[\]\u0000-\u001f\u007f]/;
// Keys of the vpn group that NetworkManager reads as properties, never as data items.
const VPN_PROPERTY_KEYS = ['service-type', 'user-name', 'persistent', 'timeout', 'data', 'secrets'];

function checkStringDict(key: string, setting: string, spec: PropertySpec, dict: StringDict): StringDict {
  const entries = Object.entries(dict);
  for (const [k, v] of entries) {
    const problem =
      k === '' ? 'is empty'
      : DICT_KEY_BAD.test(k) ? 'holds "=", "[", "]" or a control character'
      : /^\s|\s$/.test(k) ? 'starts or ends with whitespace'
      : k.startsWith('#') ? 'starts with "#"'
      : LONE_SURROGATE.test(k) ? 'is not valid UTF-8'
      : setting === 'vpn' && spec.name === 'data' && VPN_PROPERTY_KEYS.includes(k) ? 'names a property of the vpn setting'
      : undefined;
    if (problem !== undefined) throw invalidArgument(`${key}: the key ${quote(k)} ${problem}; a key is a non-empty name that a keyfile can hold`);
    if (v === '') throw invalidArgument(`${key}[${quote(k)}]: the value is empty; remove the item instead`);
    checkString(`${key}[${quote(k)}]`, v, spec.secret);
  }
  return stringDict(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function checkChoice(key: string, s: string, choices: readonly string[]): void {
  if (!choices.includes(s)) throw invalidArgument(`${key}: ${quote(s)} is not accepted; accepted: ${choices.join(', ')}`);
}

function checkMac(key: string, bytes: Uint8Array): void {
  if (bytes.length !== 6) throw invalidArgument(`${key}: a MAC address has 6 bytes, got ${bytes.length}`);
}

function checkParent(key: string, name: string): string {
  // NetworkManager lets a parent be named by interface or by connection UUID.
  if (UUID.test(name)) return name.toLowerCase();
  const problem = interfaceNameProblem(name);
  if (problem !== undefined) {
    throw invalidArgument(`${key}: ${quote(name)} is neither a connection UUID nor an interface name the kernel accepts (${problem}); a name has 1 to 15 bytes, is not "." or "..", and holds no "/", ":", whitespace or NUL`);
  }
  return name;
}

const CERT_PATH = Buffer.from('file://');
const CERT_PKCS11 = Buffer.from('pkcs11:');

function startsWith(bytes: Uint8Array, prefix: Buffer): boolean {
  return bytes.length >= prefix.length && Buffer.from(bytes.buffer, bytes.byteOffset, prefix.length).equals(prefix);
}

// NetworkManager's certificate schemes (nm-setting-8021x.c): "file://PATH\0"
// names a file, "pkcs11:URI\0" a token object, anything else is the data.
function checkCert(key: string, bytes: Uint8Array): void {
  for (const [prefix, what] of [[CERT_PATH, 'path'], [CERT_PKCS11, 'PKCS#11 URI']] as const) {
    if (!startsWith(bytes, prefix)) continue;
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const text = body.subarray(prefix.length, -1).toString('utf8');
    const ok = body.at(-1) === 0 && body.indexOf(0) === body.length - 1 && !text.includes('\uFFFD') && text.length > 0;
    if (!ok) throw invalidArgument(`${key}: a ${what} value must be ${quote(prefix.toString())} followed by UTF-8 text and one terminating NUL byte`);
    if (what === 'path' && !text.startsWith('/')) throw invalidArgument(`${key}: ${quote(text)} is not an absolute path`);
    return;
  }
  if (bytes.length === 0) throw invalidArgument(`${key}: the certificate or key data is empty`);
}

// Checks one property by its kind and returns its normalized value.
function checkProperty(setting: string, spec: PropertySpec, v: Value): Value {
  const key = `${setting}.${spec.name}`;
  checkVariant(key, spec.signature, v);
  const x = v.value;
  if (typeof x === 'string') checkString(key, x, spec.secret);
  if (spec.signature === 'as') for (const e of x as string[]) checkString(key, e, spec.secret);
  if (spec.range && typeof x === 'number') checkRange(key, x, spec.range);
  if (spec.choices && typeof x === 'string') checkChoice(key, x, spec.choices);
  if (spec.choices && spec.signature === 'as') for (const e of x as string[]) checkChoice(key, e, spec.choices);

  switch (spec.kind) {
    case 'id':
      return value('s', validateId(x as string));
    case 'uuid':
      return value('s', validateUuid(x as string));
    case 'connection-type': {
      const type = canonicalType(x as string);
      if (type === undefined) {
        throw invalidArgument(`${key}: ${quote(x)} is not a supported connection type; accepted: ${connectionTypes().join(', ')}, and the aliases ethernet, wifi`);
      }
      return value('s', type);
    }
    case 'ifname':
      return value('s', validateInterfaceName(x as string, key));
    case 'parent':
      return value('s', checkParent(key, x as string));
    case 'mac':
    case 'cloned-mac':
      checkMac(key, x as Uint8Array);
      return v;
    case 'mtu':
      if (x !== 0 && ((x as number) < 68 || (x as number) > 65535)) {
        throw invalidArgument(`${key}: ${x as number} is out of range; accepted: 0 (the link's default) or 68 to 65535`);
      }
      return v;
    case 'ssid': {
      const n = (x as Uint8Array).length;
      if (n < 1 || n > 32) throw invalidArgument(`${key}: an SSID has 1 to 32 bytes, got ${n}`);
      return v;
    }
    case 'cert':
      checkCert(key, x as Uint8Array);
      return v;
    case 'address-data':
      return value(spec.signature, checkAddressData(key, familyOf(setting), x as Map<string, Value>[]));
    case 'route-data':
      return value(spec.signature, checkRouteData(key, familyOf(setting), x as Map<string, Value>[]));
    case 'routing-rules':
      return value(spec.signature, (x as Map<string, Value>[]).map((rule, i) => ruleToDict(ruleFromDict(`${key}[${i}]`, familyOf(setting), rule))));
    case 'gateway':
      return value('s', checkAddress(key, familyOf(setting), x as string));
    case 'ip':
      return value('s', checkAddress(key, undefined, x as string));
    case 'dns':
      if (spec.signature === 'aay') {
        (x as Uint8Array[]).forEach((a, i) => {
          if (a.length !== 16) throw invalidArgument(`${key}[${i}]: an IPv6 address has 16 bytes, got ${a.length}`);
        });
      }
      return v;
    case 'dns-search':
      for (const domain of x as string[]) {
        if (domain === '' || /\s/.test(domain)) throw invalidArgument(`${key}: ${quote(domain)} is not a DNS domain; a domain is non-empty and holds no whitespace`);
      }
      return v;
    case 'string-dict':
      return value(spec.signature, checkStringDict(key, setting, spec, x as StringDict));
    case 'permissions':
      for (const p of x as string[]) {
        if (!PERMISSION.test(p)) throw invalidArgument(`${key}: ${quote(p)} is not accepted; accepted: "user:NAME:" entries`);
      }
      return v;
    default:
      return v;
  }
}

function isEmptyList(v: Value): boolean {
  if (v.signature === 'a{ss}') return Object.keys(v.value as StringDict).length === 0;
  return v.signature.startsWith('a') && v.signature !== 'ay' && (v.value as unknown[]).length === 0;
}

function valueAt(settings: Settings, setting: string, prop: string): unknown {
  return settings.get(setting)?.get(prop)?.value;
}

function choicesOf(setting: string, prop: string): string {
  return settingSpec(setting)!.properties.get(prop)!.choices!.join(', ');
}

function checkIp(settings: Settings, setting: string): void {
  const props = settings.get(setting);
  if (!props) return;
  const method = props.get('method')?.value as string | undefined;
  if (method === undefined) throw invalidArgument(`${setting}.method: missing; accepted: ${choicesOf(setting, 'method')}`);
  const has = (p: string): boolean => props.has(p);
  if (method === 'manual' && !has('address-data') && !has('route-data')) {
    throw invalidArgument(`${setting}.method: "manual" needs at least one address in ${setting}.address-data or one route in ${setting}.route-data`);
  }
  if (method === 'disabled' || method === 'link-local' || method === 'ignore') {
    for (const p of ['address-data', 'gateway', 'dns', 'dns-search']) {
      if (has(p)) throw invalidArgument(`${setting}.${p}: not allowed with ${setting}.method ${quote(method)}; use "manual" or "auto"`);
    }
  }
  if (has('gateway') && !has('address-data')) {
    throw invalidArgument(`${setting}.gateway: a gateway needs an address in ${setting}.address-data`);
  }
}

// Rules across properties, after each property passed on its own.
function checkConnection(out: Settings, type: string): void {
  const conn = out.get('connection')!;
  const master = conn.get('master');
  const slaveType = conn.get('slave-type');
  if (slaveType && !master) {
    throw invalidArgument(`connection.master: missing; a port (connection.slave-type ${quote(slaveType.value)}) needs the interface name or UUID of its controller`);
  }
  if (master && !slaveType) {
    // NetworkManager infers the port type from the port setting.
    if (!out.has('bridge-port')) throw invalidArgument('connection.slave-type: missing; a profile with connection.master needs connection.slave-type "bridge"');
    conn.set('slave-type', value('s', 'bridge'));
  }
  if (out.has('bridge-port') && !master) {
    throw invalidArgument('bridge-port: only a bridge port has this setting; set connection.master and connection.slave-type "bridge"');
  }

  checkIp(out, 'ipv4');
  checkIp(out, 'ipv6');

  if (type === 'veth') {
    if (!conn.has('interface-name')) throw invalidArgument('connection.interface-name: missing; a veth profile names its own end of the pair');
    if (valueAt(out, 'veth', 'peer') === undefined) throw invalidArgument('veth.peer: missing; a veth profile needs the interface name of the other end');
  }
  if (type === 'vlan' || type === 'macvlan') {
    if (valueAt(out, type, 'parent') === undefined && valueAt(out, '802-3-ethernet', 'mac-address') === undefined) {
      throw invalidArgument(`${type}.parent: missing; name the parent interface (or its connection UUID), or set 802-3-ethernet.mac-address`);
    }
  }
  if (type === '802-11-wireless' && valueAt(out, '802-11-wireless', 'ssid') === undefined) {
    throw invalidArgument('802-11-wireless.ssid: missing; a wifi profile needs the SSID of its network (1 to 32 bytes)');
  }

  const sec = out.get('802-11-wireless-security');
  if (sec) {
    const keyMgmt = sec.get('key-mgmt')?.value as string | undefined;
    if (keyMgmt === undefined) throw invalidArgument(`802-11-wireless-security.key-mgmt: missing; accepted: ${choicesOf('802-11-wireless-security', 'key-mgmt')}`);
    const psk = sec.get('psk')?.value as string | undefined;
    // nm_utils_wpa_psk_valid(): a passphrase of 8-63 printable ASCII characters, or 64 hex digits.
    if (keyMgmt === 'wpa-psk' && psk !== undefined && !/^[\x20-\x7e]{8,63}$/.test(psk) && !/^[0-9a-fA-F]{64}$/.test(psk)) {
      throw invalidArgument('802-11-wireless-security.psk: a WPA passphrase has 8 to 63 printable ASCII characters, or is a key of 64 hexadecimal digits');
    }
    // nm_utils_wep_key_valid() with the key type unknown: a key (10 or 26 hex
    // digits, 5 or 13 characters) or a passphrase of 1 to 64 bytes.
    for (const prop of ['wep-key0', 'wep-key1', 'wep-key2', 'wep-key3']) {
      const key = sec.get(prop)?.value as string | undefined;
      if (key === undefined) continue;
      const bytes = Buffer.byteLength(key, 'utf8');
      if (bytes === 0 || bytes > 64) {
        throw invalidArgument(`802-11-wireless-security.${prop}: a WEP key has 10 or 26 hexadecimal digits or 5 or 13 characters, or is a passphrase of 1 to 64 bytes`);
      }
    }
  }
  const vpn = out.get('vpn');
  if (vpn) {
    // nm-setting-vpn.c verify(): the plugin must be named; a user name, if any, is not empty.
    const service = vpn.get('service-type')?.value as string | undefined;
    if (service === undefined || service === '') {
      throw invalidArgument('vpn.service-type: missing; name the VPN plugin\'s D-Bus service, such as "org.freedesktop.NetworkManager.openvpn"');
    }
    if (vpn.get('user-name')?.value === '') throw invalidArgument('vpn.user-name: empty; leave it out instead');
  }
  const eap = valueAt(out, '802-1x', 'eap') as string[] | undefined;
  if (out.has('802-1x') && (eap === undefined || eap.length === 0)) {
    throw invalidArgument(`802-1x.eap: missing; accepted: ${choicesOf('802-1x', 'eap')}`);
  }

  const stp = valueAt(out, 'bridge', 'stp');
  const delay = valueAt(out, 'bridge', 'forward-delay') as number | undefined;
  // Without STP the kernel ignores the delay, so NetworkManager accepts 0 there.
  if (delay !== undefined && !(delay === 0 && stp === false) && delay < 2) {
    throw invalidArgument(`bridge.forward-delay: ${delay} is out of range; accepted: 2 to 30 (or 0 with bridge.stp false)`);
  }

  // nm-setting-macvlan.c verify(): the kernel takes MACVLAN_FLAG_NOPROMISC in passthru mode only.
  if (valueAt(out, 'macvlan', 'promiscuous') === false && valueAt(out, 'macvlan', 'mode') !== 4) {
    throw invalidArgument('macvlan.promiscuous: false is accepted only with macvlan.mode 4 (passthru)');
  }

  const local = valueAt(out, 'vxlan', 'local') as string | undefined;
  const remote = valueAt(out, 'vxlan', 'remote') as string | undefined;
  if (local !== undefined && remote !== undefined && isIPv4(local) !== isIPv4(remote)) {
    throw invalidArgument(`vxlan.local: ${quote(local)} and vxlan.remote ${quote(remote)} must be of the same address family`);
  }
}

/** `props` in the order of the setting's properties (`schema`); a small setting is not walked through its schema's dozens. */
function inSchemaOrder(schema: ReadonlyMap<string, PropertySpec>, props: ReadonlyMap<string, Value>): Map<string, Value> {
  const index = schemaIndex(schema);
  return new Map([...props].filter(([p]) => index.has(p)).sort(([a], [b]) => index.get(a)! - index.get(b)!));
}

const schemaIndexes = new WeakMap<ReadonlyMap<string, PropertySpec>, ReadonlyMap<string, number>>();

function schemaIndex(schema: ReadonlyMap<string, PropertySpec>): ReadonlyMap<string, number> {
  let index = schemaIndexes.get(schema);
  if (!index) schemaIndexes.set(schema, (index = new Map([...schema.keys()].map((p, i) => [p, i]))));
  return index;
}

export function validateSettings(input: Settings, options: ValidateOptions): Settings {
  const checked = new Map<string, Map<string, Value>>();
  for (const [name, props] of input) {
    const spec = settingSpec(name);
    if (!spec) throw invalidArgument(`unknown setting ${quote(name)}; accepted settings: ${settingNames().join(', ')}`);
    const out = new Map<string, Value>();
    for (const [prop, v] of props) {
      const pspec = spec.properties.get(prop);
      if (!pspec) {
        const accepted = [...spec.properties.keys()].join(', ') || 'no properties';
        throw invalidArgument(`unknown property ${quote(`${name}.${prop}`)}; ${name} accepts: ${accepted}`);
      }
      const normalized = checkProperty(name, pspec, v);
      // An empty list means "none" to NetworkManager, and a keyfile cannot
      // tell the two apart: storing none keeps memory and disk equal.
      if (!isEmptyList(normalized)) out.set(prop, normalized);
    }
    checked.set(name, out);
  }

  const conn = checked.get('connection') ?? new Map<string, Value>();
  checked.set('connection', conn);
  if (!conn.has('id')) throw invalidArgument('connection.id: missing; every profile needs an id, which also names its file');
  const type = conn.get('type')?.value as string | undefined;
  if (type === undefined) {
    throw invalidArgument(`connection.type: missing; accepted: ${connectionTypes().join(', ')}, and the aliases ethernet, wifi`);
  }
  if (!conn.has('uuid')) conn.set('uuid', value('s', validateUuid(options.generateUuid())));

  const allowed = allowedSettingsOf(type);
  for (const name of checked.keys()) {
    if (!allowed.includes(name)) {
      throw invalidArgument(`${name}: this setting does not belong to a profile of type ${quote(type)}; accepted settings: ${allowed.join(', ')}`);
    }
  }
  // NetworkManager adds the base-type setting when it is missing.
  const base = baseSettingOf(type)!;
  if (!checked.has(base)) checked.set(base, new Map());

  checkConnection(checked, type);

  // Schema order, so that files, diffs and replies do not depend on the caller's order.
  const ordered: Settings = new Map();
  for (const name of settingNames()) {
    const props = checked.get(name);
    if (!props) continue;
    const spec = settingSpec(name)!;
    ordered.set(name, inSchemaOrder(spec.properties, props));
  }
  return ordered;
}

/**
 * One property checked on its own, as validateSettings checks it, and its
 * normalized value; for a profile file kept although netauditd refuses some
 * of its values (stored-profile.ts), which are told apart property by property.
 */
export function validateProperty(setting: string, prop: string, v: Value): Value {
  const spec = settingSpec(setting)?.properties.get(prop);
  if (!spec) throw invalidArgument(`unknown property ${quote(`${setting}.${prop}`)}`);
  return checkProperty(setting, spec, v);
}
