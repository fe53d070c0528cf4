// The activation plan: what a validated profile means for the link, worked out before anything
// changes — and the profiles that cannot be applied, refused by name (wifi, DHCP, a zone).
import { describe, expect, it } from 'vitest';
import { compatibleDeviceType, isUuidRef, linkSpec, planActivation } from '../../../../src/core/activation/plan.js';
import { NetauditError } from '../../../../src/core/errors.js';
import { value, type Settings, type Value } from '../../../../src/core/settings/value.js';

function settings(groups: Record<string, Record<string, Value>>): Settings {
  return new Map(Object.entries(groups).map(([k, v]) => [k, new Map(Object.entries(v))]));
}

const entry = (o: Record<string, Value>): Map<string, Value> => new Map(Object.entries(o));

const noIp = { ipv4: { method: value('s', 'disabled') }, ipv6: { method: value('s', 'ignore') } };

function refusal(run: () => unknown): NetauditError {
  try {
    run();
  } catch (e) {
    if (e instanceof NetauditError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('planActivation', () => {
  it('reads an ethernet profile: interface, MTU, cloned MAC, addresses, gateway and routes with the type default metric', () => {
    const plan = planActivation(
      settings({
        connection: { id: value('s', 'lan'), type: value('s', '802-3-ethernet'), 'interface-name': value('s', 'v0') },
        '802-3-ethernet': { mtu: value('u', 1400), 'cloned-mac-address': value('ay', Uint8Array.from([2, 0, 0, 0, 0, 0xaa])) },
        ipv4: {
          method: value('s', 'manual'),
          'address-data': value('aa{sv}', [entry({ address: value('s', '192.0.2.10'), prefix: value('u', 24) })]),
          gateway: value('s', '192.0.2.1'),
          'route-data': value('aa{sv}', [entry({ dest: value('s', '198.51.100.0'), prefix: value('u', 24), 'next-hop': value('s', '192.0.2.254') })]),
        },
        ipv6: { method: value('s', 'link-local') },
      }),
    );
    expect(plan).toMatchObject({ type: '802-3-ethernet', ifname: 'v0', softwareKind: null, mtu: 1400, clonedMac: '02:00:00:00:00:aa', master: null });
    expect(plan.ipv4).toEqual({
      family: 4,
      method: 'manual',
      addresses: [{ address: '192.0.2.10', prefix: 24 }],
      gateway: '192.0.2.1',
      routes: [{ dest: '198.51.100.0', prefix: 24, gateway: '192.0.2.254', metric: 100, table: 254 }],
      metric: 100,
      table: 254,
      rules: [],
      dhcp: null,
      dhcp6: null,
      privacy: null,
      addrGen: null,
      ra: null,
    });
    expect(plan.ipv6).toMatchObject({ family: 6, method: 'link-local', addresses: [], gateway: null });
  });

  it('plans DHCPv4 for ipv4.method auto, explicit and by default, with NetworkManager\'s defaults', () => {
    const explicit = planActivation(settings({ connection: { type: value('s', 'bridge') }, ipv4: { method: value('s', 'auto') }, ipv6: { method: value('s', 'ignore') } }));
    expect(explicit.ipv4).toMatchObject({ method: 'auto', dhcp: { timeoutMs: 45_000, mayFail: true, ignoreAutoDns: false, ignoreAutoRoutes: false, neverDefault: false, clientId: null, sendHostname: true, hostname: null, dadTimeoutMs: 200 } });
    const byDefault = planActivation(settings({ connection: { type: value('s', 'bridge') }, ipv6: { method: value('s', 'ignore') } }));
    expect(byDefault.ipv4?.dhcp?.timeoutMs).toBe(45_000);
    const tuned = planActivation(
      settings({
        connection: { type: value('s', 'bridge') },
        ipv4: {
          method: value('s', 'auto'),
          'dhcp-timeout': value('i', 3),
          'may-fail': value('b', false),
          'never-default': value('b', true),
          'ignore-auto-dns': value('b', true),
          'ignore-auto-routes': value('b', true),
          'dhcp-client-id': value('s', 'duid'),
          'dhcp-hostname': value('s', 'box'),
          'dad-timeout': value('i', 0),
        },
      }),
    );
    expect(tuned.ipv4?.dhcp).toEqual({ timeoutMs: 3000, mayFail: false, ignoreAutoDns: true, ignoreAutoRoutes: true, neverDefault: true, clientId: 'duid', sendHostname: true, hostname: 'box', dadTimeoutMs: 0 });
    // IPv6 auto is the kernel's SLAAC, with DHCPv6 when advertisements ask (docs/dhcp6.md): no DHCPv4 plan, a DHCPv6 one.
    expect(tuned.ipv6).toMatchObject({ method: 'auto', dhcp: null, dhcp6: { timeoutMs: 45_000, mayFail: true } });
  });

  it('plans DHCPv6 for ipv6.method dhcp with ipv6.dhcp-timeout and may-fail', () => {
    const plan = planActivation(
      settings({
        connection: { type: value('s', 'bridge') },
        ipv4: { method: value('s', 'disabled') },
        ipv6: { method: value('s', 'dhcp'), 'dhcp-timeout': value('i', 7), 'may-fail': value('b', false) },
      }),
    );
    expect(plan.ipv6).toMatchObject({ method: 'dhcp', dhcp: null, dhcp6: { timeoutMs: 7000, mayFail: false } });
    expect(planActivation(settings({ connection: { type: value('s', 'bridge') }, ipv6: { method: value('s', 'manual') } })).ipv6?.dhcp6).toBeNull();
  });

  it('refuses ipv4.method shared and ipv4.method dhcp by name', () => {
    const shared = refusal(() => planActivation(settings({ connection: { type: value('s', 'bridge') }, ipv4: { method: value('s', 'shared') }, ipv6: { method: value('s', 'ignore') } })));
    expect([shared.code, shared.message]).toEqual(['NotSupported', expect.stringContaining('ipv4.method "shared"')]);
    const dhcp4 = refusal(() => planActivation(settings({ connection: { type: value('s', 'bridge') }, ipv4: { method: value('s', 'dhcp') }, ipv6: { method: value('s', 'ignore') } })));
    expect([dhcp4.code, dhcp4.message]).toEqual(['NotSupported', expect.stringContaining('ipv4.method "dhcp" is not an IPv4 method')]);
  });

  it('refuses a wifi profile with reason no-wifi-device', () => {
    const e = refusal(() => planActivation(settings({ connection: { type: value('s', '802-11-wireless') } })));
    expect([e.code, e.reason]).toEqual(['NotSupported', 'no-wifi-device']);
  });

  it('puts routes in their own table, else route-table, and gives route-metric to the default route and routes without a metric', () => {
    const plan = planActivation(
      settings({
        connection: { type: value('s', 'bridge') },
        ipv4: {
          method: value('s', 'manual'),
          'address-data': value('aa{sv}', [entry({ address: value('s', '192.0.2.10'), prefix: value('u', 24) })]),
          gateway: value('s', '192.0.2.1'),
          'route-metric': value('u', 333),
          'route-table': value('u', 200),
          'route-data': value('aa{sv}', [
            entry({ dest: value('s', '10.0.0.0'), prefix: value('u', 8), table: value('u', 100) }),
            entry({ dest: value('s', '10.1.0.0'), prefix: value('u', 16), metric: value('u', 7) }),
          ]),
          'routing-rules': value('aa{sv}', [entry({ priority: value('u', 500), from: value('s', '192.0.2.0'), 'from-len': value('y', 24), table: value('u', 100) })]),
        },
        ipv6: { method: value('s', 'ignore') },
      }),
    );
    expect(plan.ipv4).toMatchObject({
      gateway: '192.0.2.1',
      metric: 333,
      table: 200,
      routes: [
        { dest: '10.0.0.0', prefix: 8, gateway: null, metric: 333, table: 100 },
        { dest: '10.1.0.0', prefix: 16, gateway: null, metric: 7, table: 200 },
      ],
      rules: [{ family: 4, priority: 500, table: 100, invert: false, from: '192.0.2.0', fromLen: 24, to: null, toLen: 0, fwmark: null, fwmask: null, iifname: null, oifname: null }],
    });
  });

  it('drops the default route with never-default', () => {
    const plan = planActivation(
      settings({
        connection: { type: value('s', '802-3-ethernet') },
        ipv4: {
          method: value('s', 'manual'),
          'address-data': value('aa{sv}', [entry({ address: value('s', '192.0.2.10'), prefix: value('u', 24) })]),
          gateway: value('s', '192.0.2.1'),
          'never-default': value('b', true),
        },
        ipv6: { method: value('s', 'ignore') },
      }),
    );
    expect(plan.ipv4?.gateway).toBeNull();
  });

  it("gives a bridge NetworkManager's defaults for the options left out, timers in centiseconds, and bridge.mac-address as its MAC", () => {
    const bare = planActivation(settings({ connection: { type: value('s', 'bridge') }, ...noIp }));
    expect(bare.bridge).toEqual({ stp: true, priority: 32768, forwardDelay: 1500, helloTime: 200, maxAge: 2000 });
    const set = planActivation(
      settings({
        connection: { type: value('s', 'bridge') },
        bridge: { stp: value('b', false), priority: value('u', 4096), 'forward-delay': value('u', 4), 'hello-time': value('u', 3), 'max-age': value('u', 12), 'mac-address': value('ay', Uint8Array.from([2, 0, 0, 0, 0, 1])) },
        ...noIp,
      }),
    );
    expect(set).toMatchObject({ bridge: { stp: false, priority: 4096, forwardDelay: 400, helloTime: 300, maxAge: 1200 }, clonedMac: '02:00:00:00:00:01', port: null });
  });

  it("gives a bridge port NetworkManager's defaults, priority 32 and path cost 100, unless set", () => {
    const port = (extra: Record<string, Record<string, Value>>): ReturnType<typeof planActivation> =>
      planActivation(settings({ connection: { type: value('s', '802-3-ethernet'), master: value('s', 'br0'), 'slave-type': value('s', 'bridge') }, ...extra }));
    expect(port({}).port).toEqual({ priority: 32, cost: 100 });
    expect(port({ 'bridge-port': { priority: value('u', 5), 'path-cost': value('u', 77) } }).port).toEqual({ priority: 5, cost: 77 });
  });

  it('binds a profile to a MAC address with 802-3-ethernet.mac-address', () => {
    const plan = planActivation(settings({ connection: { type: value('s', '802-3-ethernet') }, '802-3-ethernet': { 'mac-address': value('ay', Uint8Array.from([2, 0, 0, 0, 0, 0xbb])) }, ...noIp }));
    expect(plan.boundMac).toBe('02:00:00:00:00:bb');
  });

  it('refuses a profile file with a firewall zone, which nothing here applies', () => {
    const e = refusal(() => planActivation(settings({ connection: { type: value('s', 'bridge'), zone: value('s', 'public') }, ...noIp })));
    expect([e.code, e.message.startsWith('connection.zone "public"')]).toEqual(['NotSupported', true]);
  });

  it('gives a bridge port no IP configuration and keeps its master', () => {
    const plan = planActivation(settings({ connection: { type: value('s', '802-3-ethernet'), master: value('s', 'br0'), 'slave-type': value('s', 'bridge') } }));
    expect(plan).toMatchObject({ master: 'br0', ipv4: null, ipv6: null });
  });

  it('turns software profiles into the links they create', () => {
    const macvlan = planActivation(settings({ connection: { type: value('s', 'macvlan') }, macvlan: { parent: value('s', 'v0'), mode: value('u', 3) }, ...noIp }));
    expect(linkSpec(macvlan, 'mv0', 7)).toEqual({ kind: 'macvlan', name: 'mv0', parent: 7, mode: 1 });
    const vxlan = planActivation(settings({ connection: { type: value('s', 'vxlan') }, vxlan: { id: value('u', 42), remote: value('s', '198.51.100.2') }, ...noIp }));
    expect(linkSpec(vxlan, 'vx0', null)).toEqual({ kind: 'vxlan', name: 'vx0', id: 42, parent: null, local: null, remote: '198.51.100.2', port: 8472 });
    const veth = planActivation(settings({ connection: { type: value('s', 'veth') }, veth: { peer: value('s', 'p1') }, ...noIp }));
    expect(linkSpec(veth, 'p0', null)).toEqual({ kind: 'veth', name: 'p0', peer: 'p1' });
    const vlan = planActivation(settings({ connection: { type: value('s', 'vlan') }, vlan: { id: value('u', 7), parent: value('s', 'v0') }, ...noIp }));
    expect(linkSpec(vlan, 'v0.7', 3)).toEqual({ kind: 'vlan', name: 'v0.7', parent: 3, id: 7, flags: 1 });
    const tap = planActivation(settings({ connection: { type: value('s', 'macvlan') }, macvlan: { parent: value('s', 'v0'), tap: value('b', true), promiscuous: value('b', false) }, ...noIp }));
    expect(linkSpec(tap, 'mvt0', 7)).toEqual({ kind: 'macvlan', name: 'mvt0', parent: 7, mode: 4, tap: true, noPromisc: true });
  });
});

describe('helpers', () => {
  it('tells a UUID reference from an interface name', () => {
    expect(isUuidRef('0f2d3c4b-5a69-4788-9766-554433221100')).toBe(true);
    expect(isUuidRef('br0')).toBe(false);
  });

  it('applies ethernet profiles to ethernet and veth links, the others to their own kind', () => {
    expect(compatibleDeviceType('802-3-ethernet', 'veth')).toBe(true);
    expect(compatibleDeviceType('802-3-ethernet', 'bridge')).toBe(false);
    expect(compatibleDeviceType('bridge', 'bridge')).toBe(true);
  });
});
