// The messages of refused secrets: validation of a caller's settings and the
// reading of a profile file name the property and what is wrong, never the
// secret's value or a piece of it (the message reaches the caller and the log).
import { describe, expect, it } from 'vitest';
import { parseKeyfile } from '../../../../src/config/ini.js';
import { fromKeyfile } from '../../../../src/core/settings/keyfile-reader.js';
import type { Value } from '../../../../src/core/settings/value.js';
import { as, ay, s, u, validate } from './helpers.js';

const CANARY = 'canary-7f3a9c';
const FILE = '/etc/netauditd/system-connections/w.nmconnection';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('it was accepted');
}

/** Every form a reader could find the canary in: clear, hex either case, base64, and JSON-escaped. */
function expectNoCanary(message: string): void {
  for (const form of [CANARY, Buffer.from(CANARY).toString('hex'), Buffer.from(CANARY).toString('hex').toUpperCase(), Buffer.from(CANARY).toString('base64').slice(0, 12), 'canary']) {
    expect(message, form).not.toContain(form);
  }
}

const wifi = (security: Record<string, Value>) => ({
  connection: { id: s('w'), type: s('wifi') },
  '802-11-wireless': { ssid: ay('net') },
  '802-11-wireless-security': { 'key-mgmt': s('wpa-psk'), ...security },
});

const dot1x = (props: Record<string, Value>) => ({
  connection: { id: s('e'), type: s('ethernet') },
  '802-1x': { eap: as('peap'), identity: s('me'), ...props },
});

describe('a refused secret is never quoted', () => {
  it.each([
    ['a psk of 7 characters', wifi({ psk: s(CANARY.slice(0, 7)) }), '802-11-wireless-security.psk: a WPA passphrase has 8 to 63 printable ASCII characters'],
    ['a psk of 64 characters that are not all hex', wifi({ psk: s(`${CANARY}-${'z'.repeat(64 - CANARY.length - 1)}`) }), '802-11-wireless-security.psk: a WPA passphrase'],
    ['a psk of 65 hex digits', wifi({ psk: s('a'.repeat(65)) }), '802-11-wireless-security.psk: a WPA passphrase'],
    ['a psk of 80 characters', wifi({ psk: s(`${CANARY}${'x'.repeat(80)}`) }), '802-11-wireless-security.psk: a WPA passphrase'],
    ['a psk with a control character', wifi({ psk: s(`${CANARY}\u0001xx`) }), '802-11-wireless-security.psk: the secret value contains the control character U+0001'],
    ['a psk with a lone surrogate', wifi({ psk: s(`${CANARY}\uD800xx`) }), '802-11-wireless-security.psk: the secret value is not valid UTF-8'],
    ['a wep key of 65 bytes', wifi({ 'key-mgmt': s('none'), 'wep-key0': s(`${CANARY}${'w'.repeat(65 - CANARY.length)}`) }), '802-11-wireless-security.wep-key0: a WEP key has 10 or 26 hexadecimal digits'],
    ['an empty wep key', wifi({ 'key-mgmt': s('none'), 'wep-key2': s('') }), '802-11-wireless-security.wep-key2: a WEP key'],
    ['a wep key with a control character', wifi({ 'key-mgmt': s('none'), 'wep-key1': s(`${CANARY}\u0007`) }), '802-11-wireless-security.wep-key1: the secret value contains the control character U+0007'],
    ['a leap password with DEL', wifi({ 'key-mgmt': s('ieee8021x'), 'leap-password': s(`${CANARY}\u007f`) }), '802-11-wireless-security.leap-password: the secret value contains the control character U+007F'],
    ['an 802.1x password with a control character', dot1x({ password: s(`${CANARY}\u001b[2J`) }), '802-1x.password: the secret value contains the control character U+001B'],
    ['an 802.1x private key password that is not UTF-8', dot1x({ 'private-key-password': s(`${CANARY}\uDC00`) }), '802-1x.private-key-password: the secret value is not valid UTF-8'],
    ['a psk of the wrong D-Bus type', wifi({ psk: { signature: 'ay', value: Buffer.from(CANARY) } }), '802-11-wireless-security.psk: expected a value of D-Bus type "s", got "ay"'],
  ])('%s', (_what, settings, expected) => {
    const message = messageOf(() => validate(settings));
    expect(message).toContain(expected);
    expectNoCanary(message);
  });

  it('accepts the WEP keys NetworkManager accepts without a key type: 1 to 64 bytes', () => {
    for (const key of ['0123456789', 'abcde', 'x', 'p'.repeat(64), '0123456789abcdef0123456789']) {
      expect(() => validate(wifi({ 'key-mgmt': s('none'), 'wep-key0': s(key), 'wep-key-flags': u(0) }))).not.toThrow();
    }
  });

  it.each([
    ['psk', '[wifi-security]\nkey-mgmt=wpa-psk\npsk=canary-7f3a9c\\qx', 'wifi-security', 'psk'],
    ['wep-key0 ending in a lone backslash', '[wifi-security]\nkey-mgmt=none\nwep-key0=canary-7f3a9c\\', 'wifi-security', 'wep-key0'],
    ['leap-password', '[wifi-security]\nkey-mgmt=ieee8021x\nleap-password=canary-7f3a9c\\x41', 'wifi-security', 'leap-password'],
    ['802-1x password', '[802-1x]\neap=peap;\npassword=\\zcanary-7f3a9c', '802-1x', 'password'],
  ])('a %s in a profile file that does not parse is dropped with a warning naming file, line and key only', (_what, body, group, key) => {
    const text = `[connection]\nid=w\ntype=wifi\n[wifi]\nssid=net\n${body}\n`;
    const line = text.split('\n').findIndex((l) => l.startsWith(`${key}=`)) + 1;
    const read = fromKeyfile(parseKeyfile(text, FILE));
    const setting = group === 'wifi-security' ? '802-11-wireless-security' : group;
    expect(read.settings.get(setting)?.has(key)).toBe(false);
    expect(read.warnings).toEqual([
      `${FILE}:${line}: [${group}] ${key}: the secret value is not a valid keyfile string (it holds an escape other than \\s \\n \\t \\r \\\\, or ends with a lone "\\"); it is not shown; the value is ignored, as NetworkManager ignores it`,
    ]);
    expectNoCanary(read.warnings.join('\n'));
  });
});
