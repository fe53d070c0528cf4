import { describe, expect, it } from 'vitest';
import { changedKeys } from '../../../../src/core/settings/diff.js';
import { aasv, aay, as, ay, b, build, s, u } from './helpers.js';

const base = () =>
  build({
    connection: { id: s('lan0'), type: s('802-3-ethernet') },
    '802-3-ethernet': { 'mac-address': ay([1, 2, 3, 4, 5, 6]) },
    ipv4: { method: s('manual'), 'address-data': aasv({ address: s('192.0.2.10'), prefix: u(24) }), 'dns-search': as('a', 'b') },
    ipv6: { method: s('auto'), dns: aay(new Array(16).fill(0)) },
  });

describe('changedKeys', () => {
  it('finds nothing between equal settings, byte arrays and nested dictionaries compared by value', () => {
    expect(changedKeys(base(), base())).toEqual([]);
    expect(changedKeys(base(), build({}))).not.toEqual([]);
  });

  it('names changed, added and removed properties in the order of next, then removed ones', () => {
    const next = base();
    next.get('connection')!.set('id', s('lan1'));
    next.get('ipv4')!.set('never-default', b(true));
    next.get('ipv4')!.delete('dns-search');
    next.get('802-3-ethernet')!.set('mac-address', ay([1, 2, 3, 4, 5, 7]));
    next.delete('ipv6');
    expect(changedKeys(base(), next)).toEqual([
      'connection.id',
      '802-3-ethernet.mac-address',
      'ipv4.never-default',
      'ipv4.dns-search',
      'ipv6.method',
      'ipv6.dns',
    ]);
  });

  it('compares inside address-data entries and lists', () => {
    const next = base();
    next.get('ipv4')!.set('address-data', aasv({ address: s('192.0.2.10'), prefix: u(25) }));
    next.get('ipv6')!.set('dns', aay([...new Array(15).fill(0), 1]));
    expect(changedKeys(base(), next)).toEqual(['ipv4.address-data', 'ipv6.dns']);
    const reordered = base();
    reordered.get('ipv4')!.set('dns-search', as('b', 'a'));
    expect(changedKeys(base(), reordered)).toEqual(['ipv4.dns-search']);
  });

  it('sees a change of D-Bus type even when the number is the same', () => {
    const next = base();
    next.get('ipv4')!.set('method', u(1));
    expect(changedKeys(base(), next)).toEqual(['ipv4.method']);
  });

  it('names a setting added or removed without properties by its bare name', () => {
    const next = base();
    next.set('bridge-port', new Map());
    expect(changedKeys(base(), next)).toEqual(['bridge-port']);
    expect(changedKeys(next, base())).toEqual(['bridge-port']);
  });

  it('names changed secrets by key only', () => {
    const prev = build({ '802-11-wireless-security': { psk: s('old-secret') } });
    const next = build({ '802-11-wireless-security': { psk: s('new-secret') } });
    const keys = changedKeys(prev, next);
    expect(keys).toEqual(['802-11-wireless-security.psk']);
    expect(keys.join()).not.toContain('secret');
  });
});
