// Who asked for a change: the daemon (its port id, or a request in flight expecting exactly that
// object and state), the kernel on its own, another socket, or nobody known.
import { describe, expect, it } from 'vitest';
import { ChangeSenders, type UnsentChange } from '../../../../src/core/platform/change-sender.js';
import { OWN_GRACE_MS } from '../../../../src/core/platform/own-requests.js';
import type { Link } from '../../../../src/core/platform/platform.js';

const OWN = 4242;
const link = (ifindex: number, more: Partial<Link> = {}): Link => ({ ifindex, name: `l${ifindex}`, kind: 'veth', arphrd: 1, mtu: 1500, hwAddress: '02:00:00:00:00:01', up: true, lowerUp: true, master: null, ...more });
const pid0 = { pid: 0, seq: 0 };

function senders(): { s: ChangeSenders; clock: { t: number } } {
  const clock = { t: 1_000_000 };
  return { s: new ChangeSenders(OWN, () => clock.t), clock };
}

describe('ChangeSenders', () => {
  it('names the sender by port id: the daemon\'s own socket, or another', () => {
    const { s } = senders();
    const c: UnsentChange = { object: 'address', action: 'add', address: { ifindex: 2, family: 4, address: '192.0.2.1', prefix: 24 } };
    expect(s.senderOf(c, { pid: OWN, seq: 9 })).toEqual({ kind: 'own' });
    expect(s.senderOf(c, { pid: 777, seq: 3 })).toEqual({ kind: 'portid', portid: 777, seq: 3 });
    expect(s.senderOf(c, pid0)).toEqual({ kind: 'unknown' });
    expect(s.senderOf(c, null)).toEqual({ kind: 'relist' });
  });

  it('knows the kernel\'s own: link-local and router-advertisement addresses, kernel and ra routes, a lifetime that ended', () => {
    const { s, clock } = senders();
    const ll: UnsentChange = { object: 'address', action: 'add', address: { ifindex: 2, family: 6, address: 'fe80::1', prefix: 64 } };
    expect(s.senderOf(ll, pid0)).toEqual({ kind: 'kernel', why: 'link-local' });
    const slaac: UnsentChange = { object: 'address', action: 'add', address: { ifindex: 2, family: 6, address: '2001:db8::5', prefix: 64, proto: 2, dynamic: true } };
    expect(s.senderOf(slaac, pid0)).toEqual({ kind: 'kernel', why: 'router-advertisement' });
    const temporary: UnsentChange = { object: 'address', action: 'add', address: { ifindex: 2, family: 6, address: '2001:db8::9a3f', prefix: 64, dynamic: true, temporary: true } };
    expect(s.senderOf(temporary, pid0)).toEqual({ kind: 'kernel', why: 'router-advertisement' });
    const route = { family: 4 as const, dest: '192.0.2.0', prefix: 24, gateway: null, ifindex: 2, metric: 0, table: 254 };
    expect(s.senderOf({ object: 'route', action: 'add', route: { ...route, protocol: 2 } }, pid0)).toEqual({ kind: 'kernel', why: 'side-effect' });
    expect(s.senderOf({ object: 'route', action: 'delete', route: { ...route, protocol: 9 } }, pid0)).toEqual({ kind: 'kernel', why: 'router-advertisement' });
    // A lease's address: removed by the kernel when its valid lifetime ends, by someone else before.
    const lease: UnsentChange = { object: 'address', action: 'add', address: { ifindex: 2, family: 4, address: '10.0.0.5', prefix: 24, dynamic: true, validLft: 60 } };
    s.noteLifetime(lease);
    expect(s.senderOf({ object: 'address', action: 'delete', address: lease.address }, pid0)).toEqual({ kind: 'unknown' });
    s.noteLifetime(lease);
    clock.t += 60_000;
    expect(s.senderOf({ object: 'address', action: 'delete', address: lease.address }, pid0)).toEqual({ kind: 'kernel', why: 'expired' });
  });

  it('takes a change without a port id for the daemon\'s only when a request in flight expects exactly it, and not after its grace', async () => {
    const { s, clock } = senders();
    const known = (i: number): Link | undefined => (i === 2 ? link(2) : undefined);
    const mtu: UnsentChange = { object: 'link', action: 'change', before: link(2), after: link(2, { mtu: 1400 }) };
    const down: UnsentChange = { object: 'link', action: 'change', before: link(2), after: link(2, { up: false }) };
    let release!: () => void;
    const request = s.around(s.setting(2, { mtu: 1400 }, known), () => new Promise<void>((r) => (release = r)));
    expect(s.senderOf(mtu, pid0)).toEqual({ kind: 'own' });
    // Not what it asked for: someone else's, another value of the same field included.
    expect(s.senderOf(down, pid0)).toEqual({ kind: 'unknown' });
    expect(s.senderOf({ object: 'link', action: 'change', before: link(2, { mtu: 1400 }), after: link(2, { mtu: 1300 }) }, pid0)).toEqual({ kind: 'unknown' });
    expect(s.senderOf({ object: 'link', action: 'change', before: link(3), after: link(3, { mtu: 1400 }) }, pid0)).toEqual({ kind: 'unknown' });
    release();
    await request;
    clock.t += OWN_GRACE_MS - 1;
    expect(s.senderOf(mtu, pid0)).toEqual({ kind: 'own' });
    clock.t += 2;
    expect(s.senderOf(mtu, pid0)).toEqual({ kind: 'unknown' });
  });

  it('a link deleted takes its peer, its addresses and routes, and frees its ports, all the daemon\'s own', async () => {
    const { s } = senders();
    const links = new Map([[2, link(2, { parent: 3 })], [3, link(3, { parent: 2 })], [4, link(4, { master: 2 })], [5, link(5)]]);
    let release!: () => void;
    const request = s.around(s.deleting(links.get(2), 2, (i) => links.get(i)), () => new Promise<void>((r) => (release = r)));
    expect(s.senderOf({ object: 'link', action: 'delete', before: links.get(3)!, after: null }, pid0)).toEqual({ kind: 'own' });
    expect(s.senderOf({ object: 'address', action: 'delete', address: { ifindex: 2, family: 6, address: '2001:db8::1', prefix: 64 } }, pid0)).toEqual({ kind: 'own' });
    expect(s.senderOf({ object: 'link', action: 'change', before: links.get(4)!, after: link(4) }, pid0)).toEqual({ kind: 'own' });
    // Another link deleted meanwhile is not.
    expect(s.senderOf({ object: 'link', action: 'delete', before: links.get(5)!, after: null }, pid0)).toEqual({ kind: 'unknown' });
    release();
    await request;
  });
});
