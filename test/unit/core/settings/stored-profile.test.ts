import { describe, expect, it } from 'vitest';
import { NetauditError } from '../../../../src/core/errors.js';
import type { ExtraKeys } from '../../../../src/core/settings/keyfile-reader.js';
import { withoutKeptSecrets } from '../../../../src/core/settings/kept-secrets.js';
import { inferType, nmRefusal } from '../../../../src/core/settings/nm-verify.js';
import { ProfileRefusedError, refuseHeld, storedProfile, updatedProfile } from '../../../../src/core/settings/stored-profile.js';
import { aasv, build, s, u, UUID } from './helpers.js';

const OPTIONS = { generateUuid: () => UUID };
const extra = (groups: Record<string, Record<string, string>>): ExtraKeys =>
  new Map(Object.entries(groups).map(([g, keys]) => [g, Object.entries(keys).map(([key, value]) => ({ key, value }))]));

describe('inferType', () => {
  it('takes the one base setting, aliases and kept groups included, as NetworkManager does', () => {
    expect(inferType(['connection', 'ethernet', 'ipv4'])).toBe('802-3-ethernet');
    expect(inferType(['connection', '802-3-ethernet'])).toBe('802-3-ethernet');
    expect(inferType(['connection', 'wifi', 'wifi-security'])).toBe('802-11-wireless');
    expect(inferType(['connection', 'gsm', 'ppp'])).toBe('gsm');
    expect(inferType(['connection', 'bluetooth'])).toBe('bluetooth');
    expect(inferType(['connection', 'wireguard-peer.abc'])).toBe('wireguard');
  });

  it('prefers a hardware base setting to bluetooth and bluetooth to pppoe', () => {
    expect(inferType(['gsm', 'bluetooth'])).toBe('gsm');
    expect(inferType(['pppoe', 'bluetooth'])).toBe('bluetooth');
    expect(inferType(['pppoe', 'ethernet'])).toBe('802-3-ethernet');
  });

  it('infers nothing from two base settings of the same priority, or none', () => {
    expect(inferType(['connection', 'bridge', 'vlan'])).toBeUndefined();
    expect(inferType(['connection', 'ipv4', 'proxy'])).toBeUndefined();
  });
});

describe('nmRefusal', () => {
  const conn = (more: Record<string, ReturnType<typeof s>> = {}) => ({ id: s('p'), uuid: s(UUID), ...more });

  it('refuses what NetworkManager 1.42 refuses', () => {
    const cases: Array<[Parameters<typeof build>[0], ExtraKeys, string]> = [
      [{ connection: conn() }, new Map(), 'connection.type: missing'],
      [{ connection: conn({ type: s('olpc-mesh') }) }, new Map(), 'connection.type: "olpc-mesh" is not a connection type NetworkManager knows'],
      [{ connection: conn({ type: s('bond') }) }, extra({ bond: { mode: 'balance-rr' } }), 'connection.interface-name: missing'],
      [{ connection: conn({ type: s('bluetooth') }) }, extra({ bluetooth: { type: 'panu' } }), 'bluetooth.bdaddr: missing'],
      [{ connection: conn({ type: s('802-3-ethernet'), 'slave-type': s('bond') }) }, new Map(), 'connection.master: missing'],
      [{ connection: conn({ type: s('802-3-ethernet') }), ipv4: { method: s('manual'), 'route-data': aasv({ dest: s('10.0.0.0'), prefix: u(8) }) } }, new Map(), 'ipv4.address-data: empty'],
      [{ connection: conn({ type: s('802-3-ethernet') }), ipv4: { method: s('bogus') } }, new Map(), 'ipv4.method: "bogus"'],
      [{ connection: conn({ type: s('vlan'), 'interface-name': s('v7') }), vlan: { id: u(7) } }, new Map(), 'vlan.parent: missing'],
      [{ connection: conn({ type: s('802-11-wireless') }) }, new Map(), '802-11-wireless.ssid: missing'],
      [{ connection: { ...conn({ type: s('802-3-ethernet') }), uuid: s('nope') } }, new Map(), 'connection.uuid: "nope" is not a UUID'],
    ];
    for (const [settings, kept, message] of cases) expect(nmRefusal(build(settings), kept), message).toContain(message);
  });

  it('loads what NetworkManager loads although netauditd would not save it', () => {
    expect(nmRefusal(build({ connection: conn({ type: s('gsm') }) }), extra({ gsm: { apn: 'a' } }))).toBeUndefined();
    expect(nmRefusal(build({ connection: conn({ type: s('802-3-ethernet') }), ipv4: { method: s('shared') } }), new Map())).toBeUndefined();
    expect(nmRefusal(build({ connection: conn({ type: s('802-3-ethernet'), master: s('bond0') }) }), extra({ 'bond-port': { 'queue-id': '0' } }))).toBeUndefined();
  });
});

describe('storedProfile', () => {
  it('validates a profile netauditd accepts as any other, with no holds', () => {
    const stored = storedProfile(build({ connection: { id: s('e'), type: s('ethernet') } }), new Map(), OPTIONS);
    expect(stored.holds).toEqual([]);
    expect(stored.settings.get('connection')!.get('type')).toEqual(s('802-3-ethernet'));
    expect(stored.settings.get('connection')!.get('uuid')).toEqual(s(UUID));
  });

  it('infers a missing type from the groups, kept ones included', () => {
    const stored = storedProfile(build({ connection: { id: s('m') } }), extra({ gsm: { apn: 'a' } }), OPTIONS);
    expect(stored.settings.get('connection')!.get('type')).toEqual(s('gsm'));
  });

  it('keeps a type netauditd does not activate and a value it refuses as holds naming the key', () => {
    const gsm = storedProfile(build({ connection: { id: s('m'), type: s('gsm'), uuid: s(UUID.toUpperCase()) } }), extra({ gsm: { apn: 'a' } }), OPTIONS);
    expect(gsm.holds.map((h) => h.key)).toEqual(['connection.type']);
    expect(gsm.settings.get('connection')!.get('uuid')).toEqual(s(UUID));
    const port = storedProfile(build({ connection: { id: s('p'), type: s('ethernet'), master: s('bond0'), 'slave-type': s('bond') } }), extra({ 'bond-port': {} }), OPTIONS);
    expect(port.holds.map((h) => h.key)).toEqual(['connection.slave-type']);
    expect(port.settings.get('connection')!.get('slave-type')).toEqual(s('bond'));
    expect(() => refuseHeld('p', port.holds)).toThrow(/connection\.slave-type/);
  });

  it('names the secret of a refused psk by its key only', () => {
    const wifi = storedProfile(build({ connection: { id: s('w'), type: s('wifi') }, '802-11-wireless': { ssid: { signature: 'ay', value: Buffer.from('x') } }, '802-11-wireless-security': { 'key-mgmt': s('wpa-psk'), psk: s('shrt') } }), new Map(), OPTIONS);
    expect(wifi.holds.map((h) => h.key)).toEqual(['802-11-wireless-security.psk']);
    expect(JSON.stringify(wifi.holds.map((h) => h.message))).not.toContain('shrt');
  });

  it('skips a profile NetworkManager refuses', () => {
    expect(() => storedProfile(build({ connection: { id: s('t') } }), extra({ bridge: {}, vlan: {} }), OPTIONS)).toThrow(ProfileRefusedError);
  });
});

describe('updatedProfile', () => {
  const shared = () => build({ connection: { id: s('s'), uuid: s(UUID), type: s('ethernet') }, ipv4: { method: s('shared') } });
  const held = storedProfile(shared(), new Map(), OPTIONS).holds;

  it('keeps a refused value the profile held', () => {
    const next = build({ connection: { id: s('s'), uuid: s(UUID), type: s('ethernet'), zone: s('dmz') }, ipv4: { method: s('shared') } });
    expect(updatedProfile(next, new Map(), held, OPTIONS).holds.map((h) => h.key)).toEqual(['ipv4.method']);
  });

  it('refuses one the update introduces, with validation\'s error', () => {
    const next = build({ connection: { id: s('s'), uuid: s(UUID), type: s('ethernet') }, ipv4: { method: s('shared') }, ipv6: { method: s('shared') } });
    expect(() => updatedProfile(next, new Map(), held, OPTIONS)).toThrow(NetauditError);
    expect(() => updatedProfile(shared(), new Map(), [], OPTIONS)).toThrow(/ipv4\.method/);
  });

  it('drops the holds of an update netauditd accepts', () => {
    const next = build({ connection: { id: s('s'), uuid: s(UUID), type: s('ethernet') }, ipv4: { method: s('disabled') } });
    expect(updatedProfile(next, new Map(), held, OPTIONS).holds).toEqual([]);
  });
});

describe('withoutKeptSecrets', () => {
  it('removes the secret keys of groups kept without reading, and names them', () => {
    const out = withoutKeptSecrets(extra({ wireguard: { 'private-key': 'k', 'listen-port': '1' }, 'wireguard-peer.P=': { 'preshared-key': 'x', endpoint: 'e' }, gsm: { apn: 'a', pin: '1' }, team: { config: '{}' } }));
    expect(out.removed).toEqual(['wireguard.private-key', 'wireguard-peer.P=.preshared-key', 'gsm.pin']);
    expect(Object.fromEntries([...out.extra].map(([g, e]) => [g, e.map((x) => x.key)]))).toEqual({ wireguard: ['listen-port'], 'wireguard-peer.P=': ['endpoint'], gsm: ['apn'], team: ['config'] });
  });
});
