import { describe, expect, it } from 'vitest';
import { NetauditError } from '../../../../src/core/errors.js';
import { validateInterfaceName, validateUuid } from '../../../../src/core/settings/validate.js';
import type { Value } from '../../../../src/core/settings/value.js';
import { aasv, aay, as, au, ay, b, ethernet, i, plain, s, u, UUID, validate } from './helpers.js';

function rejects(obj: Record<string, Record<string, Value>>, message: string): void {
  let error: unknown;
  try {
    validate(obj);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(NetauditError);
  expect((error as NetauditError).code).toBe('InvalidArgument');
  expect((error as NetauditError).reason).toBe('invalid-argument');
  expect((error as NetauditError).message).toContain(message);
}

describe('validateSettings', () => {
  it('accepts a minimal ethernet profile and adds the empty base setting, as NetworkManager does', () => {
    const out = validate(ethernet());
    expect(plain(out)).toEqual({
      connection: { id: { s: 'lan0' }, uuid: { s: UUID }, type: { s: '802-3-ethernet' } },
      '802-3-ethernet': {},
    });
  });

  it('stores the aliases ethernet and wifi as NetworkManager type names', () => {
    expect(validate({ connection: { id: s('a'), type: s('ethernet') } }).get('connection')!.get('type')!.value).toBe('802-3-ethernet');
    const wifi = validate({ connection: { id: s('w'), type: s('wifi') }, '802-11-wireless': { ssid: ay('net') } });
    expect(wifi.get('connection')!.get('type')!.value).toBe('802-11-wireless');
  });

  it('generates a missing uuid and stores a given one in lowercase', () => {
    expect(validate({ connection: { id: s('a'), type: s('dummy') } }).get('connection')!.get('uuid')!.value).toBe(UUID);
    const upper = validate({ connection: { id: s('a'), type: s('dummy'), uuid: s(UUID.toUpperCase()) } });
    expect(upper.get('connection')!.get('uuid')!.value).toBe(UUID);
  });

  it('returns settings and properties in schema order whatever order the caller used', () => {
    const out = validate({ ipv4: { method: s('auto') }, connection: { type: s('dummy'), id: s('d') } });
    expect([...out.keys()]).toEqual(['connection', 'dummy', 'ipv4']);
    expect([...out.get('connection')!.keys()]).toEqual(['id', 'uuid', 'type']);
  });

  it('does not change its input', () => {
    const input = ethernet();
    validate(input);
    expect(Object.keys(input)).toEqual(['connection']);
  });

  it('rejects an unknown setting, naming it and the accepted ones', () => {
    rejects(ethernet({ bogus: {} }), 'unknown setting "bogus"; accepted settings: connection, 802-3-ethernet,');
  });

  it('rejects an unknown property, naming setting.property and what the setting accepts', () => {
    rejects(ethernet({ ipv4: { method: s('auto'), mtu: u(1) } }), 'unknown property "ipv4.mtu"; ipv4 accepts: address-data, dad-timeout, dhcp-client-id, dhcp-hostname, dhcp-send-hostname, dhcp-timeout, dns, dns-priority, dns-search, gateway');
  });

  it('rejects a wrong variant type, saying the expected and the given type', () => {
    rejects(ethernet({ ipv4: { method: u(1) } }), 'ipv4.method: expected a value of D-Bus type "s", got "u"');
    rejects(ethernet({ '802-3-ethernet': { mtu: i(1500) } }), '802-3-ethernet.mtu: expected a value of D-Bus type "u", got "i"');
    rejects(ethernet({ connection: { id: s('x'), type: s('dummy'), autoconnect: s('yes') } }), 'connection.autoconnect: expected a value of D-Bus type "b", got "s"');
  });

  it('rejects a value whose JavaScript form does not match its signature', () => {
    rejects(ethernet({ '802-3-ethernet': { mtu: { signature: 'u', value: -1 } } }), '802-3-ethernet.mtu: expected a value of D-Bus type "u", got number');
  });

  it('requires connection.id and connection.type', () => {
    rejects({ connection: { type: s('dummy') } }, 'connection.id: missing');
    rejects({ connection: { id: s('x') } }, 'connection.type: missing; accepted: 802-3-ethernet, 802-11-wireless, bridge');
    rejects({}, 'connection.id: missing');
  });

  it('rejects an unknown connection type', () => {
    rejects({ connection: { id: s('x'), type: s('bond') } }, 'connection.type: "bond" is not a supported connection type; accepted: 802-3-ethernet, 802-11-wireless, bridge, vlan, veth, macvlan, vxlan, dummy, vpn, and the aliases ethernet, wifi');
  });

  it('rejects a malformed uuid', () => {
    for (const bad of ['', 'xyz', `${UUID}0`, UUID.replaceAll('-', ''), `{${UUID}}`, UUID.replace('4e', 'g4')]) {
      rejects({ connection: { id: s('x'), type: s('dummy'), uuid: s(bad) } }, `connection.uuid: ${JSON.stringify(bad)} is not a UUID`);
    }
  });

  describe('connection.id, which names the profile file', () => {
    const withId = (id: string) => ({ connection: { id: s(id), type: s('dummy') } });
    const why = 'the id names the profile file, so it must be 1 to 1024 bytes of UTF-8 without "/" or control characters';

    it('rejects a path', () => {
      rejects(withId('../../etc/passwd'), `connection.id: "../../etc/passwd" contains "/"; ${why}`);
      rejects(withId('/'), 'connection.id: "/" contains "/"');
    });

    it('rejects NUL, newline, DEL and C1 control characters', () => {
      rejects(withId('a\0b'), 'connection.id: "a\\u0000b" contains the control character U+0000');
      rejects(withId('lan\nop=evil'), 'connection.id: "lan\\nop=evil" contains the control character U+000A');
      rejects(withId('a\x7f'), 'contains the control character U+007F');
      rejects(withId('a\u0085b'), 'contains the control character U+0085');
    });

    it('rejects an empty id and one over 1024 bytes of UTF-8', () => {
      rejects(withId(''), `connection.id: it is empty; ${why}`);
      rejects(withId('x'.repeat(4096)), 'connection.id: it is 4096 bytes long');
      rejects(withId('é'.repeat(513)), 'connection.id: it is 1026 bytes long');
      expect(validate(withId('x'.repeat(1024))).get('connection')!.get('id')!.value).toHaveLength(1024);
    });

    it('accepts quotes, =, #, ; and spaces, which the keyfile escapes', () => {
      for (const id of ['x" op=evil', '#not a comment', 'a;b', ' lead', 'trail ', '[group]', 'Café ☕', 'back\\slash']) {
        expect(validate(withId(id)).get('connection')!.get('id')!.value).toBe(id);
      }
    });

    it('rejects a lone surrogate, which is not UTF-8', () => {
      rejects(withId('a\uD800'), 'connection.id: "a\\ud800" is not valid UTF-8');
    });
  });

  describe('interface names', () => {
    const named = (name: string) => ethernet({ connection: { id: s('x'), type: s('ethernet'), 'interface-name': s(name) } });
    const rule = 'a name has 1 to 15 bytes, is not "." or "..", and holds no "/", ":", whitespace or NUL';

    it('accepts what the kernel accepts', () => {
      expect(validate(named('eth0')).get('connection')!.get('interface-name')!.value).toBe('eth0');
      validate(named('x'.repeat(15)));
      validate(named('br-lan.10@x'));
    });

    it('rejects what the kernel rejects, saying why', () => {
      rejects(named(''), `connection.interface-name: "" is not an interface name the kernel accepts (it is empty); ${rule}`);
      rejects(named('x'.repeat(16)), '(it is 16 bytes long)');
      rejects(named('ééééééééé'), '(it is 18 bytes long)');
      rejects(named('.'), '("." names a directory in /sys/class/net)');
      rejects(named('..'), '(".." names a directory in /sys/class/net)');
      rejects(named('a/b'), '(it contains "/")');
      rejects(named('a:b'), '(it contains ":")');
      rejects(named('a b'), '(it contains whitespace)');
      rejects(named('a\tb'), 'connection.interface-name: "a\\tb" is not an interface name the kernel accepts (it contains whitespace)');
      rejects(named('à'), '(it contains whitespace)');
    });

    it('checks vlan, macvlan and vxlan parents and the veth peer, a parent also by connection UUID', () => {
      rejects({ connection: { id: s('v'), type: s('vlan') }, vlan: { parent: s('a:b'), id: u(5) } }, 'vlan.parent: "a:b" is neither a connection UUID nor an interface name');
      rejects({ connection: { id: s('m'), type: s('macvlan') }, macvlan: { parent: s(''), mode: u(2) } }, 'macvlan.parent: "" is neither');
      rejects({ connection: { id: s('x'), type: s('vxlan') }, vxlan: { parent: s('x'.repeat(16)), id: u(1) } }, 'vxlan.parent:');
      rejects({ connection: { id: s('p'), type: s('veth'), 'interface-name': s('v0') }, veth: { peer: s('a b') } }, 'veth.peer: "a b" is not an interface name the kernel accepts');
      const byUuid = validate({ connection: { id: s('v'), type: s('vlan') }, vlan: { parent: s(UUID.toUpperCase()), id: u(5) } });
      expect(byUuid.get('vlan')!.get('parent')!.value).toBe(UUID);
    });

    it('are exported as helpers that return the checked value', () => {
      expect(validateInterfaceName('eth0')).toBe('eth0');
      expect(() => validateInterfaceName('eth0:1', 'device')).toThrow('device: "eth0:1" is not an interface name');
      expect(validateUuid(UUID.toUpperCase())).toBe(UUID);
      expect(() => validateUuid('nope', 'uuid')).toThrow('uuid: "nope" is not a UUID');
    });
  });

  describe('ipv4 and ipv6', () => {
    it('accepts the methods of docs/api.md and rejects others', () => {
      for (const m of ['auto', 'disabled', 'link-local']) validate(ethernet({ ipv4: { method: s(m) }, ipv6: { method: s(m) } }));
      validate(ethernet({ ipv6: { method: s('ignore') } }));
      rejects(ethernet({ ipv4: { method: s('ignore') } }), 'ipv4.method: "ignore" is not accepted; accepted: auto, link-local, manual, disabled');
      rejects(ethernet({ ipv4: { method: s('shared') } }), 'ipv4.method: "shared" is not accepted');
      validate(ethernet({ ipv6: { method: s('dhcp') } }));
      rejects(ethernet({ ipv6: { method: s('shared') } }), 'ipv6.method: "shared" is not accepted; accepted: auto, dhcp, link-local, manual, disabled, ignore');
      rejects(ethernet({ ipv4: { 'never-default': b(true) } }), 'ipv4.method: missing');
    });

    it('needs an address or a route for method manual, and no address for disabled', () => {
      rejects(ethernet({ ipv4: { method: s('manual') } }), 'ipv4.method: "manual" needs at least one address in ipv4.address-data or one route in ipv4.route-data');
      rejects(ethernet({ ipv6: { method: s('disabled'), 'address-data': aasv({ address: s('2001:db8::1'), prefix: u(64) }) } }), 'ipv6.address-data: not allowed with ipv6.method "disabled"');
      rejects(ethernet({ ipv4: { method: s('link-local'), dns: au(0x08080808) } }), 'ipv4.dns: not allowed with ipv4.method "link-local"');
    });

    it('checks address-data entries: address of the family and prefix, both required, nothing else', () => {
      const v4 = (entry: Record<string, Value>) => ethernet({ ipv4: { method: s('manual'), 'address-data': aasv(entry) } });
      const v6 = (entry: Record<string, Value>) => ethernet({ ipv6: { method: s('manual'), 'address-data': aasv(entry) } });
      validate(v4({ address: s('192.0.2.10'), prefix: u(24) }));
      validate(v4({ address: s('192.0.2.10'), prefix: u(0) }));
      validate(v4({ address: s('192.0.2.10'), prefix: u(32) }));
      rejects(v4({ address: s('192.0.2.10'), prefix: u(33) }), 'ipv4.address-data[0].prefix: 33 is out of range; accepted: 0 to 32');
      rejects(v4({ address: s('2001:db8::1'), prefix: u(24) }), 'ipv4.address-data[0].address: "2001:db8::1" is not an IPv4 address');
      rejects(v4({ address: s('192.0.2.300'), prefix: u(24) }), 'ipv4.address-data[0].address: "192.0.2.300" is not an IPv4 address');
      rejects(v4({ address: s('192.0.2.10') }), 'ipv4.address-data[0]: "address" and "prefix" are both required');
      rejects(v4({ address: s('192.0.2.10'), prefix: u(24), label: s('x') }), 'ipv4.address-data[0]: unknown key "label"; accepted: address, prefix');
      rejects(v4({ address: s('192.0.2.10'), prefix: i(24) }), 'ipv4.address-data[0].prefix: expected a value of D-Bus type "u", got "i"');
      rejects(v6({ address: s('192.0.2.10'), prefix: u(64) }), 'ipv6.address-data[0].address: "192.0.2.10" is not an IPv6 address');
      rejects(v6({ address: s('fe80::1%eth0'), prefix: u(64) }), 'is not an IPv6 address');
      rejects(v6({ address: s('2001:db8::1'), prefix: u(129) }), 'ipv6.address-data[0].prefix: 129 is out of range; accepted: 0 to 128');
    });

    it('stores IPv6 addresses in canonical form', () => {
      const out = validate(ethernet({ ipv6: { method: s('manual'), 'address-data': aasv({ address: s('2001:0DB8:0:0::1'), prefix: u(64) }), gateway: s('FE80::1') } }));
      expect(plain(out)).toMatchObject({ ipv6: { 'address-data': { 'aa{sv}': [{ address: { s: '2001:db8::1' }, prefix: { u: 64 } }] }, gateway: { s: 'fe80::1' } } });
    });

    it('checks the gateway family and that there is an address for it', () => {
      const addr = aasv({ address: s('192.0.2.10'), prefix: u(24) });
      rejects(ethernet({ ipv4: { method: s('manual'), 'address-data': addr, gateway: s('2001:db8::1') } }), 'ipv4.gateway: "2001:db8::1" is not an IPv4 address');
      rejects(ethernet({ ipv4: { method: s('auto'), gateway: s('192.0.2.1') } }), 'ipv4.gateway: a gateway needs an address in ipv4.address-data');
    });

    it('checks route-data entries', () => {
      const route = (entry: Record<string, Value>) => ethernet({ ipv4: { method: s('auto'), 'route-data': aasv(entry) } });
      const ok = validate(route({ dest: s('10.0.0.0'), prefix: u(8), 'next-hop': s('192.0.2.1'), metric: u(100), table: u(200) }));
      expect(plain(ok)).toMatchObject({ ipv4: { 'route-data': { 'aa{sv}': [{ dest: { s: '10.0.0.0' }, prefix: { u: 8 }, 'next-hop': { s: '192.0.2.1' }, metric: { u: 100 }, table: { u: 200 } }] } } });
      rejects(route({ dest: s('10.0.0.0') }), 'ipv4.route-data[0]: "dest" and "prefix" are both required');
      rejects(route({ dest: s('10.0.0.0'), prefix: u(8), mtu: u(1400) }), 'ipv4.route-data[0]: unknown key "mtu"; accepted: dest, prefix, next-hop, metric, table');
      rejects(route({ dest: s('10.0.0.0'), prefix: u(8), 'next-hop': s('::1') }), 'ipv4.route-data[0].next-hop: "::1" is not an IPv4 address');
      rejects(route({ dest: s('10.0.0.0'), prefix: u(40) }), 'ipv4.route-data[0].prefix: 40 is out of range');
      rejects(route({ dest: s('10.0.0.0'), prefix: u(8), metric: s('1') }), 'ipv4.route-data[0].metric: expected a value of D-Bus type "u", got "s"');
    });

    it('checks dns entries: uint32 for ipv4, 16 bytes for ipv6, and domains', () => {
      validate(ethernet({ ipv4: { method: s('auto'), dns: au(0x08080808) }, ipv6: { method: s('auto'), dns: aay(new Array(16).fill(1)) } }));
      rejects(ethernet({ ipv6: { method: s('auto'), dns: aay([1, 2, 3, 4]) } }), 'ipv6.dns[0]: an IPv6 address has 16 bytes, got 4');
      rejects(ethernet({ ipv4: { method: s('auto'), dns: as('8.8.8.8') } }), 'ipv4.dns: expected a value of D-Bus type "au", got "as"');
      rejects(ethernet({ ipv4: { method: s('auto'), 'dns-search': as('a b') } }), 'ipv4.dns-search: "a b" is not a DNS domain');
    });

    it('drops empty lists, which NetworkManager treats as none', () => {
      const out = validate(ethernet({ ipv4: { method: s('auto'), dns: au(), 'dns-search': as(), 'route-data': aasv() } }));
      expect([...out.get('ipv4')!.keys()]).toEqual(['method']);
    });
  });

  it('checks MAC addresses are 6 bytes', () => {
    rejects(ethernet({ '802-3-ethernet': { 'mac-address': ay([1, 2, 3, 4, 5]) } }), '802-3-ethernet.mac-address: a MAC address has 6 bytes, got 5');
    rejects(ethernet({ '802-3-ethernet': { 'cloned-mac-address': ay([]) } }), '802-3-ethernet.cloned-mac-address: a MAC address has 6 bytes, got 0');
    rejects({ connection: { id: s('b'), type: s('bridge') }, bridge: { 'mac-address': ay([1, 2, 3, 4, 5, 6, 7]) } }, 'bridge.mac-address: a MAC address has 6 bytes, got 7');
  });

  it('accepts mtu 0 or 68 to 65535', () => {
    for (const mtu of [0, 68, 1500, 65535]) validate(ethernet({ '802-3-ethernet': { mtu: u(mtu) } }));
    rejects(ethernet({ '802-3-ethernet': { mtu: u(67) } }), "802-3-ethernet.mtu: 67 is out of range; accepted: 0 (the link's default) or 68 to 65535");
    rejects(ethernet({ '802-3-ethernet': { mtu: u(65536) } }), '802-3-ethernet.mtu: 65536 is out of range');
  });

  it('checks vlan and vxlan ids and the vxlan port', () => {
    const vlan = (id: number) => ({ connection: { id: s('v'), type: s('vlan') }, vlan: { parent: s('eth0'), id: u(id) } });
    validate(vlan(0));
    validate(vlan(4094));
    rejects(vlan(4095), 'vlan.id: 4095 is out of range; accepted: 0 to 4094');
    const vxlan = (props: Record<string, Value>) => ({ connection: { id: s('x'), type: s('vxlan') }, vxlan: props });
    validate(vxlan({ id: u(16777215), 'destination-port': u(65535), remote: s('192.0.2.2'), local: s('192.0.2.1') }));
    rejects(vxlan({ id: u(16777216) }), 'vxlan.id: 16777216 is out of range; accepted: 0 to 16777215');
    rejects(vxlan({ 'destination-port': u(65536) }), 'vxlan.destination-port: 65536 is out of range; accepted: 0 to 65535');
    rejects(vxlan({ remote: s('2001:db8::1'), local: s('192.0.2.1') }), 'vxlan.local: "192.0.2.1" and vxlan.remote "2001:db8::1" must be of the same address family');
    rejects(vxlan({ remote: s('nowhere') }), 'vxlan.remote: "nowhere" is not an IPv4 or IPv6 address');
  });

  it('accepts only bits 0 to 3 in secret flags and vlan flags', () => {
    const wifi = (props: Record<string, Value>) => ({
      connection: { id: s('w'), type: s('wifi') },
      '802-11-wireless': { ssid: ay('net') },
      '802-11-wireless-security': { 'key-mgmt': s('wpa-psk'), ...props },
    });
    validate(wifi({ 'psk-flags': u(15) }));
    rejects(wifi({ 'psk-flags': u(16) }), '802-11-wireless-security.psk-flags: 16 is out of range; accepted: 0 to 15');
    rejects(wifi({ 'wep-key-flags': u(32) }), '802-11-wireless-security.wep-key-flags: 32 is out of range');
    rejects({ connection: { id: s('v'), type: s('vlan') }, vlan: { parent: s('eth0'), flags: u(16) } }, 'vlan.flags: 16 is out of range; accepted: 0 to 15');
  });

  it('rejects a setting that does not belong to the type', () => {
    rejects(ethernet({ '802-11-wireless': { ssid: ay('x') } }), '802-11-wireless: this setting does not belong to a profile of type "802-3-ethernet"; accepted settings: 802-3-ethernet, 802-1x, connection, ipv4, ipv6, bridge-port');
    rejects({ connection: { id: s('b'), type: s('bridge') }, vlan: { id: u(1) } }, 'vlan: this setting does not belong to a profile of type "bridge"');
  });

  it('checks ports: a master needs a slave-type, inferred from bridge-port as NetworkManager does', () => {
    const port = validate(ethernet({ connection: { id: s('p'), type: s('ethernet'), master: s('br0') }, 'bridge-port': { priority: u(32) } }));
    expect(port.get('connection')!.get('slave-type')!.value).toBe('bridge');
    rejects(ethernet({ connection: { id: s('p'), type: s('ethernet'), master: s('br0') } }), 'connection.slave-type: missing');
    rejects(ethernet({ connection: { id: s('p'), type: s('ethernet'), 'slave-type': s('bridge') } }), 'connection.master: missing');
    rejects(ethernet({ connection: { id: s('p'), type: s('ethernet'), master: s('br0'), 'slave-type': s('bond') } }), 'connection.slave-type: "bond" is not accepted; accepted: bridge');
    rejects(ethernet({ 'bridge-port': {} }), 'bridge-port: only a bridge port has this setting');
    rejects(ethernet({ 'bridge-port': { priority: u(64) } }), 'bridge-port.priority: 64 is out of range; accepted: 0 to 63');
  });

  it('checks the bridge forward delay as NetworkManager does', () => {
    const bridge = (props: Record<string, Value>) => ({ connection: { id: s('b'), type: s('bridge') }, bridge: props });
    validate(bridge({ stp: b(false), 'forward-delay': u(0) }));
    validate(bridge({ stp: b(true), 'forward-delay': u(2) }));
    rejects(bridge({ stp: b(true), 'forward-delay': u(0) }), 'bridge.forward-delay: 0 is out of range; accepted: 2 to 30');
    rejects(bridge({ 'forward-delay': u(31) }), 'bridge.forward-delay: 31 is out of range; accepted: 0 to 30');
  });

  it('checks what veth, vlan, macvlan and wifi profiles cannot do without', () => {
    rejects({ connection: { id: s('p'), type: s('veth') }, veth: { peer: s('v1') } }, 'connection.interface-name: missing');
    rejects({ connection: { id: s('p'), type: s('veth'), 'interface-name': s('v0') } }, 'veth.peer: missing');
    rejects({ connection: { id: s('v'), type: s('vlan') }, vlan: { id: u(5) } }, 'vlan.parent: missing');
    validate({ connection: { id: s('v'), type: s('vlan') }, vlan: { id: u(5) }, '802-3-ethernet': { 'mac-address': ay([0, 1, 2, 3, 4, 5]) } });
    rejects({ connection: { id: s('m'), type: s('macvlan') }, macvlan: { mode: u(0), parent: s('eth0') } }, 'macvlan.mode: 0 is out of range; accepted: 1 to 5');
    rejects({ connection: { id: s('w'), type: s('wifi') } }, '802-11-wireless.ssid: missing');
    rejects({ connection: { id: s('w'), type: s('wifi') }, '802-11-wireless': { ssid: ay('x'.repeat(33)) } }, '802-11-wireless.ssid: an SSID has 1 to 32 bytes, got 33');
    rejects({ connection: { id: s('w'), type: s('wifi') }, '802-11-wireless': { ssid: ay('n'), mode: s('monitor') } }, '802-11-wireless.mode: "monitor" is not accepted; accepted: infrastructure, adhoc, ap, mesh');
  });

  it('checks wifi security: key-mgmt required, a WPA passphrase of 8 to 63 characters or 64 hex digits', () => {
    const wifi = (sec: Record<string, Value>) => ({ connection: { id: s('w'), type: s('wifi') }, '802-11-wireless': { ssid: ay('n') }, '802-11-wireless-security': sec });
    rejects(wifi({ psk: s('password') }), '802-11-wireless-security.key-mgmt: missing; accepted: none, ieee8021x');
    rejects(wifi({ 'key-mgmt': s('wpa-psk'), psk: s('short') }), '802-11-wireless-security.psk: a WPA passphrase has 8 to 63 printable ASCII characters');
    validate(wifi({ 'key-mgmt': s('wpa-psk'), psk: s('a'.repeat(64).replace(/a/g, 'f')) }));
    validate(wifi({ 'key-mgmt': s('wpa-psk'), psk: s('p#ss;w= "rd') }));
    rejects(wifi({ 'key-mgmt': s('wpa-psk'), 'auth-alg': s('ntlm') }), '802-11-wireless-security.auth-alg: "ntlm" is not accepted; accepted: open, shared, leap');
  });

  it('checks 802-1x: eap methods and certificate schemes', () => {
    const dot1x = (props: Record<string, Value>) => ethernet({ '802-1x': props });
    validate(dot1x({ eap: as('tls'), 'ca-cert': ay('file:///etc/pki/ca.pem\0'), 'client-cert': ay([0x30, 0x82]), 'private-key': ay('pkcs11:token=x\0') }));
    rejects(dot1x({ identity: s('me') }), '802-1x.eap: missing; accepted: leap, md5, tls');
    rejects(dot1x({ eap: as('tls', 'kerberos') }), '802-1x.eap: "kerberos" is not accepted');
    rejects(dot1x({ eap: as('tls'), 'ca-cert': ay('file://relative.pem\0') }), '802-1x.ca-cert: "relative.pem" is not an absolute path');
    rejects(dot1x({ eap: as('tls'), 'ca-cert': ay('file:///etc/pki/ca.pem') }), '802-1x.ca-cert: a path value must be "file://" followed by UTF-8 text and one terminating NUL byte');
    rejects(dot1x({ eap: as('tls'), 'ca-cert': ay([]) }), '802-1x.ca-cert: the certificate or key data is empty');
  });

  it('checks connection permissions and autoconnect priority', () => {
    validate(ethernet({ connection: { id: s('x'), type: s('ethernet'), permissions: as('user:alice:'), 'autoconnect-priority': i(-999) } }));
    rejects(ethernet({ connection: { id: s('x'), type: s('ethernet'), permissions: as('group:wheel') } }), 'connection.permissions: "group:wheel" is not accepted; accepted: "user:NAME:" entries');
    rejects(ethernet({ connection: { id: s('x'), type: s('ethernet'), 'autoconnect-priority': i(1000) } }), 'connection.autoconnect-priority: 1000 is out of range; accepted: -999 to 999');
  });

  it('rejects control characters in other strings but tab, newline and carriage return', () => {
    rejects(ethernet({ connection: { id: s('x'), type: s('ethernet'), zone: s('a\x0bb') } }), 'connection.zone: "a\\u000bb" contains the control character U+000B');
    expect(validate(ethernet({ connection: { id: s('x'), type: s('ethernet'), zone: s('a\tb\n') } })).get('connection')!.get('zone')!.value).toBe('a\tb\n');
  });
});
