// Keyfile values: the parsers of one keyfile value (strings, lists,
// booleans, integers, MAC addresses, SSIDs, certificates, IP addresses and
// routes), following libnm-core-impl/nm-keyfile.c. A value that does not
// parse throws a Problem, which the reader turns into a file:line error.
import { isIPv4, isIPv6 } from 'node:net';
import { posix } from 'node:path';
import { parseList, unescapeString } from '../../config/ini.js';
import { quote } from '../errors.js';
import { value, type Value } from './value.js';

const CERT_PATH = 'file://';
const CERT_PKCS11 = 'pkcs11:';
const CERT_BLOB = 'data:;base64,';
const CERT_EXTENSIONS = ['.pem', '.cert', '.crt', '.cer', '.p12', '.der', '.key'];
// read_one_ip_address_or_route(): '/', ';' and ',' are interchangeable.
const IP_CHARS = '0123456789abcdefABCDEF:.%';
const DIGITS = '0123456789';
const DELIMITERS = '/;,';

export class Problem extends Error {}

export function str(raw: string): string {
  try {
    return unescapeString(raw);
  } catch (e) {
    throw new Problem((e as Error).message);
  }
}

// g_key_file_get_string() called without an error to fill, as
// NetworkManager reads vpn data and secrets (read_hash_of_string()), MAC
// addresses, SSIDs, certificates, addresses and routes: an
// unknown escape stays as written, a lone "\\" at the end is dropped.
export function lenientStr(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== '\\') out += raw[i];
    else if (i + 1 < raw.length) {
      const c = raw[++i];
      out += ({ s: ' ', n: '\n', t: '\t', r: '\r', '\\': '\\' } as Record<string, string>)[c] ?? `\\${c}`;
    }
  }
  return out;
}

export function list(raw: string): string[] {
  try {
    return parseList(raw, ';');
  } catch (e) {
    throw new Problem((e as Error).message);
  }
}

// _nm_utils_ascii_str_to_bool()
export function bool(raw: string): boolean {
  const word = raw.trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(word)) return true;
  if (['false', 'no', 'off', '0'].includes(word)) return false;
  throw new Problem(`${quote(raw)} is not a boolean; expected true or false`);
}

// _nm_utils_ascii_str_to_int64(str, 0, …): strtoll's base 0 (0x hex, 0 octal).
export function integer(raw: string, min: number, max: number): number {
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

export function mac(raw: string): Uint8Array {
  const text = lenientStr(raw);
  const old = intList(text);
  if (old) return old;
  if (!/^[0-9a-fA-F]{1,2}([:-][0-9a-fA-F]{1,2})*$/.test(text)) throw new Problem(`${quote(text)} is not a MAC address`);
  return Uint8Array.from(text.split(/[:-]/).map((h) => parseInt(h, 16)));
}

// get_bytes(…, unescape_semicolon = TRUE): printable SSIDs are written as
// text with ';' escaped as "\;", others as a list of byte values.
export function ssid(raw: string): Uint8Array {
  const text = lenientStr(raw);
  return intList(text) ?? Buffer.from(text.replace(/\\;/g, ';'), 'utf8');
}

// cert_parser(): "file://PATH", "pkcs11:URI", "data:;base64,DATA", a bare path
// (absolute, or relative to the profile's directory), or the old byte list.
export function cert(baseDir: string, raw: string): Uint8Array {
  const text = lenientStr(raw);
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
    const path = text.startsWith('/') ? text : posix.join(baseDir, posix.basename(text));
    return terminated(`${CERT_PATH}${path}`);
  }
  return terminated(text);
}

export function ipv4ToU32(text: string): number {
  // NetworkManager's ipv4.dns holds addresses in network byte order: the
  // uint32 whose bytes in memory are the address's bytes.
  return new Uint32Array(Uint8Array.from(text.split('.').map(Number)).buffer)[0];
}

export function ipv6ToBytes(text: string): Uint8Array {
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

export function isAddress(family: 4 | 6, text: string): boolean {
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
export function ipItem(family: 4 | 6, route: boolean, raw: string): IpItem {
  const text = lenientStr(raw);
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
export function splitAttributes(text: string): string[] {
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
