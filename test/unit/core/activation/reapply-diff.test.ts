// Reapply's diff: which changed keys can be applied to a running connection in place, and which
// addresses, routes and rules a new plan removes, adds and keeps on the link.
import { describe, expect, it } from 'vitest';
import { planActivation } from '../../../../src/core/activation/plan.js';
import {
  delta, incompatibleKey, ipDelta, keepIdentity, plannedRoutes, refuseDhcpChange, refuseIncompatible, routeKey,
} from '../../../../src/core/activation/reapply-diff.js';
import { NetauditError } from '../../../../src/core/errors.js';
import { changedKeys } from '../../../../src/core/settings/diff.js';
import { value, type Settings, type Value } from '../../../../src/core/settings/value.js';

function settings(groups: Record<string, Record<string, Value>>): Settings {
  return new Map(Object.entries(groups).map(([k, v]) => [k, new Map(Object.entries(v))]));
}

const entry = (o: Record<string, Value>): Map<string, Value> => new Map(Object.entries(o));
const addresses = (...list: string[]): Value =>
  value('aa{sv}', list.map((a) => entry({ address: value('s', a.split('/')[0]!), prefix: value('u', Number(a.split('/')[1])) })));

function ethernet(ipv4: Record<string, Value>, extra: Record<string, Record<string, Value>> = {}): Settings {
  return settings({
    connection: { id: value('s', 'lan'), uuid: value('s', '11111111-2222-4333-8444-555555555555'), type: value('s', '802-3-ethernet'), 'interface-name': value('s', 'e0') },
    ipv4: { method: value('s', 'manual'), ...ipv4 },
    ipv6: { method: value('s', 'ignore') },
    ...extra,
  });
}

describe('incompatibleKey', () => {
  it('lets addresses, routes, rules, gateway, MTU, cloned MAC, bridge and port options through', () => {
    expect(incompatibleKey(['ipv4.address-data', 'ipv4.route-data', 'ipv6.routing-rules', 'ipv4.gateway', 'ipv4.dns', '802-3-ethernet.mtu', '802-3-ethernet.cloned-mac-address', 'bridge.stp', 'bridge-port.path-cost', 'connection.id', 'connection.autoconnect-priority'])).toBeNull();
  });

  it('names the first key that needs a new link or another device', () => {
    expect(incompatibleKey(['ipv4.address-data', 'connection.interface-name'])).toBe('connection.interface-name');
    expect(incompatibleKey(['connection.type'])).toBe('connection.type');
    expect(incompatibleKey(['connection.master'])).toBe('connection.master');
    expect(incompatibleKey(['veth.peer'])).toBe('veth.peer');
    expect(incompatibleKey(['macvlan.mode'])).toBe('macvlan.mode');
    expect(incompatibleKey(['vxlan.id'])).toBe('vxlan.id');
    expect(incompatibleKey(['802-3-ethernet.mac-address'])).toBe('802-3-ethernet.mac-address');
    expect(incompatibleKey(['vlan'])).toBe('vlan');
  });

  it('refuses with IncompatibleConnection, the key first in the message', () => {
    let error: unknown;
    try {
      refuseIncompatible(['connection.interface-name'], 'e0');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NetauditError);
    expect((error as NetauditError).code).toBe('IncompatibleConnection');
    expect((error as NetauditError).reason).toBe('incompatible-device');
    expect((error as NetauditError).message).toMatch(/^connection\.interface-name: .*"e0"/);
  });
});

describe('keepIdentity', () => {
  it('keeps the applied id, uuid and autoconnect, as NetworkManager does, and takes the rest from the new settings', () => {
    const applied = ethernet({ 'address-data': addresses('192.0.2.10/24') });
    const next = ethernet({ 'address-data': addresses('192.0.2.11/24') });
    next.get('connection')!.set('id', value('s', 'renamed'));
    next.get('connection')!.set('uuid', value('s', '99999999-2222-4333-8444-555555555555'));
    next.get('connection')!.set('autoconnect', value('b', false));
    const kept = keepIdentity(applied, next);
    expect(changedKeys(applied, kept)).toEqual(['ipv4.address-data']);
    expect(next.get('connection')!.get('id')!.value).toBe('renamed');
  });
});

describe('ipDelta', () => {
  const ll = { before: () => '169.254.1.1', after: () => '169.254.1.1' };

  it('removes dropped addresses, adds new ones and keeps the rest; a changed prefix is a removal and an addition', () => {
    const before = planActivation(ethernet({ 'address-data': addresses('192.0.2.10/24', '192.0.2.20/24') }));
    const after = planActivation(ethernet({ 'address-data': addresses('192.0.2.10/25', '192.0.2.20/24', '192.0.2.30/24') }));
    const d = ipDelta(before, after, 7, ll).addresses;
    expect(d.remove.map((a) => `${a.address}/${a.prefix}`)).toEqual(['192.0.2.10/24']);
    expect(d.add.map((a) => `${a.address}/${a.prefix}`)).toEqual(['192.0.2.10/25', '192.0.2.30/24']);
    expect(d.keep.map((a) => `${a.address}/${a.prefix}`)).toEqual(['192.0.2.20/24']);
    expect(d.add.every((a) => a.ifindex === 7 && a.family === 4)).toBe(true);
  });

  it('a new gateway is a new default route; a changed metric or next hop is another route', () => {
    const base = { 'address-data': addresses('192.0.2.10/24') };
    const route = (nextHop: string, metric: number) => value('aa{sv}', [entry({ dest: value('s', '198.51.100.0'), prefix: value('u', 24), 'next-hop': value('s', nextHop), metric: value('u', metric) })]);
    const before = planActivation(ethernet({ ...base, 'route-data': route('192.0.2.254', 50) }));
    const after = planActivation(ethernet({ ...base, gateway: value('s', '192.0.2.1'), 'route-data': route('192.0.2.253', 50) }));
    const d = ipDelta(before, after, 7, ll).routes;
    expect(d.remove.map(routeKey)).toEqual(['4 198.51.100.0/24 via 192.0.2.254 metric 50 table 254']);
    expect(d.add.map(routeKey)).toEqual(['4 0.0.0.0/0 via 192.0.2.1 metric 100 table 254', '4 198.51.100.0/24 via 192.0.2.253 metric 50 table 254']);
    expect(d.keep).toEqual([]);
  });

  it('nothing changes when the plans are the same', () => {
    const s = ethernet({ 'address-data': addresses('192.0.2.10/24'), gateway: value('s', '192.0.2.1') });
    const d = ipDelta(planActivation(s), planActivation(s), 7, ll);
    expect([d.addresses.add, d.addresses.remove, d.routes.add, d.routes.remove, d.rules.add, d.rules.remove]).toEqual([[], [], [], [], [], []]);
    expect(d.addresses.keep).toHaveLength(1);
    expect(d.routes.keep).toHaveLength(1);
  });

  it('method link-local to manual drops the link-local address the MAC chose', () => {
    const before = planActivation(settings({ ...Object.fromEntries([...ethernet({})].map(([k, v]) => [k, Object.fromEntries(v)])), ipv4: { method: value('s', 'link-local') } }));
    const after = planActivation(ethernet({ 'address-data': addresses('192.0.2.10/24') }));
    const d = ipDelta(before, after, 7, ll).addresses;
    expect(d.remove.map((a) => `${a.address}/${a.prefix}`)).toEqual(['169.254.1.1/16']);
  });
});

describe('plannedRoutes and delta', () => {
  it('the default route comes first, in the route-table when one is set', () => {
    const plan = planActivation(ethernet({ 'address-data': addresses('192.0.2.10/24'), gateway: value('s', '192.0.2.1'), 'route-table': value('u', 100) }));
    expect(plannedRoutes(plan.ipv4, 3)[0]).toEqual({ family: 4, dest: '0.0.0.0', prefix: 0, gateway: '192.0.2.1', ifindex: 3, metric: 100, table: 100 });
  });

  it('delta keeps the order of each side', () => {
    expect(delta([1, 2, 3], [3, 4, 1], String)).toEqual({ remove: [2], add: [4], keep: [3, 1] });
  });
});

describe('refuseDhcpChange for IPv6 from router advertisements', () => {
  const withIpv6 = (ipv6: Record<string, Value>): Settings => ethernet({ 'address-data': addresses('192.0.2.10/24') }, { ipv6: { method: value('s', 'auto'), ...ipv6 } });
  const refusal = (before: Settings, after: Settings): string | null => {
    try {
      refuseDhcpChange(changedKeys(before, after), planActivation(before), planActivation(after), 'e0');
      return null;
    } catch (e) {
      return (e as NetauditError).message;
    }
  };

  it('refuses what the kernel formed the addresses and routes with: addr-gen-mode, ip6-privacy, never-default, route-metric', () => {
    const base = withIpv6({});
    expect(refusal(base, withIpv6({ 'addr-gen-mode': value('i', 1) }))).toMatch(/^ipv6\.addr-gen-mode: the IPv6 addresses and routes of "e0" were formed/);
    expect(refusal(base, withIpv6({ 'ip6-privacy': value('i', 2) }))).toMatch(/^ipv6\.ip6-privacy:/);
    expect(refusal(base, withIpv6({ 'never-default': value('b', true) }))).toMatch(/^ipv6\.never-default:/);
    expect(refusal(base, withIpv6({ 'route-metric': value('u', 5) }))).toMatch(/^ipv6\.route-metric:/);
  });

  it('lets through what changes nothing the kernel formed: the same mode by another name, DNS', () => {
    // "default-or-eui64" is eui64 here, as NetworkManager has it without a configured default.
    expect(refusal(withIpv6({ 'addr-gen-mode': value('i', 0) }), withIpv6({ 'addr-gen-mode': value('i', 2) }))).toBeNull();
    expect(refusal(withIpv6({}), withIpv6({ 'dns-search': value('as', ['example.org']) }))).toBeNull();
  });
});
