// A running connection's view follows what others change on its link: what they removed or
// changed is no longer the connection's to take back.
import { describe, expect, it } from 'vitest';
import { ActiveConnection } from '../../../../src/core/activation/active-connection.js';
import { followExternalChange } from '../../../../src/core/activation/external-drift.js';
import type { Link } from '../../../../src/core/platform/platform.js';

const link = (more: Partial<Link> = {}): Link => ({ ifindex: 7, name: 'd0', kind: 'veth', arphrd: 1, mtu: 1400, hwAddress: '02:00:00:00:00:07', up: true, lowerUp: true, master: null, ...more });
const unknown = { kind: 'unknown' as const };

function running(): ActiveConnection {
  const active = new ActiveConnection(1, 1, '11111111-2222-4333-8444-555555555555', 'drift', 7, 'd0', null);
  active.undo.push(
    { kind: 'restore-link', ifindex: 7, change: { mtu: 1500, up: false } },
    { kind: 'remove-address', address: { ifindex: 7, family: 4, address: '192.0.2.60', prefix: 24 } },
    { kind: 'remove-route', route: { family: 4, dest: '198.51.100.0', prefix: 24, gateway: '192.0.2.1', ifindex: 7, metric: 100, table: 254 } },
  );
  return active;
}

describe('followExternalChange', () => {
  it('an address or route the connection applied, removed by others, leaves its undo list', () => {
    const active = running();
    expect(followExternalChange(active, { object: 'address', action: 'delete', address: { ifindex: 7, family: 4, address: '192.0.2.60', prefix: 24 }, sender: unknown })).toBe('the address 192.0.2.60/24 it applied was removed by others');
    expect(followExternalChange(active, { object: 'route', action: 'delete', route: { family: 4, dest: '198.51.100.0', prefix: 24, gateway: '192.0.2.1', ifindex: 7, metric: 100, table: 254, protocol: 4 }, sender: unknown })).toBe('the route 198.51.100.0/24 via 192.0.2.1 metric 100 it applied was removed by others');
    expect(active.undo.map((u) => u.kind)).toEqual(['restore-link']);
    // Something it never applied: nothing to follow.
    expect(followExternalChange(active, { object: 'address', action: 'delete', address: { ifindex: 7, family: 4, address: '192.0.2.99', prefix: 24 }, sender: unknown })).toBeNull();
  });

  it('a link setting others changed again is theirs: not restored; the rest of the step stays', () => {
    const active = running();
    expect(followExternalChange(active, { object: 'link', action: 'change', before: link(), after: link({ mtu: 1300 }), sender: unknown })).toBe('the link was changed by others: mtu 1400 → 1300');
    expect(active.undo[0]).toEqual({ kind: 'restore-link', ifindex: 7, change: { up: false } });
    followExternalChange(active, { object: 'link', action: 'change', before: link({ mtu: 1300 }), after: link({ mtu: 1300, up: false }), sender: unknown });
    expect(active.undo.map((u) => u.kind)).toEqual(['remove-address', 'remove-route']);
  });
});
