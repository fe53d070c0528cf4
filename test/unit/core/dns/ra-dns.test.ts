// RaDns: a link's DNS from router advertisements, each value until its lifetime ends (docs/dhcp.md).
import { describe, expect, it } from 'vitest';
import { MAX_RA_DNS, RaDns } from '../../../../src/core/dns/ra-dns.js';

const servers = (values: string[], lifetime: number | null) => ({ kind: 'servers' as const, values, lifetime });
const searches = (values: string[], lifetime: number | null) => ({ kind: 'searches' as const, values, lifetime });

describe('RaDns', () => {
  it('keeps servers and domains in the order they came, each until its own lifetime ends', () => {
    const ra = new RaDns();
    ra.update(servers(['2001:db8::53', 'fe80::1'], 120), 1000);
    ra.update(searches(['lab6.test'], 60), 2000);
    expect([ra.servers, ra.searches]).toEqual([['2001:db8::53', 'fe80::1'], ['lab6.test']]);
    expect(ra.nextExpiry()).toBe(62_000);
    ra.expire(62_000);
    expect([ra.servers, ra.searches]).toEqual([['2001:db8::53', 'fe80::1'], []]);
    expect(ra.nextExpiry()).toBe(121_000);
    ra.expire(121_000);
    expect(ra.servers).toEqual([]);
    expect(ra.nextExpiry()).toBeNull();
  });

  it('a value said again gets its new lifetime and keeps its place; lifetime 0 withdraws it; null is for ever', () => {
    const ra = new RaDns();
    ra.update(servers(['2001:db8::1', '2001:db8::2'], 10), 0);
    ra.update(servers(['2001:db8::1'], null), 5000);
    expect(ra.servers).toEqual(['2001:db8::1', '2001:db8::2']);
    expect(ra.nextExpiry()).toBe(10_000);
    ra.update(servers(['2001:db8::2'], 0), 6000);
    expect(ra.servers).toEqual(['2001:db8::1']);
    expect(ra.nextExpiry()).toBeNull();
    ra.expire(Number.MAX_SAFE_INTEGER);
    expect(ra.servers).toEqual(['2001:db8::1']);
  });

  it('leaves out what DNS cannot use, and holds no more than the cap: the value ending first gives way to a later one', () => {
    const ra = new RaDns();
    ra.update(servers(['2001:db8::1%eth0', '192.0.2.1x'], 60), 0);
    ra.update(searches(['bad name', '-'], 60), 0);
    expect([ra.servers, ra.searches]).toEqual([[], []]);
    const many = Array.from({ length: MAX_RA_DNS }, (_, i) => `d${i}.test`);
    ra.update(searches(many, 100), 0);
    ra.update(searches(['d3.test'], 50), 0);
    ra.update(searches(['late.test'], 200), 0);
    expect(ra.searches).toHaveLength(MAX_RA_DNS);
    expect(ra.searches).not.toContain('d3.test');
    expect(ra.searches.at(-1)).toBe('late.test');
    // One that would end before all of them is not taken.
    ra.update(searches(['brief.test'], 1), 0);
    expect(ra.searches).not.toContain('brief.test');
  });

  it('is kept and taken up again whole; what a file holds that is not a value is dropped', () => {
    const ra = new RaDns();
    ra.update(servers(['2001:db8::53'], 120), 1000);
    ra.update(searches(['lab6.test'], null), 1000);
    const saved = JSON.parse(JSON.stringify(ra.toSaved()));
    expect(saved).toEqual({ servers: [{ value: '2001:db8::53', expires: 121_000 }], searches: [{ value: 'lab6.test', expires: null }] });
    const back = RaDns.fromSaved(saved);
    expect([back.servers, back.searches, back.nextExpiry()]).toEqual([['2001:db8::53'], ['lab6.test'], 121_000]);
    const odd = RaDns.fromSaved({ servers: [{ value: 'x y', expires: 1 }, { value: '2001:db8::9', expires: 'soon' as unknown as number }], searches: [] });
    expect(odd.servers).toEqual([]);
  });
});
