// A lease from an ACK: what it takes from which option, the T1/T2 defaults, the ACKs it refuses;
// what counts as a change of lease, and when a lease ends.
import { describe, expect, it } from 'vitest';
import { leaseChanged, leaseExpiresAt, leaseFromAck, type Dhcp4Lease } from '../../../../src/core/dhcp/dhcp4-lease.js';
import { decodeDhcp4, encodeDomainSearch } from '../../../../src/core/dhcp/dhcp4-message.js';
import { serverReply, type ReplySpec } from './server-replies.js';

const MAC = Buffer.from('020000abcdef', 'hex');
const AT = 1_700_000_000_000;

function lease(spec: Partial<ReplySpec> = {}, fallbackServer: string | null = null): Dhcp4Lease | { refused: string } {
  return leaseFromAck(decodeDhcp4(serverReply('ack', { xid: 1, mac: MAC, ...spec }))!, { obtainedAt: AT, serverMac: '02:00:00:00:00:01', fallbackServer });
}

function ok(spec: Partial<ReplySpec> = {}): Dhcp4Lease {
  const l = lease(spec);
  if ('refused' in l) throw new Error(l.refused);
  return l;
}

describe('leaseFromAck', () => {
  it('takes the address, prefix, first router, DNS, domains, MTU, server and times', () => {
    const l = ok({
      yiaddr: '192.0.2.100', mask: '255.255.255.0', routers: ['192.0.2.1', '192.0.2.2'], dns: ['192.0.2.53'],
      search: encodeDomainSearch(['a.test']), domainName: 'example.test', mtu: 1400, leaseTime: 600,
    });
    expect(l).toEqual({
      address: '192.0.2.100', prefix: 24, router: '192.0.2.1', routes: [], dns: ['192.0.2.53'], domains: ['a.test'],
      domainName: 'example.test', mtu: 1400, server: '192.0.2.1', serverMac: '02:00:00:00:00:01',
      leaseTime: 600, t1: 300, t2: 525, obtainedAt: AT, options: expect.objectContaining({ ip_address: '192.0.2.100', expiry: String(AT / 1000 + 600) }),
    });
  });

  it('ignores option 3 when option 121 is there: the routes come from 121 alone', () => {
    const l = ok({ routers: ['192.0.2.1'], routes: [{ dest: '0.0.0.0', prefix: 0, gateway: '192.0.2.254' }, { dest: '198.51.100.0', prefix: 24, gateway: '0.0.0.0' }] });
    expect(l.router).toBeNull();
    expect(l.routes).toEqual([{ dest: '0.0.0.0', prefix: 0, gateway: '192.0.2.254' }, { dest: '198.51.100.0', prefix: 24, gateway: '0.0.0.0' }]);
  });

  it('keeps option 3 when option 121 does not read', () => {
    const l = ok({ routers: ['192.0.2.1'], extra: [[121, Buffer.from([33, 1, 2, 3, 4, 5, 6, 7, 8])]] });
    expect(l.router).toBe('192.0.2.1');
    expect(l.routes).toEqual([]);
  });

  it("takes the server's T1 and T2 when they fit, the usual fractions when they do not", () => {
    expect(ok({ leaseTime: 1000, t1: 100, t2: 200 })).toMatchObject({ t1: 100, t2: 200 });
    expect(ok({ leaseTime: 1000, t1: 300, t2: 200 })).toMatchObject({ t1: 800 / 7, t2: 200 });
    expect(ok({ leaseTime: 1000, t2: 200 })).toMatchObject({ t1: 800 / 7, t2: 200 });
    expect(ok({ leaseTime: 1000, t2: 2000 })).toMatchObject({ t1: 500, t2: 875 });
    expect(ok({ leaseTime: 1000, t1: 900 })).toMatchObject({ t1: 500, t2: 875 });
  });

  it('a lease of all ones does not end', () => {
    const l = ok({ leaseTime: 0xffffffff });
    expect(l).toMatchObject({ leaseTime: 0xffffffff, t1: 0xffffffff, t2: 0xffffffff });
    expect(leaseExpiresAt(l)).toBe(Infinity);
  });

  it('takes the prefix of the address class when there is no netmask', () => {
    expect(ok({ mask: null, yiaddr: '10.1.2.3' }).prefix).toBe(8);
    expect(ok({ mask: null, yiaddr: '172.16.1.2' }).prefix).toBe(16);
    expect(ok({ mask: null, yiaddr: '192.0.2.9' }).prefix).toBe(24);
  });

  it('falls back on the given server when the ACK names none', () => {
    expect((lease({ server: null }, '192.0.2.9') as Dhcp4Lease).server).toBe('192.0.2.9');
    expect(lease({ server: null })).toEqual({ refused: 'it names no server (option 54)' });
  });

  it.each([
    [{ leaseTime: null }, /no lease time/],
    [{ leaseTime: 0 }, /is 0 seconds/],
    [{ yiaddr: '0.0.0.0' }, /not an address a host can take/],
    [{ yiaddr: '127.0.0.5' }, /not an address/],
    [{ yiaddr: '224.0.0.1' }, /not an address/],
    [{ yiaddr: '255.255.255.255' }, /not an address/],
  ] as Array<[Partial<ReplySpec>, RegExp]>)('refuses %j', (spec, reason) => {
    const l = lease(spec);
    expect('refused' in l && l.refused).toMatch(reason);
  });
});

describe('leaseChanged', () => {
  const base = ok({ routers: ['192.0.2.1'], dns: ['192.0.2.53'], domainName: 'example.test', mtu: 1500, search: encodeDomainSearch(['a.test']) });

  it('sees no change in times, server, its hardware address or the display options', () => {
    expect(leaseChanged(base, { ...base, obtainedAt: AT + 5000, leaseTime: 10, t1: 5, t2: 8, server: '192.0.2.2', serverMac: null, options: {} })).toBe(false);
  });

  it('sees a change in each thing the network sees', () => {
    const changes: Array<Partial<Dhcp4Lease>> = [
      { address: '192.0.2.101' }, { prefix: 25 }, { router: '192.0.2.2' }, { router: null }, { dns: ['192.0.2.54'] },
      { dns: ['192.0.2.53', '192.0.2.54'] }, { domains: [] }, { domainName: null }, { mtu: 1400 },
      { routes: [{ dest: '10.0.0.0', prefix: 8, gateway: '192.0.2.1' }] },
    ];
    for (const c of changes) expect(leaseChanged(base, { ...base, ...c }), JSON.stringify(c)).toBe(true);
  });

  it('sees the DNS order as a change, the routes order not', () => {
    const a = { ...base, dns: ['192.0.2.53', '192.0.2.54'], routes: [{ dest: '10.0.0.0', prefix: 8, gateway: '0.0.0.0' }, { dest: '0.0.0.0', prefix: 0, gateway: '192.0.2.1' }] };
    expect(leaseChanged(a, { ...a, routes: [...a.routes].reverse() })).toBe(false);
    expect(leaseChanged(a, { ...a, dns: [...a.dns].reverse() })).toBe(true);
  });

  it('null against a lease is a change; null against null is not', () => {
    expect(leaseChanged(null, base)).toBe(true);
    expect(leaseChanged(base, null)).toBe(true);
    expect(leaseChanged(null, null)).toBe(false);
  });
});

describe('leaseExpiresAt', () => {
  it('is the ACK time plus the lease time', () => {
    expect(leaseExpiresAt(ok({ leaseTime: 120 }))).toBe(AT + 120_000);
  });
});
