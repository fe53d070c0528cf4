// The static DNS of an active connection (docs/dns.md) over a fake Platform and a recording DNS
// backend: set per family when the activation succeeds, carried in the records, changed in place
// by Reapply, and removed when the connection ends, however it ends.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ActiveStore } from '../../../../src/core/activation/active-store.js';
import { Activations } from '../../../../src/core/activation/activations.js';
import { AuditManager } from '../../../../src/core/audit/audit-manager.js';
import { RootOnlyAuthorizer } from '../../../../src/core/auth/root-only.js';
import type { CallerRef } from '../../../../src/core/caller.js';
import { DeviceList } from '../../../../src/core/devices/device-list.js';
import { DnsManager, type DnsBackend } from '../../../../src/core/dns/dns-manager.js';
import type { LinkDns } from '../../../../src/core/dns/link-dns.js';
import { ipv4ToU32, ipv6ToBytes } from '../../../../src/core/settings/keyfile-values.js';
import type { SettingsService } from '../../../../src/core/settings/settings.js';
import { value, type Settings, type Value } from '../../../../src/core/settings/value.js';
import { Logger } from '../../../../src/log/logger.js';
import { MemoryTrail } from '../memory-trail.js';
import { MemorySettings } from './memory-settings.js';
import { FakePlatform, fakeLink } from '../devices/fake-platform.js';
import { fakeIpv6Conf } from './fake-ipv6-conf.js';

const root: CallerRef = { busName: ':1.5', resolve: async () => ({ busName: ':1.5', pid: 77, uid: 0 }) };
const UUID = '11111111-1111-4111-8111-111111111111';

class LastApplied implements DnsBackend {
  readonly name = 'file';
  last: readonly LinkDns[] = [];
  async apply(links: readonly LinkDns[]): Promise<void> {
    this.last = links;
  }
  async close(): Promise<void> {}
}

function profile(dns: { v4?: Record<string, Value>; v6?: Record<string, Value> } = {}): Settings {
  const groups: Record<string, Record<string, Value>> = {
    connection: { id: value('s', 'lan'), uuid: value('s', UUID), type: value('s', '802-3-ethernet'), 'interface-name': value('s', 'v0') },
    ipv4: {
      method: value('s', 'manual'),
      'address-data': value('aa{sv}', [new Map(Object.entries({ address: value('s', '192.0.2.10'), prefix: value('u', 24) }))]),
      gateway: value('s', '192.0.2.1'),
      ...dns.v4,
    },
    ipv6: {
      method: value('s', 'manual'),
      'address-data': value('aa{sv}', [new Map(Object.entries({ address: value('s', '2001:db8::10'), prefix: value('u', 64) }))]),
      ...dns.v6,
    },
  };
  return new Map(Object.entries(groups).map(([k, v]) => [k, new Map(Object.entries(v))]));
}

const v4 = (servers: string[], searches: string[] = [], priority?: number): Record<string, Value> => ({
  dns: value('au', servers.map(ipv4ToU32)),
  ...(searches.length > 0 ? { 'dns-search': value('as', searches) } : {}),
  ...(priority !== undefined ? { 'dns-priority': value('i', priority) } : {}),
});

async function setup() {
  const logger = new Logger({ write: () => undefined }, { now: () => 0 });
  const platform = new FakePlatform([fakeLink()]);
  const devices = new DeviceList({ platform, log: logger.domain('CORE') });
  await devices.load();
  const trail = new MemoryTrail();
  const audit = new AuditManager({ log: logger.domain('AUDIT'), backends: [trail], enabled: true, now: () => 0, boot: 'b' });
  const settings = new MemorySettings();
  const dns = new DnsManager({ log: logger.domain('CORE') });
  const backend = new LastApplied();
  await dns.setBackend(backend);
  // The per-interface IPv6 sysctls of link v0, as /proc/sys/net/ipv6/conf has them.
  const ipv6ConfDir = fakeIpv6Conf('v0');
  const activations = new Activations({
    audit,
    auth: () => new RootOnlyAuthorizer(),
    settings: settings as unknown as SettingsService,
    devices,
    platform,
    log: logger.domain('CORE'),
    blocked: () => null,
    ipv6ConfDir,
    store: new ActiveStore(mkdtempSync(join(tmpdir(), 'netauditd-dns-')), logger.domain('CORE')),
    dns,
  });
  return { platform, trail, settings, activations, dns, backend };
}

const servers = (links: readonly LinkDns[]): string[] => links.flatMap((l) => l.servers);

describe('static DNS', () => {
  it('is one source per family once the activation succeeds, the record\'s after carries it, and deactivation removes it', async () => {
    const { trail, settings, activations, dns, backend } = await setup();
    const conn = settings.add(profile({ v4: v4(['192.0.2.53'], ['lan.example'], 50), v6: { dns: value('aay', [ipv6ToBytes('2001:db8::53')]) } }));
    const active = await activations.activate(root, conn.number, null);
    // The reply comes once the DNS is applied.
    expect(backend.last.map((l) => [l.ifindex, l.iface, l.servers, l.searches, l.priority, l.defaultRoute])).toEqual([
      [2, 'v0', ['192.0.2.53'], ['lan.example'], 50, true],
      [2, 'v0', ['2001:db8::53'], [], 100, false],
    ]);
    expect(dns.forLink(2)).toEqual({ servers: ['192.0.2.53', '2001:db8::53'], searches: ['lan.example'] });
    expect(trail.records[0]!.after).toMatchObject({
      ipv4: { method: 'manual', dns: ['192.0.2.53'], 'dns-search': ['lan.example'], 'dns-priority': 50 },
      ipv6: { method: 'manual', dns: ['2001:db8::53'] },
    });
    expect(trail.records[0]!.after).not.toHaveProperty('ipv6.dns-priority');
    await activations.deactivate(root, active.number);
    expect(backend.last).toEqual([]);
  });

  it('a profile without DNS gives no source and no DNS keys in the record', async () => {
    const { trail, settings, activations, backend } = await setup();
    const conn = settings.add(profile());
    await activations.activate(root, conn.number, null);
    expect(backend.last).toEqual([]);
    expect(JSON.stringify(trail.records[0]!.after)).not.toContain('dns');
  });

  it('Reapply changes it in place, with the DNS before and after in its record', async () => {
    const { trail, settings, activations, backend } = await setup();
    const conn = settings.add(profile({ v4: v4(['192.0.2.53']) }));
    await activations.activate(root, conn.number, null);
    const next = profile({ v4: v4(['192.0.2.54', '192.0.2.55'], ['new.example']) });
    await activations.reapply(root, 2, { sent: {}, decode: () => next }, 0n, 0);
    expect(servers(backend.last)).toEqual(['192.0.2.54', '192.0.2.55']);
    const record = trail.records.at(-1)!;
    expect(record.op).toBe('device-reapply');
    expect(record.changed).toContain('ipv4.dns');
    expect(record.before).toMatchObject({ ipv4: { dns: ['192.0.2.53'] } });
    expect(record.after).toMatchObject({ ipv4: { dns: ['192.0.2.54', '192.0.2.55'], 'dns-search': ['new.example'] } });
    // Reapply back to no DNS removes the source.
    await activations.reapply(root, 2, { sent: {}, decode: () => profile() }, 0n, 0);
    expect(backend.last).toEqual([]);
  });

  it('goes with a connection whose link vanishes', async () => {
    const { platform, settings, activations, dns, backend } = await setup();
    const conn = settings.add(profile({ v4: v4(['192.0.2.53']) }));
    await activations.activate(root, conn.number, null);
    platform.emit('link-removed', platform.current[0]!);
    await new Promise((r) => setTimeout(r, 10));
    // Resolves once the batch under way is applied.
    await dns.removeAll('nothing:');
    expect(activations.list()).toEqual([]);
    expect(backend.last).toEqual([]);
  });
});
