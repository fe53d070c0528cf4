// Bursts of changes made by others as records: grouped by request or link, and as few records
// as say what happened.
import { describe, expect, it } from 'vitest';
import { groupKey, groupRecords } from '../../../../src/core/external/change-groups.js';
import type { ChangeSender, KernelChange, Link } from '../../../../src/core/platform/platform.js';

const unknown: ChangeSender = { kind: 'unknown' };
const link = (ifindex: number, name: string, more: Partial<Link> = {}): Link => ({ ifindex, name, kind: 'veth', arphrd: 1, mtu: 1500, hwAddress: '02:00:00:00:00:0' + ifindex, up: true, lowerUp: true, master: null, ...more });
const root = (i: number): number => i;

describe('groupKey', () => {
  it('groups by request when the kernel names it, else by link, a veth pair and a bridge with its ports as one', () => {
    const portid: ChangeSender = { kind: 'portid', portid: 77, seq: 3 };
    const address = { ifindex: 5, family: 4 as const, address: '192.0.2.1', prefix: 24 };
    expect(groupKey({ object: 'address', action: 'add', address, sender: portid }, root)).toBe('p:77:3');
    expect(groupKey({ object: 'address', action: 'add', address, sender: unknown }, root)).toBe('l:5');
    expect(groupKey({ object: 'link', action: 'delete', before: link(9, 'x1', { parent: 8 }), after: null, sender: unknown }, root)).toBe('l:8');
    expect(groupKey({ object: 'link', action: 'change', before: link(4, 'p0', { master: 3 }), after: link(4, 'p0'), sender: unknown }, root)).toBe('l:3');
    expect(groupKey({ object: 'address', action: 'add', address, sender: { kind: 'relist' } }, root)).toBe('r:5');
  });
});

describe('groupRecords', () => {
  it('a bridge deleted with its address, route and two ports is one link-delete naming them', () => {
    const br = link(3, 'br9', { kind: 'bridge' });
    const changes: KernelChange[] = [
      { object: 'address', action: 'delete', address: { ifindex: 3, family: 4, address: '203.0.113.9', prefix: 24 }, sender: unknown },
      { object: 'route', action: 'delete', route: { family: 4, dest: '198.51.100.0', prefix: 24, gateway: '203.0.113.1', ifindex: 3, metric: 0, table: 254, protocol: 4 }, sender: unknown },
      { object: 'link', action: 'change', before: link(4, 'p0', { master: 3 }), after: link(4, 'p0'), sender: unknown },
      { object: 'link', action: 'change', before: link(5, 'p1', { master: 3 }), after: link(5, 'p1'), sender: unknown },
      { object: 'link', action: 'delete', before: br, after: null, sender: unknown },
    ];
    expect(groupRecords(changes, () => undefined)).toEqual([
      {
        op: 'link-delete', ifindex: 3, iface: 'br9',
        before: { ifindex: 3, ifname: 'br9', kind: 'bridge', mtu: 1500, address: '02:00:00:00:00:03', flags: ['UP'], ports: ['p0', 'p1'], addresses: ['203.0.113.9/24'], routes: ['198.51.100.0/24 via 203.0.113.1'] },
      },
    ]);
  });

  it('a veth pair created is one link-add; link changes of one link merge, with only what changed', () => {
    const added = groupRecords([
      { object: 'link', action: 'add', before: null, after: link(8, 'x0', { parent: 9 }), sender: unknown },
      { object: 'link', action: 'add', before: null, after: link(9, 'x1', { parent: 8 }), sender: unknown },
    ], () => undefined);
    expect(added).toEqual([{ op: 'link-add', ifindex: 8, iface: 'x0', after: expect.objectContaining({ ifname: 'x0', 'added-with': ['x1'] }) }]);
    const changed = groupRecords([
      { object: 'link', action: 'change', before: link(2, 'v0'), after: link(2, 'v0', { mtu: 1400 }), sender: unknown },
      { object: 'link', action: 'change', before: link(2, 'v0', { mtu: 1400 }), after: link(2, 'v0', { mtu: 1400, up: false }), sender: unknown },
    ], () => undefined);
    expect(changed).toEqual([{ op: 'link-change', ifindex: 2, iface: 'v0', before: { ifindex: 2, ifname: 'v0', mtu: 1500, flags: ['UP'] }, after: { ifindex: 2, ifname: 'v0', mtu: 1400, flags: [] } }]);
  });

  it('a link changed and changed back in one burst is no record', () => {
    expect(groupRecords([
      { object: 'link', action: 'change', before: link(2, 'v0'), after: link(2, 'v0', { up: false }), sender: unknown },
      { object: 'link', action: 'change', before: link(2, 'v0', { up: false }), after: link(2, 'v0'), sender: unknown },
    ], () => undefined)).toEqual([]);
  });

  it('a port taken by a bridge is a link-change of the port with the master by name', () => {
    const records = groupRecords([{ object: 'link', action: 'change', before: link(4, 'p0'), after: link(4, 'p0', { master: 3 }), sender: unknown }], (i) => (i === 3 ? 'br9' : undefined));
    expect(records).toEqual([{ op: 'link-change', ifindex: 4, iface: 'p0', before: { ifindex: 4, ifname: 'p0', master: null }, after: { ifindex: 4, ifname: 'p0', master: 'br9' } }]);
  });
});
