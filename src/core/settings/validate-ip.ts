// IP checks: the addresses, address-data and route-data of the ipv4 and ipv6
// settings, each checked for its family and returned in canonical form.
import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import { invalidArgument, quote } from '../errors.js';
import type { Signature } from './schema.js';
import { checkRange, checkVariant } from './validate-variant.js';
import { value, type Value } from './value.js';

export type Family = 4 | 6;

/** Returns the address in canonical form (IPv6 compressed, lowercase), as NetworkManager stores it. */
export function checkAddress(key: string, family: Family | undefined, text: string): string {
  const is4 = isIPv4(text);
  const is6 = isIPv6(text) && !text.includes('%');
  if ((family === 4 && is4) || (family === undefined && is4)) return text;
  if ((family === 6 && is6) || (family === undefined && is6)) return new SocketAddress({ address: text, family: 'ipv6' }).address;
  const expected = family === undefined ? 'an IPv4 or IPv6 address' : `an IPv${family} address`;
  throw invalidArgument(`${key}: ${quote(text)} is not ${expected}`);
}

export function checkAddressData(key: string, family: Family, entries: Map<string, Value>[]): Map<string, Value>[] {
  const max = family === 4 ? 32 : 128;
  return entries.map((entry, i) => {
    const at = `${key}[${i}]`;
    for (const k of entry.keys()) {
      if (k !== 'address' && k !== 'prefix') throw invalidArgument(`${at}: unknown key ${quote(k)}; accepted: address, prefix`);
    }
    const address = entry.get('address');
    const prefix = entry.get('prefix');
    if (!address || !prefix) throw invalidArgument(`${at}: "address" and "prefix" are both required`);
    checkVariant(`${at}.address`, 's', address);
    checkVariant(`${at}.prefix`, 'u', prefix);
    checkRange(`${at}.prefix`, prefix.value as number, [0, max]);
    return new Map([
      ['address', value('s', checkAddress(`${at}.address`, family, address.value as string))],
      ['prefix', prefix],
    ]);
  });
}

const ROUTE_KEYS: ReadonlyArray<readonly [string, Signature]> = [['dest', 's'], ['prefix', 'u'], ['next-hop', 's'], ['metric', 'u'], ['table', 'u']];

export function checkRouteData(key: string, family: Family, entries: Map<string, Value>[]): Map<string, Value>[] {
  const max = family === 4 ? 32 : 128;
  return entries.map((entry, i) => {
    const at = `${key}[${i}]`;
    for (const k of entry.keys()) {
      if (!ROUTE_KEYS.some(([name]) => name === k)) {
        throw invalidArgument(`${at}: unknown key ${quote(k)}; accepted: ${ROUTE_KEYS.map(([name]) => name).join(', ')}`);
      }
    }
    if (!entry.has('dest') || !entry.has('prefix')) throw invalidArgument(`${at}: "dest" and "prefix" are both required`);
    const out = new Map<string, Value>();
    for (const [name, signature] of ROUTE_KEYS) {
      const v = entry.get(name);
      if (!v) continue;
      checkVariant(`${at}.${name}`, signature, v);
      if (name === 'dest' || name === 'next-hop') out.set(name, value('s', checkAddress(`${at}.${name}`, family, v.value as string)));
      else out.set(name, v);
    }
    checkRange(`${at}.prefix`, out.get('prefix')!.value as number, [0, max]);
    return out;
  });
}

export function familyOf(setting: string): Family {
  return setting === 'ipv6' ? 6 : 4;
}
