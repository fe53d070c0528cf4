// Variant checks: a property value against its D-Bus type (the signature and
// the shape of what it holds) and a numeric property against its range.
import { invalidArgument, quote } from '../errors.js';
import type { Signature } from './schema.js';
import { isStringDict, type Value } from './value.js';

function describe(v: unknown): string {
  if (v instanceof Uint8Array) return 'a byte array';
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (v instanceof Map) return 'a dictionary';
  return typeof v;
}

const isU32 = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
const isI32 = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= -0x80000000 && (v as number) <= 0x7fffffff;

const SHAPES: Record<Signature, (v: unknown) => boolean> = {
  s: (v) => typeof v === 'string',
  b: (v) => typeof v === 'boolean',
  y: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xff,
  u: isU32,
  i: isI32,
  ay: (v) => v instanceof Uint8Array,
  as: (v) => Array.isArray(v) && v.every((e) => typeof e === 'string'),
  au: (v) => Array.isArray(v) && v.every(isU32),
  aay: (v) => Array.isArray(v) && v.every((e) => e instanceof Uint8Array),
  'aa{sv}': (v) => Array.isArray(v) && v.every((e) => e instanceof Map),
  'a{ss}': isStringDict,
};

export function checkVariant(key: string, expected: string, v: Value): void {
  if (v.signature !== expected) {
    throw invalidArgument(`${key}: expected a value of D-Bus type ${quote(expected)}, got ${quote(v.signature)}`);
  }
  const shape = SHAPES[expected as Signature];
  if (shape && !shape(v.value)) {
    throw invalidArgument(`${key}: expected a value of D-Bus type ${quote(expected)}, got ${describe(v.value)}`);
  }
}

export function checkRange(key: string, n: number, [min, max]: readonly [number, number]): void {
  if (n < min || n > max) throw invalidArgument(`${key}: ${n} is out of range; accepted: ${min} to ${max}`);
}
