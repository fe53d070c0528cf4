// The DNS of router advertisements on a link running ipv6.method auto (docs/dhcp.md), over a fake
// Platform that emits the kernel's 'ra-dns' events, an in-memory trail and a recording DNS backend:
// the source active:N:ra6, one slaac record per change of what the link gets, none for the same
// again, lifetimes that end, ipv6.ignore-auto-dns, Reapply, and the connection's end.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ActiveStore } from '../../../../src/core/activation/active-store.js';
import { Activations } from '../../../../src/core/activation/activations.js';
import { AuditManager } from '../../../../src/core/audit/audit-manager.js';
import { RootOnlyAuthorizer } from '../../../../src/core/auth/root-only.js';
import type { CallerRef } from '../../../../src/core/caller.js';
import { DeviceList } from '../../../../src/core/devices/device-list.js';
import { DnsManager, type DnsBackend } from '../../../../src/core/dns/dns-manager.js';
import type { LinkDns } from '../../../../src/core/dns/link-dns.js';
import { RTPROT_RA, type KernelRoute, type RaDnsOption } from '../../../../src/core/platform/platform.js';
import type { SettingsService } from '../../../../src/core/settings/settings.js';
import { value, type Settings, type SettingsInput, type Value } from '../../../../src/core/settings/value.js';
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

function profile(ipv6: Record<string, Value> = {}): Settings {
  const groups: Record<string, Record<string, Value>> = {
    connection: { id: value('s', 'lan'), uuid: value('s', UUID), type: value('s', '802-3-ethernet'), 'interface-name': value('s', 'v0') },
    ipv4: { method: value('s', 'disabled') },
    ipv6: { method: value('s', 'auto'), ...ipv6 },
  };
  return new Map(Object.entries(groups).map(([k, v]) => [k, new Map(Object.entries(v))]));
}

const input = (settings: Settings): SettingsInput => ({ sent: {}, decode: () => settings });

async function setup() {
  const logger = new Logger({ write: () => undefined }, { now: () => 0 });
  const platform = new FakePlatform([fakeLink()]);
  const devices = new DeviceList({ platform, log: logger.domain('CORE') });
  await devices.load();
  const trail = new MemoryTrail();
  const audit = new AuditManager({ log: logger.domain('AUDIT'), backends: [trail], enabled: true, now: () => 0, boot: 'b' });
  const settings = new MemorySettings();
  const ipv6ConfDir = fakeIpv6Conf('v0');
  const runDir = mkdtempSync(join(tmpdir(), 'netauditd-ra-'));
  /** A daemon's Activations over the same kernel, profiles, trail and run-dir, with a DNS manager of its own. */
  const daemon = async () => {
    const dns = new DnsManager({ log: logger.domain('CORE') });
    const backend = new LastApplied();
    await dns.setBackend(backend);
    const store = new ActiveStore(runDir, logger.domain('CORE'));
    const activations = new Activations({
      audit,
      auth: () => new RootOnlyAuthorizer(),
      settings: settings as unknown as SettingsService,
      devices,
      platform,
      log: logger.domain('CORE'),
      blocked: () => null,
      ipv6ConfDir,
      store,
      dns,
    });
    return { activations, backend, store };
  };
  const { activations, backend } = await daemon();
  /** One advertisement: its options, as the kernel passes them on one by one. */
  const advertise = (...options: Array<Omit<RaDnsOption, 'ifindex' | 'router'>>): void => {
    for (const o of options) platform.emit('ra-dns', { ifindex: 2, router: 'fe80::1', ...o });
  };
  const slaac = () => trail.records.filter((r) => r.op === 'slaac');
  /** Waits for the slaac records to number `n`, then a little more, so that a further one would show. */
  const records = async (n: number) => {
    await vi.waitFor(() => expect(slaac()).toHaveLength(n), { timeout: 3000, interval: 10 });
    await new Promise((r) => setTimeout(r, 60));
    expect(slaac()).toHaveLength(n);
    return slaac();
  };
  const savedState = () => readdirSync(join(runDir, 'active')).map((f) => JSON.parse(readFileSync(join(runDir, 'active', f), 'utf8')) as Record<string, unknown>);
  return { platform, trail, settings, activations, backend, advertise, records, savedState, daemon };
}

const servers = (values: string[], lifetime: number | null = 120) => ({ kind: 'servers' as const, values, lifetime });
const searches = (values: string[], lifetime: number | null = 120) => ({ kind: 'searches' as const, values, lifetime });

describe('DNS from router advertisements', () => {
  it('a restart gives the link what the last daemon kept, and records what ended while none ran', async () => {
    const { trail, settings, activations, advertise, records, daemon } = await setup();
    await activations.activate(root, settings.add(profile()).number, null);
    advertise(servers(['2001:db8:42::53'], 1), searches(['lab6.test']));
    await records(1);
    // The daemon stops; the server's second ends before the next one takes the connection up.
    activations.close();
    await new Promise((r) => setTimeout(r, 1100));
    const next = await daemon();
    await next.activations.adopt(next.store.load(), async (changes) => new Set(changes.map((c) => `${c.boot}-${c.tx}`)));
    const [, ended] = await records(2);
    const adopt = trail.records.find((r) => r.op === 'connection-adopt')!;
    expect(ended).toMatchObject({ args: 'changed', tx: adopt.tx, before: { ipv6: { dns: ['2001:db8:42::53'], 'dns-search': ['lab6.test'] } }, after: { ipv6: { 'dns-search': ['lab6.test'] } } });
    expect(next.backend.last.map((l) => [l.servers, l.searches])).toEqual([[[], ['lab6.test']]]);
    // The domain, said again, is no record.
    advertise(searches(['lab6.test']));
    await records(2);
  });

  it('one advertisement is one slaac record and the source ra6, with ipv6.dns-priority; the same again is none', async () => {
    const { trail, settings, activations, backend, advertise, records, savedState } = await setup();
    const conn = settings.add(profile({ 'dns-priority': value('i', 50) }));
    await activations.activate(root, conn.number, null);
    advertise(servers(['2001:db8:42::53']), searches(['lab6.test']));
    const [bound] = await records(1);
    expect(bound).toMatchObject({
      op: 'slaac', origin: 'daemon', cause: 'lease', args: 'changed', uuid: UUID, name: 'lan', ifindex: 2, iface: 'v0', result: 'success',
      tx: trail.records[0]!.tx, after: { ipv6: { dns: ['2001:db8:42::53'], 'dns-search': ['lab6.test'] } },
    });
    expect(bound).not.toHaveProperty('before');
    expect(bound).not.toHaveProperty('pid');
    expect(backend.last.map((l) => [l.ifindex, l.servers, l.searches, l.priority, l.defaultRoute])).toEqual([[2, ['2001:db8:42::53'], ['lab6.test'], 50, false]]);
    // Kept for the next daemon with when each value ends.
    expect(savedState()[0]).toMatchObject({ raDns: { servers: [{ value: '2001:db8:42::53', expires: expect.any(Number) }], searches: [{ value: 'lab6.test' }] } });

    advertise(servers(['2001:db8:42::53']), searches(['lab6.test']));
    await records(1);
    advertise(servers(['2001:db8:42::54']));
    const [, changed] = await records(2);
    expect(changed).toMatchObject({
      args: 'changed',
      before: { ipv6: { dns: ['2001:db8:42::53'], 'dns-search': ['lab6.test'] } },
      after: { ipv6: { dns: ['2001:db8:42::53', '2001:db8:42::54'], 'dns-search': ['lab6.test'] } },
    });
  });

  it('a lifetime of 0 withdraws, and a lifetime that ends takes away: a record with what went, the source gone', async () => {
    const { settings, activations, backend, advertise, records } = await setup();
    await activations.activate(root, settings.add(profile()).number, null);
    advertise(servers(['2001:db8:42::53']), searches(['lab6.test'], 1));
    await records(1);
    advertise(servers(['2001:db8:42::53'], 0));
    const [, withdrawn] = await records(2);
    expect(withdrawn).toMatchObject({ before: { ipv6: { dns: ['2001:db8:42::53'], 'dns-search': ['lab6.test'] } }, after: { ipv6: { 'dns-search': ['lab6.test'] } } });
    expect(backend.last.map((l) => [l.servers, l.searches])).toEqual([[[], ['lab6.test']]]);
    // The domain's second ends.
    await vi.waitFor(() => expect(backend.last).toEqual([]), { timeout: 3000, interval: 20 });
    const [, , expired] = await records(3);
    expect(expired).toMatchObject({ args: 'changed', before: { ipv6: { 'dns-search': ['lab6.test'] } } });
    expect(expired).not.toHaveProperty('after');
  });

  it('a default route from the advertisement makes the link a default DNS route', async () => {
    const { platform, settings, activations, backend, advertise, records } = await setup();
    const route: KernelRoute = { family: 6, dest: '::', prefix: 0, gateway: 'fe80::1', ifindex: 2, metric: 1024, table: 254, protocol: RTPROT_RA };
    platform.routes = async () => [route];
    await activations.activate(root, settings.add(profile()).number, null);
    advertise(servers(['2001:db8:42::53']));
    await records(1);
    expect(backend.last.map((l) => l.defaultRoute)).toEqual([true]);
  });

  it('ipv6.ignore-auto-dns: no source and no record; a Reapply without it gives the link what was kept, the Reapply its only record', async () => {
    const { trail, settings, activations, backend, advertise, records } = await setup();
    await activations.activate(root, settings.add(profile({ 'ignore-auto-dns': value('b', true) })).number, null);
    advertise(servers(['2001:db8:42::53']), searches(['lab6.test']));
    await records(0);
    expect(backend.last).toEqual([]);
    await activations.reapply(root, 2, input(profile()), 0n, 0);
    expect(backend.last.map((l) => [l.servers, l.searches])).toEqual([[['2001:db8:42::53'], ['lab6.test']]]);
    expect(trail.records.map((r) => r.op)).toEqual(['connection-activate', 'device-reapply']);
    // Said again: nothing new to record.
    advertise(servers(['2001:db8:42::53']), searches(['lab6.test']));
    await records(0);
    await activations.reapply(root, 2, input(profile({ 'ignore-auto-dns': value('b', true) })), 0n, 0);
    expect(backend.last).toEqual([]);
  });

  it('the connection\'s end removes the source with no record of its own; a link without ipv6.method auto is left alone', async () => {
    const { trail, settings, activations, backend, advertise, records } = await setup();
    const active = await activations.activate(root, settings.add(profile()).number, null);
    advertise(servers(['2001:db8:42::53']));
    await records(1);
    await activations.deactivate(root, active.number);
    expect(backend.last).toEqual([]);
    advertise(servers(['2001:db8:42::99']));
    await records(1);
    const manual = profile({ method: value('s', 'link-local') });
    await activations.activate(root, settings.add(manual).number, null);
    advertise(servers(['2001:db8:42::99']));
    await records(1);
    expect(backend.last).toEqual([]);
    expect(trail.records.map((r) => r.op)).toEqual(['connection-activate', 'slaac', 'connection-deactivate', 'connection-activate']);
  });
});
