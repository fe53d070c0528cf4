import { describe, expect, it } from 'vitest';
import { NetauditError } from '../../../../src/core/errors.js';
import { clearSecrets, hasSecrets, keepSecrets, secretsOf, withoutSecrets } from '../../../../src/core/settings/secrets.js';
import { as, ay, build, plain, s, u } from './helpers.js';

const profile = () =>
  build({
    connection: { id: s('w'), type: s('802-11-wireless') },
    '802-11-wireless': { ssid: ay('net') },
    '802-11-wireless-security': { 'key-mgmt': s('wpa-psk'), psk: s('old-passphrase'), 'psk-flags': u(0), 'wep-key2': s('abcde') },
    '802-1x': { eap: as('peap'), identity: s('me'), password: s('old-password'), 'password-flags': u(4), 'private-key-password': s('pk') },
  });

describe('secrets', () => {
  it('withoutSecrets drops every secret the schema marks and keeps their flags', () => {
    expect(plain(withoutSecrets(profile()))).toEqual({
      connection: { id: { s: 'w' }, type: { s: '802-11-wireless' } },
      '802-11-wireless': { ssid: { ay: [...Buffer.from('net')] } },
      '802-11-wireless-security': { 'key-mgmt': { s: 'wpa-psk' }, 'psk-flags': { u: 0 } },
      '802-1x': { eap: { as: ['peap'] }, identity: { s: 'me' }, 'password-flags': { u: 4 } },
    });
  });

  it('secretsOf returns only the secret properties of one setting, or of all for ""', () => {
    expect(plain(secretsOf(profile(), '802-11-wireless-security'))).toEqual({
      '802-11-wireless-security': { psk: { s: 'old-passphrase' }, 'wep-key2': { s: 'abcde' } },
    });
    expect(plain(secretsOf(profile(), ''))).toEqual({
      '802-11-wireless-security': { psk: { s: 'old-passphrase' }, 'wep-key2': { s: 'abcde' } },
      '802-1x': { password: { s: 'old-password' }, 'private-key-password': { s: 'pk' } },
    });
    expect(secretsOf(profile(), 'ipv4').size).toBe(0);
  });

  it('secretsOf rejects a setting name the schema does not know', () => {
    expect(() => secretsOf(profile(), 'wireguard')).toThrow(NetauditError);
    expect(() => secretsOf(profile(), 'wireguard')).toThrow('unknown setting "wireguard"');
  });

  it('hasSecrets sees any secret, and flags alone are not secrets', () => {
    expect(hasSecrets(profile())).toBe(true);
    expect(hasSecrets(withoutSecrets(profile()))).toBe(false);
    expect(hasSecrets(build({ '802-1x': { 'password-flags': u(1) } }))).toBe(false);
  });

  it('keepSecrets copies stored secrets into an update that carries none, with the flags of the update', () => {
    const next = withoutSecrets(profile());
    next.get('802-11-wireless-security')!.set('psk-flags', u(4));
    next.delete('802-1x');
    const kept = keepSecrets(next, profile());
    expect(plain(kept)).toEqual({
      connection: { id: { s: 'w' }, type: { s: '802-11-wireless' } },
      '802-11-wireless': { ssid: { ay: [...Buffer.from('net')] } },
      '802-11-wireless-security': { 'key-mgmt': { s: 'wpa-psk' }, 'psk-flags': { u: 4 }, psk: { s: 'old-passphrase' }, 'wep-key2': { s: 'abcde' } },
    });
    expect(next.get('802-11-wireless-security')!.has('psk')).toBe(false);
  });

  it('keepSecrets leaves an update that carries any secret as it is', () => {
    const next = withoutSecrets(profile());
    next.get('802-1x')!.set('password', s('new-password'));
    expect(plain(keepSecrets(next, profile()))).toEqual(plain(next));
  });

  it('clearSecrets removes the secrets and keeps everything else', () => {
    const cleared = clearSecrets(profile());
    expect(hasSecrets(cleared)).toBe(false);
    expect(plain(cleared)).toEqual(plain(withoutSecrets(profile())));
  });
});
