import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseKeyfile } from '../../../../src/config/ini.js';
import { changedKeys } from '../../../../src/core/settings/diff.js';
import { fromKeyfile, type ExtraKeys } from '../../../../src/core/settings/keyfile-reader.js';
import { toKeyfile } from '../../../../src/core/settings/keyfile-writer.js';
import { validateSettings } from '../../../../src/core/settings/validate.js';
import type { Settings, Value } from '../../../../src/core/settings/value.js';
import { aasv, aay, as, au, ay, b, i, plain, s, u, UUID, validate } from './helpers.js';

const FILE = '/etc/netauditd/system-connections/test.nmconnection';

function read(text: string, file = FILE): { settings: Settings; extra: ExtraKeys } {
  return fromKeyfile(parseKeyfile(text, file));
}

function roundTrip(settings: Settings, extra: ExtraKeys = new Map()): { settings: Settings; extra: ExtraKeys; text: string } {
  const text = toKeyfile(settings, extra);
  const back = read(text);
  return { ...back, settings: validateSettings(back.settings, { generateUuid: () => 'ffffffff-ffff-4fff-8fff-ffffffffffff' }), text };
}

function fixture(name: string): string {
  return readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');
}

const conn = (id: string, type: string, more: Record<string, Value> = {}) => ({ id: s(id), uuid: s(UUID), type: s(type), ...more });
const MAC = [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef];

const PROFILES: Record<string, Record<string, Record<string, Value>>> = {
  ethernet: {
    connection: conn('lan0', 'ethernet', {
      'interface-name': s('eth0'),
      autoconnect: b(false),
      'autoconnect-priority': i(-5),
      zone: s('trusted'),
      permissions: as('user:alice:', 'user:bob:'),
    }),
    '802-3-ethernet': { mtu: u(9000), 'mac-address': ay(MAC), 'cloned-mac-address': ay([2, 0, 0, 0, 0, 1]) },
    ipv4: {
      method: s('manual'),
      'address-data': aasv({ address: s('192.0.2.10'), prefix: u(24) }, { address: s('198.51.100.7'), prefix: u(32) }),
      gateway: s('192.0.2.1'),
      'route-data': aasv(
        { dest: s('10.0.0.0'), prefix: u(8), 'next-hop': s('192.0.2.254'), metric: u(100) },
        { dest: s('172.16.0.0'), prefix: u(12), metric: u(5), table: u(300) },
        { dest: s('203.0.113.0'), prefix: u(24) },
      ),
      dns: au(0x08080808, 0x01010101),
      'dns-priority': i(-20),
      'dns-search': as('example.com', 'corp.example'),
      'never-default': b(true),
      'may-fail': b(false),
    },
    ipv6: {
      method: s('manual'),
      'address-data': aasv({ address: s('2001:db8::10'), prefix: u(64) }),
      gateway: s('fe80::1'),
      'route-data': aasv({ dest: s('2001:db8:1::'), prefix: u(48), 'next-hop': s('2001:db8::1'), metric: u(10) }),
      dns: aay([0x20, 0x01, 0x48, 0x60, 0x48, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0x88]),
    },
  },
  wifi: {
    connection: conn('Home Wi-Fi', 'wifi', { 'interface-name': s('wlan0') }),
    '802-11-wireless': { ssid: ay('My;Net "5G"'), mode: s('infrastructure'), band: s('a'), channel: u(36), mtu: u(1400), hidden: b(true), 'cloned-mac-address': ay(MAC) },
    '802-11-wireless-security': { 'key-mgmt': s('wpa-psk'), 'auth-alg': s('open'), psk: s('p#ss;w= "rd\\x'), 'psk-flags': u(0) },
    ipv4: { method: s('auto') },
    ipv6: { method: s('auto') },
  },
  'wifi-wep-leap': {
    connection: conn('legacy', '802-11-wireless'),
    '802-11-wireless': { ssid: ay([0xde, 0xad, 0x00, 0xbe, 0xef]) },
    '802-11-wireless-security': {
      'key-mgmt': s('ieee8021x'),
      'auth-alg': s('leap'),
      'wep-key0': s('0123456789'),
      'wep-key3': s('abcde'),
      'wep-key-flags': u(4),
      'leap-password': s('le;ap#'),
      'leap-password-flags': u(0),
    },
  },
  'ethernet-802.1x': {
    connection: conn('Office LAN', '802-3-ethernet'),
    '802-3-ethernet': {},
    '802-1x': {
      eap: as('tls', 'peap'),
      identity: s('Bill Smith'),
      password: s('pa;ss'),
      'password-flags': u(0),
      'ca-cert': ay('file:///etc/pki/ca cert.pem\0'),
      'client-cert': ay(Uint8Array.from([0x30, 0x82, 0x01, 0x0a, 0x00, 0xff])),
      'private-key': ay('pkcs11:token=Bill;object=key\0'),
      'private-key-password': s('12345testing'),
      'private-key-password-flags': u(4),
    },
  },
  bridge: {
    connection: conn('br0', 'bridge', { 'interface-name': s('br0') }),
    bridge: { stp: b(true), priority: u(4096), 'forward-delay': u(4), 'mac-address': ay(MAC) },
    ipv4: { method: s('disabled') },
    ipv6: { method: s('ignore') },
  },
  'bridge-port': {
    connection: conn('br0-port', 'ethernet', { 'interface-name': s('eth1'), master: s('br0'), 'slave-type': s('bridge') }),
    '802-3-ethernet': {},
    'bridge-port': { priority: u(16), 'path-cost': u(200) },
  },
  vlan: {
    connection: conn('vlan10', 'vlan', { 'interface-name': s('eth0.10') }),
    vlan: { id: u(10), parent: s('eth0'), flags: u(1) },
    '802-3-ethernet': { mtu: u(1496) },
  },
  veth: {
    connection: conn('veth pair', 'veth', { 'interface-name': s('veth0') }),
    veth: { peer: s('veth1') },
  },
  macvlan: {
    connection: conn('mv0', 'macvlan', { 'interface-name': s('mv0') }),
    macvlan: { parent: s(UUID), mode: u(2), promiscuous: b(true), tap: b(false) },
  },
  vxlan: {
    connection: conn('vx0', 'vxlan'),
    vxlan: { id: u(42), parent: s('eth0'), local: s('192.0.2.1'), remote: s('192.0.2.2'), 'destination-port': u(4789) },
  },
  dummy: {
    connection: conn('dummy0', 'dummy'),
  },
};

describe('keyfile writer and reader', () => {
  for (const [name, profile] of Object.entries(PROFILES)) {
    it(`round-trip a full ${name} profile exactly`, () => {
      const settings = validate(profile);
      const back = roundTrip(settings);
      expect(changedKeys(settings, back.settings)).toEqual([]);
      expect(plain(back.settings)).toEqual(plain(settings));
      expect(back.extra.size).toBe(0);
    });
  }

  it('writes an ethernet profile in the forms NetworkManager writes', () => {
    const { text } = roundTrip(validate(PROFILES.ethernet));
    expect(text).toBe(
      [
        '[connection]',
        'id=lan0',
        `uuid=${UUID}`,
        'type=ethernet',
        'autoconnect=false',
        'autoconnect-priority=-5',
        'interface-name=eth0',
        'permissions=user:alice:;user:bob:;',
        'zone=trusted',
        '',
        '[ethernet]',
        'cloned-mac-address=02:00:00:00:00:01',
        'mac-address=52:54:00:AB:CD:EF',
        'mtu=9000',
        '',
        '[ipv4]',
        'address1=192.0.2.10/24',
        'address2=198.51.100.7/32',
        'dns=8.8.8.8;1.1.1.1;',
        'dns-priority=-20',
        'dns-search=example.com;corp.example;',
        'gateway=192.0.2.1',
        'may-fail=false',
        'method=manual',
        'never-default=true',
        'route1=10.0.0.0/8,192.0.2.254,100',
        'route2=172.16.0.0/12,0.0.0.0,5',
        'route2_options=table=300',
        'route3=203.0.113.0/24',
        '',
        '[ipv6]',
        'address1=2001:db8::10/64',
        'dns=2001:4860:4860::8888;',
        'gateway=fe80::1',
        'method=manual',
        'route1=2001:db8:1::/48,2001:db8::1,10',
        '',
      ].join('\n'),
    );
  });

  it('writes the SSID and a psk holding # ; = " and \\ so that they read back exactly', () => {
    const { text, settings } = roundTrip(validate(PROFILES.wifi));
    expect(text).toContain('\n[wifi]\n');
    expect(text).toContain('\nssid=My\\\\;Net "5G"\n');
    expect(text).toContain('\n[wifi-security]\n');
    expect(text).toContain('\npsk=p#ss;w= "rd\\\\x\n');
    expect(text).toContain('\ntype=wifi\n');
    expect(settings.get('802-11-wireless-security')!.get('psk')!.value).toBe('p#ss;w= "rd\\x');
  });

  it('writes a non-printable SSID as a byte list', () => {
    expect(roundTrip(validate(PROFILES['wifi-wep-leap'])).text).toContain('\nssid=222;173;0;190;239;\n');
  });

  it('writes certificates as NetworkManager does: bare path, base64 data, PKCS#11 URI', () => {
    const { text } = roundTrip(validate(PROFILES['ethernet-802.1x']));
    expect(text).toContain('\nca-cert=/etc/pki/ca cert.pem\n');
    expect(text).toContain('\nclient-cert=data:;base64,MIIBCgD/\n');
    expect(text).toContain('\nprivate-key=pkcs11:token=Bill;object=key\n');
    expect(text).toContain('\neap=tls;peap;\n');
  });

  it('writes a secret whose flags are 0 or 4, and none whose flags have bit 0 (agent-owned) or bit 1 (not saved)', () => {
    const wifi = (flags: number) =>
      validate({
        connection: conn('w', 'wifi'),
        '802-11-wireless': { ssid: ay('n') },
        '802-11-wireless-security': { 'key-mgmt': s('wpa-psk'), psk: s('secret-passphrase'), 'psk-flags': u(flags) },
      });
    for (const flags of [0, 4]) expect(toKeyfile(wifi(flags), new Map())).toContain('\npsk=secret-passphrase\n');
    for (const flags of [1, 2, 3, 5]) {
      const text = toKeyfile(wifi(flags), new Map());
      expect(text).not.toContain('secret-passphrase');
      expect(text).toContain(`\npsk-flags=${flags}\n`);
    }
    const leap = toKeyfile(validate(PROFILES['wifi-wep-leap']), new Map());
    expect(leap).toContain('\nwep-key0=0123456789\n');
    expect(leap).toContain('\nleap-password=le;ap#\n');
    const dot1x = validate(PROFILES['ethernet-802.1x']);
    dot1x.get('802-1x')!.set('password-flags', u(1));
    dot1x.get('802-1x')!.set('private-key-password-flags', u(2));
    const text = toKeyfile(dot1x, new Map());
    expect(text).not.toContain('pa;ss');
    expect(text).not.toContain('12345testing');
  });

  it('round-trips ids that a keyfile must escape', () => {
    const ids = ['x" op=evil', '#comment', ';semi', 'a=b', ' leading', 'trailing ', '  ', '[connection]', 'back\\slash', '\\n', 'Café ☕', 'x'.repeat(1024)];
    for (const id of ids) {
      const settings = validate({ connection: conn(id, 'dummy') });
      const back = roundTrip(settings);
      expect(back.settings.get('connection')!.get('id')!.value).toBe(id);
      expect(back.text.split('\n').filter((l) => l.startsWith('id=') || l.startsWith('[')).length).toBe(3);
    }
  });

  it('keeps unknown groups and keys and writes them back unchanged', () => {
    const text = [
      '[connection]',
      'id=x',
      `uuid=${UUID}`,
      'type=ethernet',
      'timestamp=1700000000',
      'llmnr=2',
      '',
      '[ethernet]',
      'duplex=full',
      'wake-on-lan=0x40',
      '',
      '[ipv4]',
      'method=auto',
      'dhcp-fqdn=host\\sname',
      '',
      '[proxy]',
      '',
      '[bond]',
      'mode=active-backup',
      'weird=a\\;b\\\\c',
      '',
    ].join('\n');
    const first = read(text);
    expect([...first.extra.keys()]).toEqual(['connection', 'ethernet', 'ipv4', 'proxy', 'bond']);
    expect(first.extra.get('bond')).toEqual([{ key: 'mode', value: 'active-backup' }, { key: 'weird', value: 'a\\;b\\\\c' }]);
    const written = toKeyfile(validateSettings(first.settings, { generateUuid: () => UUID }), first.extra);
    // Known groups in NetworkManager's key order, unknown groups as they were.
    expect(written).toBe(
      [
        '[connection]',
        'id=x',
        `uuid=${UUID}`,
        'type=ethernet',
        'llmnr=2',
        'timestamp=1700000000',
        '',
        '[ethernet]',
        'duplex=full',
        'wake-on-lan=0x40',
        '',
        '[ipv4]',
        'dhcp-fqdn=host\\sname',
        'method=auto',
        '',
        '[proxy]',
        '',
        '[bond]',
        'mode=active-backup',
        'weird=a\\;b\\\\c',
        '',
      ].join('\n'),
    );
  });

  it('lets a known key win over a kept key of the same name, and drops kept keys of a removed setting', () => {
    const extra: ExtraKeys = new Map([
      ['connection', [{ key: 'id', value: 'stale' }, { key: 'timestamp', value: '1' }]],
      ['802-1x', [{ key: 'phase2-auth', value: 'mschapv2' }]],
    ]);
    const text = toKeyfile(validate({ connection: conn('fresh', 'ethernet') }), extra);
    expect(text).toContain('\nid=fresh\n');
    expect(text).not.toContain('stale');
    expect(text).toContain('\ntimestamp=1\n');
    expect(text).not.toContain('802-1x');
  });

  it('keeps route attributes it does not know with their route across a rewrite', () => {
    const { settings, extra } = read(
      ['[connection]', 'id=r', `uuid=${UUID}`, 'type=ethernet', '[ipv4]', 'method=auto', 'route3=10.0.0.0/8', 'route3_options=onlink=true,table=7,cwnd=10', 'route9_options=mtu=1'].join('\n'),
    );
    expect(plain(settings)).toMatchObject({ ipv4: { 'route-data': { 'aa{sv}': [{ dest: { s: '10.0.0.0' }, prefix: { u: 8 }, table: { u: 7 } }] } } });
    expect(extra.get('ipv4')).toEqual([{ key: 'route1_options', value: 'onlink=true,cwnd=10' }, { key: 'route9_options', value: 'mtu=1' }]);
    const text = toKeyfile(validateSettings(settings, { generateUuid: () => UUID }), extra);
    expect(text).toContain('\nroute9_options=mtu=1\nroute1=10.0.0.0/8\nroute1_options=cwnd=10,onlink=true,table=7\n');
  });
});

describe('reading profiles NetworkManager wrote', () => {
  it('reads an ethernet profile as NetworkManager 1.42 writes it', () => {
    const { settings, extra } = read(fixture('nm-1.42-ethernet.nmconnection'));
    const valid = validateSettings(settings, { generateUuid: () => UUID });
    expect(plain(valid)).toEqual({
      connection: {
        id: { s: 'Wired connection 1' },
        uuid: { s: '7a4a9b6e-2f0e-4c71-a0a4-2f6f7c1d9e55' },
        type: { s: '802-3-ethernet' },
        'autoconnect-priority': { i: -999 },
        'interface-name': { s: 'enp1s0' },
      },
      '802-3-ethernet': { 'mac-address': { ay: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56] } },
      ipv4: {
        'address-data': { 'aa{sv}': [{ address: { s: '192.0.2.10' }, prefix: { u: 24 } }] },
        dns: { au: [new Uint32Array(Uint8Array.from([192, 0, 2, 53]).buffer)[0], new Uint32Array(Uint8Array.from([198, 51, 100, 53]).buffer)[0]] },
        'dns-search': { as: ['example.com'] },
        gateway: { s: '192.0.2.1' },
        method: { s: 'manual' },
        'route-data': { 'aa{sv}': [{ dest: { s: '198.51.100.0' }, prefix: { u: 24 }, 'next-hop': { s: '192.0.2.254' }, metric: { u: 100 }, table: { u: 200 } }] },
      },
      ipv6: { 'addr-gen-mode': { i: 1 }, method: { s: 'auto' } },
    });
    expect(extra).toEqual(
      new Map([
        ['connection', [{ key: 'timestamp', value: '1700000000' }]],
        ['proxy', []],
      ]),
    );
    // Written back, the file is the one NetworkManager wrote.
    expect(toKeyfile(valid, extra)).toBe(fixture('nm-1.42-ethernet.nmconnection'));
  });

  it('reads a wifi profile with an escaped semicolon in its SSID and a psk holding # and ;', () => {
    const { settings } = read(fixture('nm-1.42-wifi.nmconnection'));
    const valid = validateSettings(settings, { generateUuid: () => UUID });
    expect(Buffer.from(valid.get('802-11-wireless')!.get('ssid')!.value as Uint8Array).toString()).toBe('Home;Net');
    expect(valid.get('802-11-wireless-security')!.get('psk')!.value).toBe('s3cret#pass;word');
    expect(valid.get('connection')!.get('type')!.value).toBe('802-11-wireless');
    expect(valid.get('connection')!.get('permissions')!.value).toEqual(['user:alice:']);
  });

  it('reads bare certificate paths as file:// values and keeps flags', () => {
    const { settings } = read(fixture('nm-1.42-8021x.nmconnection'));
    const dot1x = validateSettings(settings, { generateUuid: () => UUID }).get('802-1x')!;
    expect(Buffer.from(dot1x.get('ca-cert')!.value as Uint8Array).toString()).toBe('file:///etc/pki/netaudit/ca.pem\0');
    expect(Buffer.from(dot1x.get('private-key')!.value as Uint8Array).toString()).toBe('file:///etc/pki/netaudit/client.key\0');
    expect(dot1x.get('private-key-password-flags')!.value).toBe(1);
    expect(dot1x.get('eap')!.value).toEqual(['tls']);
  });

  it('resolves a relative certificate path against the profile directory, as NetworkManager does', () => {
    const { settings } = read(['[connection]', 'id=t', 'type=ethernet', '[802-1x]', 'eap=tls;', 'ca-cert=certs/test-ca-cert.pem'].join('\n'), '/etc/nm/x.nmconnection');
    expect(Buffer.from(settings.get('802-1x')!.get('ca-cert')!.value as Uint8Array).toString()).toBe('file:///etc/nm/test-ca-cert.pem\0');
  });

  it('reads the older forms NetworkManager still reads', () => {
    const { settings, extra } = read(
      [
        '[connection]',
        'id=Test Wired Connection',
        'uuid=4E80A56D-C99F-4AAD-A6DD-B449BC398C57',
        'type=802-3-ethernet',
        'autoconnect=yes',
        '',
        '[802-3-ethernet]',
        'mac-address=0;17;34;51;68;85;',
        'cloned-mac-address=random',
        'mtu=0x578',
        '',
        '[ipv4]',
        'method=manual',
        'addresses1=192.168.0.5;24;192.168.0.1;',
        'address2=1.2.3.4/16,1.2.1.1',
        'address=2.3.4.5',
        'routes1=1.2.3.0/24,2.3.4.8,99',
        'route2=1.1.1.3/13,,',
        'route3=1.1.1.7/17,0.0.0.0',
        '',
        '[ipv6]',
        'method=auto',
        'route1=8:9:0:1:2:3:4:5/124,6',
        '',
        '[802-11-wireless]',
        'ssid=110;109;45;116;101;115;116;',
      ].join('\n'),
    );
    expect(plain(settings)).toMatchObject({
      connection: { uuid: { s: '4E80A56D-C99F-4AAD-A6DD-B449BC398C57' }, type: { s: '802-3-ethernet' }, autoconnect: { b: true } },
      '802-3-ethernet': { 'mac-address': { ay: [0, 17, 34, 51, 68, 85] }, mtu: { u: 1400 } },
      ipv4: {
        'address-data': {
          'aa{sv}': [
            { address: { s: '2.3.4.5' }, prefix: { u: 24 } },
            { address: { s: '192.168.0.5' }, prefix: { u: 24 } },
            { address: { s: '1.2.3.4' }, prefix: { u: 16 } },
          ],
        },
        gateway: { s: '192.168.0.1' },
        'route-data': {
          'aa{sv}': [
            { dest: { s: '1.2.3.0' }, prefix: { u: 24 }, 'next-hop': { s: '2.3.4.8' }, metric: { u: 99 } },
            { dest: { s: '1.1.1.3' }, prefix: { u: 13 } },
            { dest: { s: '1.1.1.7' }, prefix: { u: 17 } },
          ],
        },
      },
      ipv6: { 'route-data': { 'aa{sv}': [{ dest: { s: '8:9:0:1:2:3:4:5' }, prefix: { u: 124 }, metric: { u: 6 } }] } },
      '802-11-wireless': { ssid: { ay: [...Buffer.from('nm-test')] } },
    });
    expect(extra.get('ethernet')).toEqual([{ key: 'cloned-mac-address', value: 'random' }]);
  });

  it('reads the port names newer NetworkManager writes', () => {
    const { settings } = read(['[connection]', 'id=p', 'type=ethernet', 'controller=br0', 'port-type=bridge'].join('\n'));
    expect(plain(settings)).toMatchObject({ connection: { master: { s: 'br0' }, 'slave-type': { s: 'bridge' } } });
  });

  it('reads ipv6.addr-gen-mode by name or number, and writes its name as NetworkManager does', () => {
    const names = ['eui64', 'stable-privacy', 'default-or-eui64', 'default'];
    names.forEach((name, n) => {
      for (const written of [name, String(n)]) {
        const { settings } = read(['[connection]', 'id=g', 'type=ethernet', '[ipv6]', `addr-gen-mode=${written}`, 'method=auto'].join('\n'));
        expect(settings.get('ipv6')!.get('addr-gen-mode')!.value).toBe(n);
        expect(roundTrip(settings).text).toMatch(new RegExp(`^addr-gen-mode=${name}$`, 'm'));
      }
    });
    // A name NetworkManager does not have is dropped with a warning naming the line, as NetworkManager drops it.
    const bad = fromKeyfile(parseKeyfile(['[connection]', 'id=g', 'type=ethernet', '[ipv6]', 'addr-gen-mode=random', 'method=auto'].join('\n'), FILE));
    expect(bad.settings.get('ipv6')!.has('addr-gen-mode')).toBe(false);
    expect(bad.warnings).toEqual([expect.stringMatching(/test\.nmconnection:5: \[ipv6\] addr-gen-mode: "random" is not one of eui64, stable-privacy, default-or-eui64, default; the value is ignored/)]);
  });

  it('reads IPv6 DNS servers in every textual form as 16 bytes', () => {
    const { settings } = read(['[connection]', 'id=d', 'type=ethernet', '[ipv6]', 'method=auto', 'dns=::;2001:DB8::;::ffff:192.0.2.1;1:2:3:4:5:6:7:8;'].join('\n'));
    const hex = (settings.get('ipv6')!.get('dns')!.value as Uint8Array[]).map((a) => Buffer.from(a).toString('hex'));
    expect(hex).toEqual([
      '00000000000000000000000000000000',
      '20010db8000000000000000000000000',
      '00000000000000000000ffffc0000201',
      '00010002000300040005000600070008',
    ]);
  });

  it('keeps DNS servers in a form it cannot hold as an extra key', () => {
    const { settings, extra } = read(['[connection]', 'id=d', 'type=ethernet', '[ipv4]', 'method=auto', 'dns=1.1.1.1#one.one.one.one;'].join('\n'));
    expect(settings.get('ipv4')!.has('dns')).toBe(false);
    expect(extra.get('ipv4')).toEqual([{ key: 'dns', value: '1.1.1.1#one.one.one.one;' }]);
  });

  it('drops a known value that does not parse with a warning naming file and line, as NetworkManager does, and reads the rest', () => {
    const IGNORED = '; the value is ignored, as NetworkManager ignores it';
    const cases: Array<[string[], string, string, string]> = [
      [['autoconnect=maybe'], `${FILE}:4: [connection] autoconnect: "maybe" is not a boolean; expected true or false${IGNORED}`, 'connection', 'autoconnect'],
      [['autoconnect-priority=1e3'], `${FILE}:4: [connection] autoconnect-priority: "1e3" is not an integer from -999 to 999${IGNORED}`, 'connection', 'autoconnect-priority'],
      [['autoconnect-priority=1000'], `${FILE}:4: [connection] autoconnect-priority: "1000" is not an integer from -999 to 999${IGNORED}`, 'connection', 'autoconnect-priority'],
      [['zone=a\\qb'], `${FILE}:4: [connection] zone: invalid escape sequence "\\\\q"`, 'connection', 'zone'],
      [['[ethernet]', 'mtu=-1'], `${FILE}:5: [ethernet] mtu: "-1" is not an integer from 0 to 4294967295${IGNORED}`, '802-3-ethernet', 'mtu'],
      [['[ethernet]', 'mac-address=00:11:22:zz:44:55'], `${FILE}:5: [ethernet] mac-address: "00:11:22:zz:44:55" is not a MAC address${IGNORED}`, '802-3-ethernet', 'mac-address'],
      [['[ipv4]', 'address1=192.0.2.300/24'], `${FILE}:5: [ipv4] address1: "192.0.2.300/24" does not start with an IPv4 address${IGNORED}`, 'ipv4', 'address-data'],
      [['[ipv4]', 'address1=192.0.2.3/24 x'], `${FILE}:5: [ipv4] address1: unexpected character " " in "192.0.2.3/24 x"${IGNORED}`, 'ipv4', 'address-data'],
      [['[ipv4]', 'route1=10.0.0.0/8,192.0.2.1,100,7'], `${FILE}:5: [ipv4] route1: unexpected text at the end of "10.0.0.0/8,192.0.2.1,100,7"${IGNORED}`, 'ipv4', 'route-data'],
      [['[vlan]', 'id=5000'], `${FILE}:5: [vlan] id: "5000" is not an integer from 0 to 4094${IGNORED}`, 'vlan', 'id'],
      [['[802-1x]', 'ca-cert=data:;base64,!!!!'], `${FILE}:5: [802-1x] ca-cert: the data after "data:;base64," is not base64${IGNORED}`, '802-1x', 'ca-cert'],
    ];
    for (const [lines, message, setting, prop] of cases) {
      const text = ['[connection]', 'id=t', 'type=ethernet', ...lines].join('\n');
      const read = fromKeyfile(parseKeyfile(text, FILE));
      expect(read.warnings, message).toHaveLength(1);
      expect(read.warnings[0], message).toContain(message);
      expect(read.settings.get(setting)?.has(prop), message).toBe(false);
      expect(read.settings.get('connection')!.get('id')).toEqual(s('t'));
    }
  });

  it('drops only the DNS servers and routes options that do not parse', () => {
    const read = fromKeyfile(parseKeyfile(['[connection]', 'id=t', 'type=ethernet', '[ipv4]', 'method=auto', 'dns=4.2.2.1;bogus;8.8.8.8;', 'address1=bad', 'address2=192.0.2.1/24', 'route1=10.0.0.0/8', 'route1_options=table=x'].join('\n'), FILE));
    expect(read.warnings).toEqual([
      `${FILE}:7: [ipv4] address1: "bad" does not start with an IPv4 address; the value is ignored, as NetworkManager ignores it`,
      `${FILE}:10: [ipv4] route1_options: "x" is not an integer from 0 to 4294967295; the value is ignored, as NetworkManager ignores it`,
      `${FILE}:6: [ipv4] dns: "bogus" is not an IPv4 address; the value is ignored, as NetworkManager ignores it`,
    ]);
    expect(plain(new Map([['ipv4', read.settings.get('ipv4')!]]))).toEqual({
      ipv4: {
        method: { s: 'auto' },
        dns: { au: [0x01020204, 0x08080808] },
        'address-data': { 'aa{sv}': [{ address: { s: '192.0.2.1' }, prefix: { u: 24 } }] },
        'route-data': { 'aa{sv}': [{ dest: { s: '10.0.0.0' }, prefix: { u: 8 } }] },
      },
    });
  });

  it('reads an empty file as no settings, for validation to refuse', () => {
    expect(read('').settings.size).toBe(0);
  });
});
