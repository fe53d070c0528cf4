// Generators of D-Bus signatures and values, driven by a Prng: a well-typed
// value for any signature (in dbus-next's JS form), random wrong signatures,
// and the hostile cases — empty and huge arrays, deeply nested variants,
// 100,000-key dictionaries, bytes that are not UTF-8 (in `ay`, where the
// wire allows them), strings that forge log and record syntax, extreme
// numbers, keys such as "__proto__".
import dbus from 'dbus-next';
import type { Prng } from './prng.js';

const { Variant } = dbus;

const BASIC = ['y', 'b', 'n', 'q', 'i', 'u', 'x', 't', 'd', 's', 'o', 'g'] as const;

/** Splits a signature into its complete types. */
export function completeTypes(signature: string): string[] {
  const out: string[] = [];
  let i = 0;
  const one = (): void => {
    const c = signature[i++];
    if (c === 'a') one();
    else if (c === '(' || c === '{') {
      const close = c === '(' ? ')' : '}';
      while (signature[i] !== close) {
        if (i >= signature.length) throw new Error(`unterminated container in ${JSON.stringify(signature)}`);
        one();
      }
      i++;
    }
  };
  while (i < signature.length) {
    const start = i;
    one();
    out.push(signature.slice(start, i));
  }
  return out;
}

/** A random complete type, containers nested at most `depth` deep. */
export function randomType(rng: Prng, depth = 3): string {
  const r = rng.int(depth > 0 ? 10 : 6);
  if (r < 6) return rng.pick(BASIC);
  if (r === 6) return 'v';
  if (r === 7) return `a${randomType(rng, depth - 1)}`;
  if (r === 8) return `a{${rng.pick(['s', 's', 'o'])}${randomType(rng, depth - 1)}}`;
  const n = 1 + rng.int(3);
  return `(${Array.from({ length: n }, () => randomType(rng, depth - 1)).join('')})`;
}

/** A random signature of 0–4 complete types. */
export function randomSignature(rng: Prng): string {
  return Array.from({ length: rng.int(5) }, () => randomType(rng)).join('');
}

/** Text meant to break quoting, logs and records: quotes, `=`, newlines, escapes, non-ASCII, bidi controls. */
const HOSTILE_STRINGS = [
  '', ' ', '"', "'", '\\', '=', 'a=b', 'res=success', 'x" result="success', '\n', '\r\n', 'line\nforged: op="connection-add"',
  '\t', '%s%n', '${x}', '\u202e', '\u0085', '\u2028', '\ufeff', 'é', '😀', '𝕏', '__proto__', 'constructor', 'toString', '..', '../../etc/passwd',
  '/', '-', '.nmconnection', '\u0001\u001f\u007f', 'ALL', 'AUDIT:ON', 'KEEP',
];

export function randomString(rng: Prng, maxLength = 40): string {
  const r = rng.int(10);
  if (r < 4) return rng.pick(HOSTILE_STRINGS);
  if (r === 4) return 'x'.repeat(rng.pick([255, 256, 4096, 65_536]));
  const length = rng.int(maxLength);
  let s = '';
  for (let i = 0; i < length; i++) {
    const k = rng.int(10);
    // no NUL and no lone surrogate: the bus refuses both in a string (it would drop our connection)
    if (k < 6) s += String.fromCharCode(0x20 + rng.int(0x5f));
    else if (k < 8) s += String.fromCharCode(1 + rng.int(0x1f));
    else if (k < 9) s += String.fromCodePoint(0xa0 + rng.int(0xd700 - 0xa0));
    else s += String.fromCodePoint(0x10000 + rng.int(0x10000));
  }
  return s;
}

export function randomObjectPath(rng: Prng): string {
  return rng.pick([
    '/', '/org', '/org/netaudit1', '/org/netaudit1/Settings', '/org/netaudit1/Settings/0', '/org/netaudit1/Settings/1',
    '/org/netaudit1/Settings/4294967296', '/org/netaudit1/Devices/1', '/org/netaudit1/Devices/99999', '/org/netaudit1/ActiveConnection/1',
    '/org/netaudit1/Settings/01', `/a/${'b'.repeat(rng.int(300) + 1)}`, '/org/netaudit1/Settings/x_y',
  ]);
}

/** Bytes, often not UTF-8 (an `ay` carries any byte through the bus). */
export function randomBytes(rng: Prng, maxLength = 64): Buffer {
  const r = rng.int(6);
  if (r === 0) return Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xed, 0xa0, 0x80, 0x00]);
  if (r === 1) return Buffer.alloc(0);
  if (r === 2) return Buffer.alloc(rng.pick([33, 256, 65_536]), 0x80);
  return Buffer.from(Array.from({ length: rng.int(maxLength) }, () => rng.int(256)));
}

function randomNumber(rng: Prng, type: string): number | bigint | boolean {
  const pickOr = (edges: Array<number | bigint>, random: () => number | bigint): number | bigint => (rng.chance(0.4) ? rng.pick(edges) : random());
  switch (type) {
    case 'y': return pickOr([0, 255], () => rng.int(256));
    case 'b': return rng.chance(0.5);
    case 'n': return pickOr([-32768, 32767, 0], () => rng.int(65536) - 32768);
    case 'q': return pickOr([0, 65535], () => rng.int(65536));
    case 'i': return pickOr([-2147483648, 2147483647, 0, -1], () => rng.int(2 ** 32) - 2 ** 31);
    case 'u': return pickOr([0, 4294967295, 1, 3, 1500, 65536], () => rng.int(2 ** 32));
    case 'x': return pickOr([-(2n ** 63n) + 1n, 2n ** 63n - 1n, 0n], () => BigInt(rng.int(2 ** 32)) - 2n ** 31n);
    case 't': return pickOr([0n, 2n ** 64n - 1n, 2n ** 53n + 1n], () => BigInt(rng.int(2 ** 32)));
    default: return pickOr([0, -0, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 1e308], () => (rng.next() - 0.5) * 1e6);
  }
}

/** A value of complete type `type` in the form dbus-next marshals; `depth` bounds the nesting of variants and containers. */
export function randomValue(rng: Prng, type: string, depth = 4): unknown {
  const c = type[0];
  switch (c) {
    case 's': return randomString(rng);
    case 'o': return randomObjectPath(rng);
    case 'g': return randomSignature(rng);
    case 'v': {
      const inner = depth > 0 ? randomType(rng, 2) : rng.pick(BASIC);
      return new Variant(inner, randomValue(rng, inner, depth - 1));
    }
    case 'a': {
      const element = type.slice(1);
      if (element === 'y') return randomBytes(rng);
      const n = depth > 0 ? rng.pick([0, 0, 1, 2, 3, 5]) : 0;
      if (element.startsWith('{')) {
        const [key, value] = completeTypes(element.slice(1, -1)) as [string, string];
        const dict: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) dict[String(randomValue(rng, key, depth - 1))] = randomValue(rng, value, depth - 1);
        return dict;
      }
      return Array.from({ length: n }, () => randomValue(rng, element, depth - 1));
    }
    case '(': return completeTypes(type.slice(1, -1)).map((t) => randomValue(rng, t, depth - 1));
    default: return randomNumber(rng, c!);
  }
}

/** `depth` variants, each holding the next, around a string: the bus allows 64 levels of nesting in all. */
export function nestedVariant(depth: number): unknown {
  let v: unknown = new Variant('s', 'core');
  for (let i = 1; i < depth; i++) v = new Variant('v', v);
  return v;
}

/** A dictionary of `n` keys, each a variant. */
export function hugeDict(n: number, value: (i: number) => unknown = (i) => new Variant('u', i)): Record<string, unknown> {
  const dict: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) dict[`k${i}`] = value(i);
  return dict;
}

const CONNECTION_TYPES = ['dummy', 'ethernet', '802-3-ethernet', 'wifi', 'bridge', 'vlan', 'bogus', ''];

/**
 * A connection dictionary a{sa{sv}}: often close to valid (so that some
 * calls succeed and reach the files and the trail), always with something
 * hostile in it.
 */
export function randomSettings(rng: Prng): Record<string, Record<string, unknown>> {
  const r = rng.int(12);
  if (r === 0) return {};
  if (r === 1) return { connection: {} };
  if (r === 2) return { connection: hugeDict(rng.pick([1000, 10_000])) };
  if (r === 3) return { ['__proto__']: { id: new Variant('s', 'p') } } as Record<string, Record<string, unknown>>;
  const id = rng.chance(0.3) ? `fuzz ${rng.int(1_000_000)}` : randomString(rng, 80);
  const connection: Record<string, unknown> = { id: new Variant('s', id), type: new Variant('s', rng.pick(CONNECTION_TYPES)) };
  if (rng.chance(0.5)) connection['interface-name'] = new Variant('s', rng.chance(0.5) ? `fz${rng.int(1000)}` : randomString(rng, 20));
  if (rng.chance(0.2)) connection.uuid = new Variant('s', rng.chance(0.5) ? randomString(rng) : '8f7ee6a1-0f7b-4b8e-9d3c-3a1b6f0e2c11');
  if (rng.chance(0.2)) connection.autoconnect = new Variant(rng.chance(0.7) ? 'b' : 's', rng.chance(0.7) ? false : 'no');
  const settings: Record<string, Record<string, unknown>> = { connection };
  if (rng.chance(0.3)) {
    settings.ipv4 = {
      method: new Variant('s', rng.pick(['manual', 'auto', 'disabled', 'bogus'])),
      'address-data': new Variant('aa{sv}', [{ address: new Variant('s', rng.pick(['192.0.2.10', '999.1.1.1', randomString(rng)])), prefix: new Variant('u', rng.pick([24, 33, 4294967295])) }]),
    };
  }
  if (rng.chance(0.2)) settings['802-11-wireless'] = { ssid: new Variant('ay', randomBytes(rng)), mode: new Variant('s', randomString(rng, 10)) };
  if (rng.chance(0.2)) settings['802-11-wireless-security'] = { 'key-mgmt': new Variant('s', 'wpa-psk'), psk: new Variant('s', randomString(rng, 70)) };
  if (rng.chance(0.3)) {
    const setting = rng.chance(0.5) ? 'connection' : randomString(rng, 12);
    settings[setting] = { ...settings[setting], [randomString(rng, 12)]: randomValue(rng, 'v') };
  }
  if (rng.chance(0.1)) connection['nested'] = nestedVariant(2 + rng.int(24));
  return settings;
}
