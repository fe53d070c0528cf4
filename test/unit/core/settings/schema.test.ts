import { describe, expect, it } from 'vitest';
import {
  allowedSettingsOf,
  baseSettingOf,
  canonicalType,
  isSecret,
  keyfileTypeName,
  propertySpec,
  settingForGroup,
  settingNames,
  settingSpec,
} from '../../../../src/core/settings/schema.js';

describe('schema', () => {
  it('holds the settings of docs/api.md under their NetworkManager D-Bus names', () => {
    expect(settingNames()).toEqual([
      'connection',
      '802-3-ethernet',
      '802-11-wireless',
      '802-11-wireless-security',
      '802-1x',
      'bridge',
      'bridge-port',
      'vlan',
      'veth',
      'macvlan',
      'vxlan',
      'dummy',
      'vpn',
      'ipv4',
      'ipv6',
    ]);
  });

  it('uses NetworkManager keyfile group aliases and reads either name', () => {
    expect(settingSpec('802-3-ethernet')!.keyfileGroup).toBe('ethernet');
    expect(settingSpec('802-11-wireless')!.keyfileGroup).toBe('wifi');
    expect(settingSpec('802-11-wireless-security')!.keyfileGroup).toBe('wifi-security');
    expect(settingSpec('802-1x')!.keyfileGroup).toBe('802-1x');
    expect(settingForGroup('wifi')!.name).toBe('802-11-wireless');
    expect(settingForGroup('802-11-wireless')!.name).toBe('802-11-wireless');
    expect(settingForGroup('proxy')).toBeUndefined();
  });

  it('gives NetworkManager D-Bus signatures', () => {
    const sig = (setting: string, prop: string) => propertySpec(setting, prop)?.signature;
    expect(sig('connection', 'autoconnect')).toBe('b');
    expect(sig('connection', 'autoconnect-priority')).toBe('i');
    expect(sig('connection', 'permissions')).toBe('as');
    expect(sig('ipv4', 'address-data')).toBe('aa{sv}');
    expect(sig('ipv4', 'dns')).toBe('au');
    expect(sig('ipv6', 'dns')).toBe('aay');
    expect(sig('802-3-ethernet', 'mac-address')).toBe('ay');
    expect(sig('802-11-wireless', 'ssid')).toBe('ay');
    expect(sig('802-1x', 'ca-cert')).toBe('ay');
    expect(sig('802-1x', 'eap')).toBe('as');
    expect(sig('vxlan', 'destination-port')).toBe('u');
    expect(propertySpec('ipv4', 'bogus')).toBeUndefined();
    expect(propertySpec('bogus', 'id')).toBeUndefined();
  });

  it('marks exactly the secrets of docs/api.md and vpn.secrets, each with the property holding its flags', () => {
    const secrets: string[] = [];
    for (const name of settingNames()) {
      for (const spec of settingSpec(name)!.properties.values()) if (spec.secret) secrets.push(`${name}.${spec.name}:${spec.secretFlags}`);
    }
    expect(secrets).toEqual([
      '802-11-wireless-security.leap-password:leap-password-flags',
      '802-11-wireless-security.psk:psk-flags',
      '802-11-wireless-security.wep-key0:wep-key-flags',
      '802-11-wireless-security.wep-key1:wep-key-flags',
      '802-11-wireless-security.wep-key2:wep-key-flags',
      '802-11-wireless-security.wep-key3:wep-key-flags',
      '802-1x.password:password-flags',
      '802-1x.private-key-password:private-key-password-flags',
      // Each vpn secret's flags are a data item of its own (KEY-flags), not a property.
      'vpn.secrets:undefined',
    ]);
    expect(isSecret('802-11-wireless-security', 'psk-flags')).toBe(false);
    expect(isSecret('802-1x', 'identity')).toBe(false);
  });

  it('knows the connection types, their aliases and base settings', () => {
    expect(canonicalType('ethernet')).toBe('802-3-ethernet');
    expect(canonicalType('wifi')).toBe('802-11-wireless');
    expect(canonicalType('vxlan')).toBe('vxlan');
    expect(canonicalType('bond')).toBeUndefined();
    expect(canonicalType('wifi-security')).toBeUndefined();
    expect(baseSettingOf('wifi')).toBe('802-11-wireless');
    expect(keyfileTypeName('802-3-ethernet')).toBe('ethernet');
    expect(keyfileTypeName('bridge')).toBe('bridge');
    expect(allowedSettingsOf('ethernet')).toContain('802-1x');
    expect(allowedSettingsOf('ethernet')).not.toContain('802-11-wireless');
    expect(allowedSettingsOf('bond')).toEqual([]);
  });
});
