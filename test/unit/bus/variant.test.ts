// settingsFromWire's refusals name where in the caller's dictionary the bad value sits; the
// names are built only when a refusal is thrown, and read as they always have.
import dbus from 'dbus-next';
import { describe, expect, it } from 'vitest';
import { settingsFromWire } from '../../../src/bus/variant.js';
import { NetauditError } from '../../../src/core/errors.js';

const { Variant } = dbus;

function refusal(body: unknown): string {
  try {
    settingsFromWire(body);
  } catch (e) {
    expect(e).toBeInstanceOf(NetauditError);
    return `${(e as NetauditError).code} ${(e as Error).message}`;
  }
  throw new Error('accepted');
}

describe('settingsFromWire', () => {
  it('names the place of a refused value', () => {
    expect(refusal({ connection: { id: 'x' } })).toBe('InvalidArgument "connection.id": expected a variant.');
    expect(refusal({ ipv4: { method: new Variant('v', new Variant('s', 'x')) } })).toBe('InvalidArgument "ipv4.method": nested variants are not accepted.');
    expect(refusal({ ipv4: Object.create(null) })).toBe('InvalidArgument "ipv4": a dictionary key is not acceptable (e.g. "__proto__").');
    expect(refusal(Object.create(null))).toBe('InvalidArgument settings: a dictionary key is not acceptable (e.g. "__proto__").');
    expect(refusal({ ipv4: { 'address-data': new Variant('aa{sv}', [{ address: new Variant('s', 'a') }, { prefix: 24 }]) } })).toBe(
      'InvalidArgument "ipv4.address-data"[1].prefix: expected a variant.',
    );
    expect(refusal({ ipv4: { 'address-data': new Variant('aa{sv}', [Object.create(null)]) } })).toBe(
      'InvalidArgument "ipv4.address-data"[0]: a dictionary key is not acceptable (e.g. "__proto__").',
    );
    expect(refusal({ ['x'.repeat(80)]: { y: 5 } })).toBe(`InvalidArgument "${'x'.repeat(64)}…": expected a variant.`);
    expect(refusal({ 'a"b\u202e': { 'k\n': 1 } })).toBe('InvalidArgument "a\\"b\\u202e.k\\n": expected a variant.');
  });

  it('reads a well-formed dictionary', () => {
    const s = settingsFromWire({ connection: { id: new Variant('s', 'x'), ssid: new Variant('ay', Buffer.from('ab')) }, ipv4: {} });
    expect(s.get('connection')?.get('id')).toEqual({ signature: 's', value: 'x' });
    expect(s.get('connection')?.get('ssid')).toEqual({ signature: 'ay', value: Uint8Array.from([97, 98]) });
    expect(s.get('ipv4')?.size).toBe(0);
  });
});
