// DNS mode `resolved` over a fake resolve1 (docs/dns.md): per-link calls, made again only when a
// link's DNS changes, dns-priority's exclusion as default routes, and a failing or silent resolved
// logged once per episode and tried again at the next change.
import { describe, expect, it } from 'vitest';
import { orderSources } from '../../../../src/core/dns/dns-order.js';
import { ResolvedDns, resolvedLinks } from '../../../../src/core/dns/resolved-dns.js';
import type { ResolvedDomain, ResolvedLinks } from '../../../../src/core/dns/resolved-links.js';
import { Logger } from '../../../../src/log/logger.js';
import { dns } from './sources.js';

class FakeResolved implements ResolvedLinks {
  readonly calls: string[] = [];
  mode: 'ok' | 'fail' | 'silent' = 'ok';
  private async answer(call: string): Promise<void> {
    this.calls.push(call);
    if (this.mode === 'fail') throw new Error(`${call.split(' ')[0] === 'dns' ? 'SetLinkDNS' : call}: org.freedesktop.DBus.Error.ServiceUnknown: The name is not activatable`);
    if (this.mode === 'silent') await new Promise(() => undefined);
  }
  setLinkDns(ifindex: number, servers: readonly string[]): Promise<void> {
    return this.answer(`dns ${ifindex} ${servers.join(',')}`);
  }
  setLinkDomains(ifindex: number, domains: readonly ResolvedDomain[]): Promise<void> {
    return this.answer(`domains ${ifindex} ${domains.map((d) => (d.routeOnly ? `~${d.domain}` : d.domain)).join(',')}`);
  }
  setLinkDefaultRoute(ifindex: number, b: boolean): Promise<void> {
    return this.answer(`default-route ${ifindex} ${b}`);
  }
  revertLink(ifindex: number): Promise<void> {
    return this.answer(`revert ${ifindex}`);
  }
}

function setup(timeoutMs = 5000) {
  const lines: string[] = [];
  const logger = new Logger({ write: (line) => lines.push(line) }, { now: () => 0 });
  const resolved = new FakeResolved();
  return { resolved, lines, backend: new ResolvedDns({ links: resolved, log: logger.domain('CORE'), timeoutMs }) };
}

describe('resolvedLinks', () => {
  it('gives each link its servers and domains; a default route or ~. makes it a default route', () => {
    const links = resolvedLinks(orderSources([
      dns(2, ['192.0.2.1'], { searches: ['lan.example', '~corp.example'], defaultRoute: true }),
      dns(3, ['198.51.100.1'], { searches: ['vpn.example'] }),
      dns(4, ['203.0.113.1'], { searches: ['~.'] }),
      dns(2, ['2001:db8::1'], { priority: 200 }),
    ]));
    expect(links).toEqual([
      { ifindex: 2, iface: 'eth2', servers: ['192.0.2.1', '2001:db8::1'], domains: [{ domain: 'lan.example', routeOnly: false }, { domain: 'corp.example', routeOnly: true }], defaultRoute: true },
      { ifindex: 3, iface: 'eth3', servers: ['198.51.100.1'], domains: [{ domain: 'vpn.example', routeOnly: false }], defaultRoute: false },
      { ifindex: 4, iface: 'eth4', servers: ['203.0.113.1'], domains: [{ domain: '.', routeOnly: true }], defaultRoute: true },
    ]);
  });

  it('with a negative lowest priority, makes only its links default routes and takes the others\' domains away', () => {
    const links = resolvedLinks(orderSources([
      dns(2, ['192.0.2.1'], { searches: ['lan.example', '~.'], defaultRoute: true }),
      dns(3, ['198.51.100.1'], { searches: ['vpn.example'], priority: -1 }),
    ]));
    expect(links.map((l) => [l.ifindex, l.servers, l.domains.map((d) => d.domain), l.defaultRoute])).toEqual([
      [3, ['198.51.100.1'], ['vpn.example'], true],
      [2, ['192.0.2.1'], [], false],
    ]);
  });
});

describe('ResolvedDns', () => {
  it('sets each link, then only what changed, and reverts a link left without DNS', async () => {
    const { resolved, backend } = setup();
    await backend.apply(orderSources([dns(2, ['192.0.2.1'], { defaultRoute: true }), dns(3, ['198.51.100.1'], { searches: ['vpn.example'] })]));
    expect(resolved.calls).toEqual(['dns 2 192.0.2.1', 'domains 2 ', 'default-route 2 true', 'dns 3 198.51.100.1', 'domains 3 vpn.example', 'default-route 3 false']);
    resolved.calls.length = 0;
    await backend.apply(orderSources([dns(2, ['192.0.2.1'], { defaultRoute: true })]));
    expect(resolved.calls).toEqual(['revert 3']);
  });

  it('reverts what it set when DNS stops being managed this way, and nothing at a stop', async () => {
    const { resolved, backend } = setup();
    await backend.apply(orderSources([dns(2, ['192.0.2.1'])]));
    resolved.calls.length = 0;
    await backend.close(false);
    expect(resolved.calls).toEqual([]);
    await backend.close(true);
    expect(resolved.calls).toEqual(['revert 2']);
  });

  it('warns once while resolved fails, tries again at the next change, and says when it takes DNS again', async () => {
    const { resolved, backend, lines } = setup();
    resolved.mode = 'fail';
    await backend.apply(orderSources([dns(2, ['192.0.2.1'])]));
    await backend.apply(orderSources([dns(2, ['192.0.2.1']), dns(3, ['192.0.2.2'])]));
    const warnings = lines.filter((l) => l.includes('systemd-resolved did not take the DNS'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('"eth2" (ifindex 2): SetLinkDNS');
    expect(warnings[0]).toContain('tries again at the next DNS change');
    resolved.mode = 'ok';
    resolved.calls.length = 0;
    await backend.apply(orderSources([dns(2, ['192.0.2.1']), dns(3, ['192.0.2.2'])]));
    expect(resolved.calls.filter((c) => c.startsWith('dns'))).toEqual(['dns 2 192.0.2.1', 'dns 3 192.0.2.2']);
    expect(lines.at(-1)).toContain('systemd-resolved takes the DNS of the active connections again');
  });

  it('gives up on a call resolved does not answer, without waiting for it', async () => {
    const { resolved, backend, lines } = setup(50);
    resolved.mode = 'silent';
    const started = Date.now();
    await backend.apply(orderSources([dns(2, ['192.0.2.1'])]));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(lines.join('')).toContain('no answer within 0.05 s');
  });
});
