// nmcli-style property text → typed profile values, and back to text.
import { describe, expect, it } from 'vitest';
import { applyChanges, parsePairs, parseValue, resolveProperty, SettingsArgError } from '../../../src/cli/settings-args.js';
import { valueCell } from '../../../src/cli/settings-text.js';
import type { ProfileSettings } from '../../../src/cli/settings-value.js';

const apply = (settings: ProfileSettings, args: string[]): ProfileSettings => applyChanges(settings, parsePairs(args).changes);
const get = (s: ProfileSettings, setting: string, prop: string): unknown => s.get(setting)?.get(prop)?.value;

describe('property names', () => {
  it('resolves aliases of settings, properties and nmcli words to D-Bus names', () => {
    expect(resolveProperty('ethernet.mtu')).toMatchObject({ setting: '802-3-ethernet', property: 'mtu' });
    expect(resolveProperty('wifi-sec.psk')).toMatchObject({ setting: '802-11-wireless-security', property: 'psk' });
    expect(resolveProperty('ipv4.addresses')).toMatchObject({ setting: 'ipv4', property: 'address-data' });
    expect(resolveProperty('ipv6.routes')).toMatchObject({ setting: 'ipv6', property: 'route-data' });
    expect(resolveProperty('con-name')).toMatchObject({ setting: 'connection', property: 'id' });
    expect(resolveProperty('ifname')).toMatchObject({ setting: 'connection', property: 'interface-name' });
    expect(() => resolveProperty('ipv4.nope')).toThrow(SettingsArgError);
    expect(() => resolveProperty('mtu')).toThrow('invalid property "mtu"');
  });
});

describe('values', () => {
  it('parses addresses with and without a prefix, routes with next hop, metric and table', () => {
    const s = apply(new Map(), ['ipv4.addresses', '192.0.2.1/24, 198.51.100.2', 'ipv4.routes', '192.0.2.0/24 10.0.0.1 100, 203.0.113.0/25 table=7', 'ipv6.addresses', '2001:db8::1/64']);
    expect(get(s, 'ipv4', 'address-data')).toEqual([
      { address: { signature: 's', value: '192.0.2.1' }, prefix: { signature: 'u', value: 24 } },
      { address: { signature: 's', value: '198.51.100.2' }, prefix: { signature: 'u', value: 32 } },
    ]);
    expect(get(s, 'ipv4', 'route-data')).toEqual([
      { dest: { signature: 's', value: '192.0.2.0' }, prefix: { signature: 'u', value: 24 }, 'next-hop': { signature: 's', value: '10.0.0.1' }, metric: { signature: 'u', value: 100 } },
      { dest: { signature: 's', value: '203.0.113.0' }, prefix: { signature: 'u', value: 25 }, table: { signature: 'u', value: 7 } },
    ]);
    expect(valueCell(s.get('ipv4')!.get('route-data')!, resolveProperty('ipv4.routes').spec)).toEqual(['192.0.2.0/24 10.0.0.1 100', '203.0.113.0/25 table=7']);
    expect(get(s, 'ipv6', 'address-data')).toEqual([{ address: { signature: 's', value: '2001:db8::1' }, prefix: { signature: 'u', value: 64 } }]);
  });

  it('keeps ipv4.dns as network-order uint32 and ipv6.dns as 16 bytes, and shows them back as text', () => {
    const s = apply(new Map(), ['ipv4.dns', '192.0.2.53', 'ipv6.dns', '2001:db8::53, ::ffff:192.0.2.1']);
    const v4 = s.get('ipv4')!.get('dns')!;
    expect(v4.value).toEqual([Buffer.from([192, 0, 2, 53]).readUInt32LE(0)]);
    expect(valueCell(v4, resolveProperty('ipv4.dns').spec)).toEqual(['192.0.2.53']);
    const v6 = s.get('ipv6')!.get('dns')!;
    expect(Buffer.from((v6.value as Uint8Array[])[0]!).toString('hex')).toBe('20010db8000000000000000000000053');
    expect(valueCell(v6, resolveProperty('ipv6.dns').spec)).toEqual(['2001:db8::53', '::ffff:c000:201']);
  });

  it('parses booleans, integers in range, MAC addresses, SSIDs, secret flags and macvlan modes', () => {
    for (const [text, value] of [['yes', true], ['on', true], ['true', true], ['no', false], ['off', false], ['false', false]] as const) {
      expect(parseValue(resolveProperty('connection.autoconnect'), text)).toEqual({ signature: 'b', value });
    }
    expect(() => parseValue(resolveProperty('connection.autoconnect'), 'maybe')).toThrow('accepted: yes, no');
    expect(parseValue(resolveProperty('ethernet.mtu'), '1400')).toEqual({ signature: 'u', value: 1400 });
    expect(() => parseValue(resolveProperty('ethernet.mtu'), '-1')).toThrow('out of range');
    expect(() => parseValue(resolveProperty('vlan.id'), '4095')).toThrow('accepted: 0 to 4094');
    expect(parseValue(resolveProperty('mac'), '52:54:00:AB:cd:01').value).toEqual(Uint8Array.from([0x52, 0x54, 0, 0xab, 0xcd, 1]));
    expect(() => parseValue(resolveProperty('mac'), '52:54:00')).toThrow('not a MAC address');
    expect(Buffer.from(parseValue(resolveProperty('ssid'), 'café').value as Uint8Array).toString()).toBe('café');
    expect(parseValue(resolveProperty('wifi-sec.psk-flags'), 'agent-owned,not-saved')).toEqual({ signature: 'u', value: 3 });
    expect(parseValue(resolveProperty('macvlan.mode'), 'bridge')).toEqual({ signature: 'u', value: 2 });
    expect(Buffer.from(parseValue(resolveProperty('802-1x.ca-cert'), '/etc/ca.pem').value as Uint8Array).toString()).toBe('file:///etc/ca.pem\0');
    expect(() => parseValue(resolveProperty('802-1x.ca-cert'), 'ca.pem')).toThrow('absolute path');
    expect(() => parseValue(resolveProperty('ipv4.addresses'), '192.0.2.1/33')).toThrow('not a prefix length');
  });
});

describe('changes', () => {
  const base = apply(new Map(), ['ipv4.addresses', '192.0.2.1/24, 192.0.2.2/24, 192.0.2.3/24', 'ipv4.dns-search', 'a.example, b.example', 'ipv4.gateway', '192.0.2.254']);

  it('takes ipv6.addr-gen-mode by name or number and shows its name, as nmcli does', () => {
    const ref = resolveProperty('ipv6.addr-gen-mode');
    expect(parseValue(ref, 'stable-privacy')).toEqual({ signature: 'i', value: 1 });
    expect(parseValue(ref, '0')).toEqual({ signature: 'i', value: 0 });
    expect(valueCell({ signature: 'i', value: 3 }, ref.spec)).toBe('default');
    expect(() => parseValue(ref, 'random')).toThrow(/accepted: eui64, stable-privacy, default-or-eui64, default/);
    expect(() => parseValue(ref, '4')).toThrow(/out of range/);
  });

  it('appends with +, removes by value or index with -, clears with an empty value, and leaves the input alone', () => {
    const s = apply(base, ['+ipv4.addresses', '192.0.2.4/24', '-ipv4.addresses', '192.0.2.2/24', '-ipv4.addresses', '0', '-ipv4.dns-search', 'b.example', 'ipv4.gateway', '']);
    expect(valueCell(s.get('ipv4')!.get('address-data')!, resolveProperty('ipv4.addresses').spec)).toEqual(['192.0.2.3/24', '192.0.2.4/24']);
    expect(get(s, 'ipv4', 'dns-search')).toEqual(['a.example']);
    expect(s.get('ipv4')!.has('gateway')).toBe(false);
    expect(valueCell(base.get('ipv4')!.get('address-data')!, resolveProperty('ipv4.addresses').spec)).toHaveLength(3);
  });

  it('refuses + on a scalar, a missing value, and an index past the end', () => {
    expect(() => parsePairs(['+ipv4.gateway', '192.0.2.1'])).toThrow("'+' and '-' apply to list properties only");
    expect(() => parsePairs(['ipv4.method'])).toThrow('the value of "ipv4.method" is missing');
    expect(() => apply(base, ['-ipv4.addresses', '7'])).toThrow('has no element 7 (it has 3)');
  });

  it('returns the pairs of the command\'s own keywords apart', () => {
    const { changes, others } = parsePairs(['save', 'no', 'type', 'ethernet'], ['save']);
    expect(others.get('save')).toBe('no');
    expect(changes.map((c) => `${c.ref.setting}.${c.ref.property}`)).toEqual(['connection.type']);
  });
});
