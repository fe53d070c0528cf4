// A profile property's value as text, nmcli's way: addresses as
// `192.0.2.1/24`, routes as `192.0.2.0/24 10.0.0.1 100`, ipv4.dns as dotted
// quads, MAC addresses as `AA:BB:…`, an SSID as its text. Lists stay lists
// (one string per element) so that render shows them in each mode and JSON
// keeps them as arrays. The raw text may hold anything: render escapes it.
import type { PropertySpec } from '../core/settings/schema.js';
import type { Cell } from './format/render.js';
import { bytesToIpv6, networkU32ToIpv4 } from './ip-text.js';
import type { Typed } from './settings-value.js';

const CERT_PATH = 'file://';

function field(entry: Record<string, Typed>, key: string): unknown {
  return entry[key]?.value;
}

function addressText(entry: Record<string, Typed>): string {
  return `${String(field(entry, 'address'))}/${String(field(entry, 'prefix'))}`;
}

function routeText(entry: Record<string, Typed>): string {
  const parts = [`${String(field(entry, 'dest'))}/${String(field(entry, 'prefix'))}`];
  const nextHop = field(entry, 'next-hop');
  const metric = field(entry, 'metric');
  if (nextHop !== undefined) parts.push(String(nextHop));
  if (metric !== undefined) parts.push(String(metric));
  for (const [key, v] of Object.entries(entry)) {
    if (!['dest', 'prefix', 'next-hop', 'metric'].includes(key)) parts.push(`${key}=${String(v.value)}`);
  }
  return parts.join(' ');
}

function bytes(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : Uint8Array.from(value as number[]);
}

function macText(value: unknown): string {
  return [...bytes(value)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

function certText(value: unknown): string {
  const text = Buffer.from(bytes(value)).toString('utf8');
  if (text.startsWith(CERT_PATH) && text.endsWith('\0')) return text.slice(CERT_PATH.length, -1);
  if (text.startsWith('pkcs11:') && text.endsWith('\0')) return text.slice(0, -1);
  return `<${bytes(value).length} bytes of data>`;
}

/** The value of a property as a render cell; `spec` (from the schema) names its kind when known. */
export function valueCell(v: Typed, spec: PropertySpec | undefined): Cell {
  const { signature, value } = v;
  const kind = spec?.kind;
  switch (signature) {
    case 's':
    case 'b':
      return value as string | boolean;
    case 'i':
      if (kind === 'enum') return spec!.choices![value as number] ?? (value as number);
      return value as number;
    case 'u':
    case 'y':
    case 'n':
    case 'q':
      return value as number;
    case 't':
    case 'x':
      return Number(value);
    case 'as':
      return [...(value as string[])];
    case 'au':
      return kind === 'dns' ? (value as number[]).map(networkU32ToIpv4) : (value as number[]).map(String);
    case 'aay':
      return (value as Uint8Array[]).map((b) => (kind === 'dns' ? bytesToIpv6(bytes(b)) : Buffer.from(bytes(b)).toString('hex')));
    case 'ay':
      if (kind === 'mac' || kind === 'cloned-mac') return macText(value);
      if (kind === 'ssid') return Buffer.from(bytes(value)).toString('utf8');
      if (kind === 'cert') return certText(value);
      return Buffer.from(bytes(value)).toString('hex');
    case 'aa{sv}': {
      const entries = value as Array<Record<string, Typed>>;
      if (kind === 'address-data') return entries.map(addressText);
      if (kind === 'route-data') return entries.map(routeText);
      return entries.map((e) => Object.entries(e).map(([k, x]) => `${k}=${String(x.value)}`).join(' '));
    }
    default:
      return JSON.stringify(value, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  }
}

/** The elements of a list value as text (for `-` in modify); a scalar is a list of one. */
export function elementTexts(v: Typed, spec: PropertySpec | undefined): string[] {
  const cell = valueCell(v, spec);
  if (Array.isArray(cell)) return [...(cell as readonly string[])];
  return cell === null ? [] : [String(cell)];
}
