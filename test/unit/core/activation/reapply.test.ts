// Reapply over a fake Platform and an in-memory trail: what changed applied in place (the link never
// set down), the undo list kept so that deactivation takes back exactly what activation and Reapply
// added, a kernel refusal taking the Reapply back and overturning its record, and the refusals.
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
import { NetauditError } from '../../../../src/core/errors.js';
import { KernelRefusal } from '../../../../src/core/platform/platform.js';
import type { SettingsService } from '../../../../src/core/settings/settings.js';
import { value, type Settings, type SettingsInput, type Value } from '../../../../src/core/settings/value.js';
import { Logger } from '../../../../src/log/logger.js';
import { MemoryTrail } from '../memory-trail.js';
import { MemorySettings } from './memory-settings.js';
import { FakePlatform, fakeLink } from '../devices/fake-platform.js';

const caller = (uid: number): CallerRef => ({ busName: ':1.5', resolve: async () => ({ busName: ':1.5', pid: 77, uid }) });
const entry = (o: Record<string, Value>): Map<string, Value> => new Map(Object.entries(o));
const UUID = '11111111-1111-4111-8111-111111111111';

function profile(ipv4: Record<string, Value>, mtu: number | null): Settings {
  const groups: Record<string, Record<string, Value>> = {
    connection: { id: value('s', 'lan'), uuid: value('s', UUID), type: value('s', '802-3-ethernet'), 'interface-name': value('s', 'v0') },
    ipv4: { method: value('s', 'manual'), ...ipv4 },
    ipv6: { method: value('s', 'ignore') },
    ...(mtu === null ? {} : { '802-3-ethernet': { mtu: value('u', mtu) } }),
  };
  return new Map(Object.entries(groups).map(([k, v]) => [k, new Map(Object.entries(v))]));
}

const addresses = (...list: string[]): Value =>
  value('aa{sv}', list.map((a) => entry({ address: value('s', a.split('/')[0]!), prefix: value('u', Number(a.split('/')[1])) })));

const input = (settings: Settings): SettingsInput => ({ sent: {}, decode: () => settings });
const saved: SettingsInput = { sent: {}, decode: () => new Map() };

async function setup() {
  const logger = new Logger({ write: () => undefined }, { now: () => 0 });
  const platform = new FakePlatform([fakeLink()]);
  const devices = new DeviceList({ platform, log: logger.domain('CORE') });
  await devices.load();
  const trail = new MemoryTrail();
  const audit = new AuditManager({ log: logger.domain('AUDIT'), backends: [trail], enabled: true, now: () => 0, boot: 'b' });
  const settings = new MemorySettings();
  const activations = new Activations({
    audit,
    auth: () => new RootOnlyAuthorizer(),
    settings: settings as unknown as SettingsService,
    devices,
    platform,
    log: logger.domain('CORE'),
    blocked: () => null,
    ipv6ConfDir: '/nonexistent',
    store: new ActiveStore(mkdtempSync(join(tmpdir(), 'netauditd-reapply-')), logger.domain('CORE')),
  });
  const conn = settings.add(profile({ 'address-data': addresses('192.0.2.10/24', '192.0.2.20/24'), gateway: value('s', '192.0.2.1') }, 1400));
  const active = await activations.activate(caller(0), conn.number, 2);
  platform.calls = [];
  return { platform, trail, conn, active, activations, settings };
}

const NEW = profile(
  {
    'address-data': addresses('192.0.2.20/24', '198.51.100.5/24'),
    'route-data': value('aa{sv}', [entry({ dest: value('s', '203.0.113.0'), prefix: value('u', 24), 'next-hop': value('s', '198.51.100.1') })]),
  },
  1300,
);

describe('Reapply', () => {
  it('applies addresses, routes and MTU in place, never setting the link down, with one record holding before, after, changed and tx', async () => {
    const { platform, trail, active, activations } = await setup();
    const { versionId } = activations.appliedConnection(2, 0);
    await activations.reapply(caller(0), 2, input(NEW), versionId, 0);
    expect(platform.calls.some((c) => c.method === 'setLink' && (c.args[1] as { up?: boolean }).up !== undefined)).toBe(false);
    expect(platform.current[0]).toMatchObject({ up: true, mtu: 1300 });
    expect(platform.currentAddresses.map((a) => `${a.address}/${a.prefix}`).sort()).toEqual(['192.0.2.20/24', '198.51.100.5/24']);
    expect(platform.routeList.map((r) => `${r.dest}/${r.prefix} ${r.gateway}`)).toEqual(['203.0.113.0/24 198.51.100.1']);
    const record = trail.records.at(-1)!;
    expect(record).toMatchObject({ op: 'device-reapply', uuid: UUID, name: 'lan', ifindex: 2, iface: 'v0', result: 'success', uid: 0 });
    expect(record.tx).toBeGreaterThan(0);
    expect([...record.changed!].sort()).toEqual(['802-3-ethernet.mtu', 'ipv4.address-data', 'ipv4.gateway', 'ipv4.route-data']);
    expect(record.before).toMatchObject({ mtu: 1400, ipv4: { addresses: ['192.0.2.10/24', '192.0.2.20/24'] } });
    expect(record.after).toMatchObject({ mtu: 1300, ipv4: { addresses: ['192.0.2.20/24', '198.51.100.5/24'], routes: [{ dst: '203.0.113.0/24', gateway: '198.51.100.1' }] } });
    const applied = activations.appliedConnection(2, 0);
    expect(applied.versionId).toBeGreaterThan(versionId);
    expect(applied.settings.get('ipv4')!.get('address-data')).toEqual(NEW.get('ipv4')!.get('address-data'));
    expect(active.state).toBe(2);

    await activations.deactivate(caller(0), active.number);
    expect(platform.current[0]).toMatchObject({ up: false, mtu: 1500 });
    expect(platform.currentAddresses).toEqual([]);
    expect(platform.routeList).toEqual([]);
  });

  it('an MTU the new settings leave out goes back to what the link had, and leaves the undo list', async () => {
    const { platform, active, activations } = await setup();
    await activations.reapply(caller(0), 2, input(profile({ 'address-data': addresses('192.0.2.10/24', '192.0.2.20/24'), gateway: value('s', '192.0.2.1') }, null)), 0n, 0);
    expect(platform.current[0]!.mtu).toBe(1500);
    expect(active.undo.some((u) => u.kind === 'restore-link' && u.change.mtu !== undefined)).toBe(false);
    expect(active.applied.mtu).toBeUndefined();
  });

  it('an empty dictionary reapplies the saved profile; with nothing changed the version id stays', async () => {
    const { platform, activations, conn } = await setup();
    const { versionId } = activations.appliedConnection(2, 0);
    await activations.reapply(caller(0), 2, saved, 0n, 0);
    expect(platform.calls).toEqual([]);
    expect(activations.appliedConnection(2, 0).versionId).toBe(versionId);
    conn.settings = NEW;
    await activations.reapply(caller(0), 2, saved, versionId, 1);
    expect(platform.current[0]!.mtu).toBe(1300);
    expect(activations.appliedConnection(2, 0).versionId).not.toBe(versionId);
  });

  it('a kernel refusal half way takes back what the Reapply did and overturns its record with the same tx', async () => {
    const { platform, trail, active, activations } = await setup();
    const undoBefore = JSON.stringify(active.undo);
    const { versionId } = activations.appliedConnection(2, 0);
    platform.failNext('addRoute', new KernelRefusal('add route', 'ENETUNREACH', 'Network is unreachable'));
    const error = await activations.reapply(caller(0), 2, input(NEW), 0n, 0).catch((e: NetauditError) => e);
    expect(error).toMatchObject({ code: 'Failed', reason: 'kernel-error' });
    expect(platform.current[0]).toMatchObject({ up: true, mtu: 1400 });
    expect(platform.currentAddresses.map((a) => `${a.address}/${a.prefix}`).sort()).toEqual(['192.0.2.10/24', '192.0.2.20/24']);
    expect(platform.routeList.map((r) => `${r.dest}/${r.prefix}`)).toEqual(['0.0.0.0/0']);
    expect(JSON.stringify(active.undo)).toBe(undoBefore);
    expect(activations.appliedConnection(2, 0).versionId).toBe(versionId);
    const [success, fail] = trail.records.slice(-2);
    expect(success).toMatchObject({ op: 'device-reapply', result: 'success' });
    expect(fail).toMatchObject({ op: 'device-reapply', result: 'fail', reason: 'kernel-error', tx: success!.tx });
  });

  it('refuses before any change: unknown flags, a stale version id, a change that needs a new link, a device with nothing active', async () => {
    const { platform, trail, activations } = await setup();
    const count = trail.records.length;
    const refusal = (p: Promise<unknown>) => p.then(() => null, (e: NetauditError) => ({ code: e.code, reason: e.reason, message: e.message }));
    expect(await refusal(activations.reapply(caller(0), 2, saved, 0n, 2))).toMatchObject({ code: 'InvalidArgument' });
    expect(await refusal(activations.reapply(caller(0), 2, saved, 999n, 0))).toMatchObject({ code: 'VersionIdMismatch', reason: 'version-id-mismatch' });
    const renamed = profile({ 'address-data': addresses('192.0.2.10/24') }, 1400);
    renamed.get('connection')!.set('interface-name', value('s', 'v9'));
    expect(await refusal(activations.reapply(caller(0), 2, input(renamed), 0n, 0))).toMatchObject({ code: 'IncompatibleConnection', message: expect.stringMatching(/^connection\.interface-name: /) });
    expect(await refusal(activations.reapply(caller(1000), 2, saved, 0n, 0))).toMatchObject({ code: 'PermissionDenied' });
    expect(await refusal(activations.reapply(caller(0), 42, saved, 0n, 0))).toMatchObject({ code: 'UnknownDevice' });
    expect(platform.calls).toEqual([]);
    expect(trail.records.slice(count).map((r) => [r.op, r.result, r.reason])).toEqual([
      ['device-reapply', 'fail', 'invalid-argument'],
      ['device-reapply', 'fail', 'version-id-mismatch'],
      ['device-reapply', 'fail', 'incompatible-device'],
      ['device-reapply', 'fail', 'not-authorized'],
      ['device-reapply', 'fail', 'unknown-device'],
    ]);
  });

  it("bridge options change in place on the bridge it created (nothing to restore); a port's cost keeps one restore step with the value it had", async () => {
    const { platform, activations, settings, active: lan } = await setup();
    const bridgeProfile = (stp: boolean): Settings =>
      new Map(Object.entries({
        connection: { id: value('s', 'br'), uuid: value('s', '22222222-2222-4222-8222-222222222222'), type: value('s', 'bridge'), 'interface-name': value('s', 'br0') },
        bridge: { stp: value('b', stp) },
        ipv4: { method: value('s', 'disabled') },
        ipv6: { method: value('s', 'ignore') },
      }).map(([k, v]) => [k, new Map(Object.entries(v))]));
    const br = settings.add(bridgeProfile(true));
    const bridge = await activations.activate(caller(0), br.number, null);
    const portProfile = (cost: number): Settings =>
      new Map(Object.entries({
        connection: { id: value('s', 'port'), uuid: value('s', '33333333-2222-4222-8222-222222222222'), type: value('s', '802-3-ethernet'), 'interface-name': value('s', 'v0'), master: value('s', 'br0'), 'slave-type': value('s', 'bridge') },
        'bridge-port': { 'path-cost': value('u', cost) },
      }).map(([k, v]) => [k, new Map(Object.entries(v))]));
    await activations.deactivate(caller(0), lan.number);
    const port = settings.add(portProfile(10));
    const active = await activations.activate(caller(0), port.number, 2);
    const bridgeIfindex = bridge.ifindex!;
    expect(platform.bridges.get(bridgeIfindex)?.stp).toBe(true);

    await activations.reapply(caller(0), bridgeIfindex, input(bridgeProfile(false)), 0n, 0);
    expect(platform.bridges.get(bridgeIfindex)?.stp).toBe(false);
    expect(bridge.undo.some((u) => u.kind === 'restore-bridge')).toBe(false);

    expect(platform.ports.get(2)?.cost).toBe(10);
    await activations.reapply(caller(0), 2, input(portProfile(20)), 0n, 0);
    expect(platform.ports.get(2)?.cost).toBe(20);
    // The kernel's own cost (2) is what connection down puts back, however many Reapplies came between.
    expect(active.undo.filter((u) => u.kind === 'restore-bridge-port')).toEqual([{ kind: 'restore-bridge-port', ifindex: 2, options: { cost: 2 } }]);
    await activations.deactivate(caller(0), active.number);
    expect(platform.ports.get(2)?.cost).toBe(2);
  });

  it('GetAppliedConnection: flags must be 0; nothing active is ConnectionNotActive', async () => {
    const { active, activations } = await setup();
    expect(() => activations.appliedConnection(2, 1)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    await activations.deactivate(caller(0), active.number);
    expect(() => activations.appliedConnection(2, 0)).toThrow(expect.objectContaining({ code: 'ConnectionNotActive' }));
  });
});
