// The order of DNS sources by NetworkManager's dns-priority (docs/dns.md), and what a source may hold.
import { describe, expect, it } from 'vitest';
import { exclusivePriority, mergeDns, orderSources, setOrder, usedSources } from '../../../../src/core/dns/dns-order.js';
import { cleanLinkDns, type LinkDns } from '../../../../src/core/dns/link-dns.js';
import { dns } from './sources.js';

const servers = (list: readonly LinkDns[]): string[] => mergeDns(list).servers;

describe('orderSources', () => {
  it('reads priority 0 as 100, and puts lower priorities first', () => {
    const ordered = orderSources([dns(2, ['192.0.2.1']), dns(3, ['192.0.2.2'], { priority: 50 }), dns(4, ['192.0.2.3'], { priority: 101 })]);
    expect(ordered.map((s) => [s.ifindex, s.priority])).toEqual([[3, 50], [2, 100], [4, 101]]);
  });

  it('among equal priorities puts a source with a default route first, then keeps the order they were set in', () => {
    const ordered = orderSources([dns(2, ['192.0.2.1']), dns(3, ['192.0.2.2']), dns(4, ['192.0.2.3'], { defaultRoute: true }), dns(5, ['192.0.2.4'], { priority: 100 })]);
    expect(servers(ordered)).toEqual(['192.0.2.3', '192.0.2.1', '192.0.2.2', '192.0.2.4']);
  });

  it('keeps the servers and domains of one source in their own order', () => {
    const ordered = orderSources([dns(2, ['192.0.2.9', '192.0.2.1'], { searches: ['b.example', 'a.example'] })]);
    expect(mergeDns(ordered)).toEqual({ servers: ['192.0.2.9', '192.0.2.1'], searches: ['b.example', 'a.example'] });
  });
});

describe('setOrder', () => {
  it('keeps one owner\'s sources together where its first came, its static ones first', () => {
    const order = setOrder([
      ['active:7:dhcp4', dns(2, ['192.0.2.100'])],
      ['active:8:static4', dns(3, ['198.51.100.1'])],
      ['active:7:static6', dns(2, ['2001:db8::1'])],
      ['active:7:static4', dns(2, ['192.0.2.1'])],
    ]);
    expect(servers(order)).toEqual(['2001:db8::1', '192.0.2.1', '192.0.2.100', '198.51.100.1']);
  });
});

describe('a negative priority', () => {
  it('excludes every source of a higher priority, negative ones too', () => {
    const ordered = orderSources([dns(2, ['192.0.2.1'], { priority: -5 }), dns(3, ['192.0.2.2'], { priority: -10 }), dns(4, ['192.0.2.3'], { priority: -10 }), dns(5, ['192.0.2.4'], { priority: 1 })]);
    expect(exclusivePriority(ordered)).toBe(-10);
    expect(servers(usedSources(ordered))).toEqual(['192.0.2.2', '192.0.2.3']);
  });

  it('is not exclusive when none is negative', () => {
    const ordered = orderSources([dns(2, ['192.0.2.1'], { priority: 5 }), dns(3, ['192.0.2.2'])]);
    expect(exclusivePriority(ordered)).toBeNull();
    expect(servers(usedSources(ordered))).toEqual(['192.0.2.1', '192.0.2.2']);
  });
});

describe('mergeDns', () => {
  it('gives each server and domain once, where it first comes', () => {
    const ordered = orderSources([dns(2, ['192.0.2.1', '2001:db8::53'], { searches: ['a.example'], priority: 10 }), dns(3, ['192.0.2.2', '192.0.2.1'], { searches: ['b.example', 'a.example'] })]);
    expect(mergeDns(ordered)).toEqual({ servers: ['192.0.2.1', '2001:db8::53', '192.0.2.2'], searches: ['a.example', 'b.example'] });
  });
});

describe('cleanLinkDns', () => {
  it('leaves out what is neither an address nor a DNS name, and repeats', () => {
    const { dns: clean, dropped } = cleanLinkDns(
      dns(2, ['192.0.2.1', 'fe80::1%eth0', 'not-an-ip', '192.0.2.1', '2001:db8::1'], { searches: ['ok.example', '~corp.example', '~.', 'bad\nnameserver 6.6.6.6', 'a b', '-x.example', 'ok.example', 'trailing.dot.'] }),
    );
    expect(clean.servers).toEqual(['192.0.2.1', '2001:db8::1']);
    expect(clean.searches).toEqual(['ok.example', '~corp.example', '~.', 'trailing.dot.']);
    expect(dropped).toEqual(['fe80::1%eth0', 'not-an-ip', 'bad\nnameserver 6.6.6.6', 'a b', '-x.example']);
  });

  it('refuses a bare "." (only "~." names every domain)', () => {
    expect(cleanLinkDns(dns(2, [], { searches: ['.', '~.'] })).dns.searches).toEqual(['~.']);
  });
});
