// Audit values of a profile: the keyfile form of before and after, exact,
// rebuildable into the keyfile, and never holding a secret.
import { describe, expect, it } from 'vitest';
import { parseKeyfile } from '../../../../src/config/ini.js';
import { changedValues, profileValues } from '../../../../src/core/settings/audit-values.js';
import { changedKeys } from '../../../../src/core/settings/diff.js';
import { fromKeyfile } from '../../../../src/core/settings/keyfile-reader.js';
import { toKeyfile } from '../../../../src/core/settings/keyfile-writer.js';
import { aasv, ethernet, s, u, UUID, validate } from './helpers.js';

const lan = (address: string, extra: Record<string, Record<string, ReturnType<typeof s>>> = {}) =>
  validate(
    ethernet({
      ipv4: { method: s('manual'), 'address-data': aasv({ address: s(address), prefix: u(24) }), gateway: s('192.0.2.1') },
      ...extra,
    }),
  );

/** The keyfile text the values stand for: [GROUP] then KEY=value lines, groups apart by a blank line. */
function rebuild(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([group, keys]) => `[${group}]\n${Object.entries(keys as Record<string, string>).map(([k, v]) => `${k}=${v}\n`).join('')}`)
    .join('\n');
}

function read(text: string) {
  return fromKeyfile(parseKeyfile(text, '/etc/netauditd/system-connections/x.nmconnection'));
}

describe('profileValues', () => {
  it('gives the whole profile as the keyfile writes it, group by group', () => {
    expect(profileValues(lan('192.0.2.10'), new Map())).toEqual({
      connection: { id: 'lan0', uuid: UUID, type: 'ethernet' },
      ethernet: {},
      ipv4: { address1: '192.0.2.10/24', gateway: '192.0.2.1', method: 'manual' },
    });
  });

  it('rebuilds the keyfile the writer writes, byte for byte', () => {
    const settings = lan('192.0.2.10', { connection: { id: s(' Büro "lan"; a=b\\c'), uuid: s(UUID), type: s('802-3-ethernet') } });
    const values = profileValues(settings, new Map());
    expect((values.connection as Record<string, string>).id).toBe('\\sBüro "lan"; a=b\\\\c');
    expect(rebuild(values)).toBe(toKeyfile(settings, new Map()));
  });

  it('leaves out every secret, the known ones and those kept from the file as they are', () => {
    const { settings, extra } = read(
      [
        '[connection]', 'id=office', `uuid=${UUID}`, 'type=wifi', '',
        '[wifi]', 'ssid=office', '',
        '[wifi-security]', 'key-mgmt=wpa-psk', 'psk=hunter2-psk', 'sae-pw=kept-flagged', 'sae-pw-flags=0', '',
        '[802-1x]', 'eap=peap;', 'identity=me', 'password=hunter2-8021x', 'pin=1234', 'phase2-private-key-password=hunter2-p2', '',
        '[gsm]', 'apn=internet', 'password=hunter2-gsm', 'pin=0000', '',
        '[wireguard]', 'private-key=hunter2-wg', 'listen-port=51820', '',
        '[wireguard-peer.Xy+abc=]', 'endpoint=198.51.100.1:51820', 'preshared-key=hunter2-peer', '',
        '[vpn-secrets]', 'password=hunter2-vpn', '',
      ].join('\n'),
    );
    const values = profileValues(settings, extra);
    expect(JSON.stringify(values)).not.toMatch(/hunter2|kept-flagged|1234|0000/);
    expect(values).toMatchObject({
      'wifi-security': { 'key-mgmt': 'wpa-psk', 'sae-pw-flags': '0' },
      '802-1x': { eap: 'peap;', identity: 'me' },
      gsm: { apn: 'internet' },
      wireguard: { 'listen-port': '51820' },
      'wireguard-peer.Xy+abc=': { endpoint: '198.51.100.1:51820' },
    });
    expect(values).not.toHaveProperty('vpn-secrets');
  });

  it('leaves out vpn secrets and keeps vpn data', () => {
    const { settings, extra } = read(
      ['[connection]', 'id=v', `uuid=${UUID}`, 'type=vpn', '', '[vpn]', 'service-type=org.freedesktop.NetworkManager.openvpn', 'remote=vpn.example', '', '[vpn-secrets]', 'password=hunter2'].join('\n'),
    );
    const values = profileValues(settings, extra);
    expect(values.vpn).toEqual({ remote: 'vpn.example', 'service-type': 'org.freedesktop.NetworkManager.openvpn' });
    expect(JSON.stringify(values)).not.toContain('hunter2');
  });

  it('keeps a key named __proto__ as a key', () => {
    const { settings, extra } = read(['[connection]', 'id=p', `uuid=${UUID}`, 'type=ethernet', '', '[x-custom]', '__proto__=polluted'].join('\n'));
    const values = profileValues(settings, extra);
    expect(Object.getPrototypeOf(values['x-custom'])).toBe(Object.prototype);
    expect(JSON.stringify(values['x-custom'])).toBe('{"__proto__":"polluted"}');
  });
});

describe('changedValues', () => {
  it('gives the old and new values of the keys that changed, and nothing else', () => {
    const before = profileValues(lan('192.0.2.10'), new Map());
    const after = profileValues(lan('192.0.2.20'), new Map());
    expect(changedValues(before, after)).toEqual({ before: { ipv4: { address1: '192.0.2.10/24' } }, after: { ipv4: { address1: '192.0.2.20/24' } } });
  });

  it('shows an added key only in after, a removed one only in before, its group on both sides', () => {
    expect(changedValues({ ipv4: { method: 'manual', dns: '192.0.2.53;' } }, { ipv4: { method: 'manual', 'may-fail': 'false' } })).toEqual({
      before: { ipv4: { dns: '192.0.2.53;' } },
      after: { ipv4: { 'may-fail': 'false' } },
    });
    expect(changedValues({ ipv4: { method: 'manual', dns: '192.0.2.53;' } }, { ipv4: { method: 'manual' } })).toEqual({
      before: { ipv4: { dns: '192.0.2.53;' } },
      after: { ipv4: {} },
    });
  });

  it('shows a removed group whole in before only, an added one whole in after only', () => {
    expect(changedValues({ connection: { id: 'a' }, bridge: { stp: 'false' } }, { connection: { id: 'a' }, vlan: { id: '5' } })).toEqual({
      before: { bridge: { stp: 'false' } },
      after: { vlan: { id: '5' } },
    });
  });

  it('gives nothing for equal profiles, and no value for a change of a secret alone', () => {
    const wifi = (psk: string) =>
      validate({
        connection: { id: s('w'), uuid: s(UUID), type: s('802-11-wireless') },
        '802-11-wireless': { ssid: { signature: 'ay', value: Buffer.from('net') } },
        '802-11-wireless-security': { 'key-mgmt': s('wpa-psk'), psk: s(psk) },
      });
    const [a, b] = [wifi('old-secret-1'), wifi('new-secret-2')];
    expect(changedKeys(a, b)).toEqual(['802-11-wireless-security.psk']);
    expect(changedValues(profileValues(a, new Map()), profileValues(b, new Map()))).toEqual({});
  });
});
