// Activations over a fake Platform, an in-memory trail and in-memory profiles: one record per
// attempt, the change made only after it, a kernel refusal overturning it with a fail record of the
// same tx and taking back what was done, and the refusals checked before anything changes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ActiveStore } from '../../../../src/core/activation/active-store.js';
import { Activations } from '../../../../src/core/activation/activations.js';
import { AuditManager } from '../../../../src/core/audit/audit-manager.js';
import type { AuditRecord } from '../../../../src/core/audit/record.js';
import { RootOnlyAuthorizer } from '../../../../src/core/auth/root-only.js';
import type { CallerRef } from '../../../../src/core/caller.js';
import { DeviceList } from '../../../../src/core/devices/device-list.js';
import { NetauditError } from '../../../../src/core/errors.js';
import { KernelRefusal, type Link } from '../../../../src/core/platform/platform.js';
import type { SettingsService } from '../../../../src/core/settings/settings.js';
import { value, type Settings, type Value } from '../../../../src/core/settings/value.js';
import { Logger } from '../../../../src/log/logger.js';
import { MemoryTrail } from '../memory-trail.js';
import { MemorySettings } from './memory-settings.js';
import { FakePlatform, fakeLink } from '../devices/fake-platform.js';

const caller = (uid: number): CallerRef => ({ busName: ':1.5', resolve: async () => ({ busName: ':1.5', pid: 77, uid }) });

const entry = (o: Record<string, Value>): Map<string, Value> => new Map(Object.entries(o));

function profile(uuid: string, id: string, type: string, extra: Record<string, Record<string, Value>> = {}): Settings {
  const groups: Record<string, Record<string, Value>> = {
    connection: { id: value('s', id), uuid: value('s', uuid), type: value('s', type), ...extra.connection },
    ipv4: { method: value('s', 'disabled') },
    ipv6: { method: value('s', 'ignore') },
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'connection')),
  };
  return new Map(Object.entries(groups).map(([k, v]) => [k, new Map(Object.entries(v))]));
}

const UUID1 = '11111111-1111-4111-8111-111111111111';
const UUID2 = '22222222-2222-4222-8222-222222222222';

async function setup(links: Link[] = [fakeLink()]) {
  const logger = new Logger({ write: () => undefined }, { now: () => 0 });
  const platform = new FakePlatform(links);
  const devices = new DeviceList({ platform, log: logger.domain('CORE') });
  await devices.load();
  const trail = new MemoryTrail();
  const audit = new AuditManager({ log: logger.domain('AUDIT'), backends: [trail], enabled: true, now: () => 0, boot: 'b' });
  const settings = new MemorySettings();
  let blocked: NetauditError | null = null;
  const activations = new Activations({
    audit,
    auth: () => new RootOnlyAuthorizer(),
    settings: settings as unknown as SettingsService,
    devices,
    platform,
    log: logger.domain('CORE'),
    blocked: () => blocked,
    ipv6ConfDir: '/nonexistent',
    store: new ActiveStore(mkdtempSync(join(tmpdir(), 'netauditd-act-')), logger.domain('CORE')),
  });
  return { platform, devices, trail, settings, activations, block: (e: NetauditError | null) => (blocked = e) };
}

const manualV4 = {
  '802-3-ethernet': { mtu: value('u', 1400) },
  ipv4: {
    method: value('s', 'manual'),
    'address-data': value('aa{sv}', [entry({ address: value('s', '192.0.2.10'), prefix: value('u', 24) })]),
    gateway: value('s', '192.0.2.1'),
  },
};

const fields = (r: AuditRecord) => ({ op: r.op, uuid: r.uuid, ifindex: r.ifindex, iface: r.iface, result: r.result, reason: r.reason, tx: r.tx });

describe('Activations', () => {
  it('activates an ethernet profile: one record, then MTU, link up, address and default route; deactivation takes them back', async () => {
    const { platform, devices, trail, settings, activations } = await setup();
    const conn = settings.add(profile(UUID1, 'lan', '802-3-ethernet', { connection: { 'interface-name': value('s', 'v0') }, ...manualV4 }));
    const active = await activations.activate(caller(0), conn.number, null);
    expect(active.state).toBe(2);
    expect(devices.byIfindex(2)).toMatchObject({ state: 100, activeConnection: active.number, mtu: 1400 });
    expect(platform.current[0]).toMatchObject({ up: true, mtu: 1400 });
    expect(platform.currentAddresses).toEqual([{ ifindex: 2, family: 4, address: '192.0.2.10', prefix: 24 }]);
    expect(platform.routeList).toEqual([{ family: 4, dest: '0.0.0.0', prefix: 0, gateway: '192.0.2.1', ifindex: 2, metric: 100, table: 254 }]);
    expect(trail.records.map(fields)).toEqual([{ op: 'connection-activate', uuid: UUID1, ifindex: 2, iface: 'v0', result: 'success', reason: undefined, tx: 1 }]);

    await activations.deactivate(caller(0), active.number);
    expect(platform.current[0]).toMatchObject({ up: false, mtu: 1500 });
    expect(platform.currentAddresses).toEqual([]);
    expect(platform.routeList).toEqual([]);
    expect(activations.list()).toEqual([]);
    expect(devices.byIfindex(2)).toMatchObject({ activeConnection: null, state: 20 });
    expect(trail.records.map((r) => [r.op, r.result])).toEqual([['connection-activate', 'success'], ['connection-deactivate', 'success']]);
  });

  it('overturns the record when the kernel refuses the address, and takes back the MTU and the link state', async () => {
    const { platform, trail, settings, activations } = await setup();
    const conn = settings.add(profile(UUID1, 'lan', '802-3-ethernet', { connection: { 'interface-name': value('s', 'v0') }, ...manualV4 }));
    platform.failNext('addAddress', new KernelRefusal('add address', 'EINVAL', 'Invalid prefix for given prefix length'));
    const error = await activations.activate(caller(0), conn.number, 2).catch((e: NetauditError) => e);
    expect(error).toMatchObject({ code: 'Failed', reason: 'kernel-error' });
    expect((error as Error).message).toContain('EINVAL: Invalid prefix for given prefix length');
    expect(platform.current[0]).toMatchObject({ up: false, mtu: 1500 });
    expect(activations.list()).toEqual([]);
    expect(trail.records.map(fields)).toEqual([
      { op: 'connection-activate', uuid: UUID1, ifindex: 2, iface: 'v0', result: 'success', reason: undefined, tx: 1 },
      { op: 'connection-activate', uuid: UUID1, ifindex: 2, iface: 'v0', result: 'fail', reason: 'kernel-error', tx: 1 },
    ]);
  });

  it('creates a bridge with the ifindex its record names, and deletes it at deactivation', async () => {
    const { platform, trail, settings, activations } = await setup();
    const conn = settings.add(profile(UUID1, 'br', 'bridge', { connection: { 'interface-name': value('s', 'br0') } }));
    const active = await activations.activate(caller(0), conn.number, null);
    const created = platform.calls.find((c) => c.method === 'createLink')!.args[0] as { kind: string; name: string; ifindex: number };
    expect(created).toMatchObject({ kind: 'bridge', name: 'br0', ifindex: 3 });
    expect(trail.records[0]).toMatchObject({ ifindex: 3, iface: 'br0', result: 'success' });
    await activations.deactivate(caller(0), active.number);
    expect(platform.current.map((l) => l.name)).toEqual(['v0']);
  });

  it('refuses before any record of a change, in order: the caller, then the state, then the profile and the device', async () => {
    const { platform, trail, settings, activations, block } = await setup();
    const conn = settings.add(profile(UUID1, 'lan', '802-3-ethernet', { connection: { 'interface-name': value('s', 'nothere') } }));
    const port = settings.add(profile(UUID2, 'port', '802-3-ethernet', { connection: { 'interface-name': value('s', 'v0'), master: value('s', 'br9') } }));
    await expect(activations.activate(caller(1000), conn.number, null)).rejects.toMatchObject({ code: 'PermissionDenied' });
    block(new NetauditError('NetworkingDisabled', 'off'));
    await expect(activations.activate(caller(0), conn.number, null)).rejects.toMatchObject({ code: 'NetworkingDisabled' });
    block(null);
    await expect(activations.activate(caller(0), conn.number, null)).rejects.toMatchObject({ code: 'UnknownDevice' });
    await expect(activations.activate(caller(0), 99, null)).rejects.toMatchObject({ code: 'UnknownConnection' });
    await expect(activations.activate(caller(0), port.number, null)).rejects.toMatchObject({ code: 'UnknownDevice' });
    await expect(activations.deactivate(caller(0), 5)).rejects.toMatchObject({ code: 'ConnectionNotActive' });
    await expect(activations.disconnect(caller(0), 2)).rejects.toMatchObject({ code: 'ConnectionNotActive' });
    expect(trail.records.map((r) => [r.op, r.result, r.reason])).toEqual([
      ['connection-activate', 'fail', 'not-authorized'],
      ['connection-activate', 'fail', 'networking-disabled'],
      ['connection-activate', 'fail', 'unknown-device'],
      ['connection-activate', 'fail', 'unknown-connection'],
      ['connection-activate', 'fail', 'unknown-device'],
      ['connection-deactivate', 'fail', 'not-active'],
      ['device-disconnect', 'fail', 'not-active'],
    ]);
    expect(platform.calls).toEqual([]);
  });

  it('a device that vanishes mid-activation: UnknownDevice (device-removed), the record overturned, nothing left active', async () => {
    const { platform, trail, settings, activations } = await setup();
    const conn = settings.add(profile(UUID1, 'lan', '802-3-ethernet', { connection: { 'interface-name': value('s', 'v0') }, ...manualV4 }));
    const setLink = platform.setLink.bind(platform);
    platform.setLink = async (ifindex, change) => {
      await setLink(ifindex, change);
      // The link goes as soon as it was changed once: the kernel then answers ENODEV.
      const gone = platform.current.find((l) => l.ifindex === ifindex)!;
      platform.current = platform.current.filter((l) => l.ifindex !== ifindex);
      platform.emit('link-removed', gone);
      platform.failNext('addAddress', new KernelRefusal('add address', 'ENODEV', null));
    };
    const error = await activations.activate(caller(0), conn.number, null).catch((e: NetauditError) => e);
    expect(error).toMatchObject({ code: 'UnknownDevice', reason: 'device-removed' });
    expect((error as Error).message).toContain('"v0" disappeared while it was being activated');
    expect(activations.list()).toEqual([]);
    expect(trail.records.map((r) => [r.result, r.reason, r.tx])).toEqual([['success', undefined, 1], ['fail', 'device-removed', 1]]);
  });

  it('autoconnects a profile when its link appears and ends it when the link vanishes, each a daemon record', async () => {
    const { platform, trail, settings, activations } = await setup([]);
    settings.add(profile(UUID1, 'lan', '802-3-ethernet', { connection: { 'interface-name': value('s', 'v0') } }));
    await activations.autoconnectAll();
    platform.current = [fakeLink()];
    platform.emit('link-added', platform.current[0]!);
    await new Promise((r) => setTimeout(r, 10));
    expect(activations.list().map((a) => [a.uuid, a.state])).toEqual([[UUID1, 2]]);
    platform.emit('link-removed', platform.current[0]!);
    await new Promise((r) => setTimeout(r, 10));
    expect(activations.list()).toEqual([]);
    expect(trail.records.map((r) => [r.op, r.origin, r.cause, r.uuid, r.iface, r.pid, r.uid, r.result, r.tx])).toEqual([
      ['connection-activate', 'daemon', 'autoconnect', UUID1, 'v0', undefined, undefined, 'success', 1],
      ['connection-deactivate', 'daemon', 'device-removed', UUID1, 'v0', undefined, undefined, 'success', 2],
    ]);
  });
});
