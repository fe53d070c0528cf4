// DeviceOps over a fake Platform and an in-memory trail: the order of docs/api.md (authorization, the
// value's type, the device's existence, the change), one record per write, and the change applied
// only once its record is in the trail.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PERSISTENT_DEFAULTS, parsePersistentState } from '../../../../src/core/state/daemon-state.js';
import { StateStore } from '../../../../src/core/state/state-store.js';
import { AuditManager } from '../../../../src/core/audit/audit-manager.js';
import type { AuditRecord } from '../../../../src/core/audit/record.js';
import { RootOnlyAuthorizer } from '../../../../src/core/auth/root-only.js';
import type { CallerRef } from '../../../../src/core/caller.js';
import { DeviceList } from '../../../../src/core/devices/device-list.js';
import { DeviceOps } from '../../../../src/core/devices/device-ops.js';
import type { DeviceProperty } from '../../../../src/core/devices/device.js';
import { KernelRefusal, type Link } from '../../../../src/core/platform/platform.js';
import { Logger } from '../../../../src/log/logger.js';
import { MemoryTrail } from '../memory-trail.js';
import { FakePlatform, fakeLink } from './fake-platform.js';

const link = (over: Partial<Link> = {}): Link => fakeLink({ up: true, lowerUp: true, ...over });

const caller = (uid: number): CallerRef => ({ busName: ':1.5', resolve: async () => ({ busName: ':1.5', pid: 77, uid }) });

async function setupWith(links: Link[] = [link()]) {
  const logger = new Logger({ write: () => undefined }, { now: () => 0 });
  const platform = new FakePlatform(links);
  const devices = new DeviceList({ platform, log: logger.domain('CORE') });
  await devices.load();
  const trail = new MemoryTrail();
  const audit = new AuditManager({ log: logger.domain('AUDIT'), backends: [trail], enabled: true, now: () => 0, boot: 'b' });
  const state = await StateStore.open({
    path: join(mkdtempSync(join(tmpdir(), 'netauditd-devops-')), 'state.json'),
    defaults: PERSISTENT_DEFAULTS,
    parse: parsePersistentState,
    log: logger.domain('CORE'),
    committed: async () => new Set<string>(),
  });
  const ops = new DeviceOps({ audit, auth: () => new RootOnlyAuthorizer(), devices, state });
  const changes: Array<[number, DeviceProperty[]]> = [];
  devices.on('changed', (d, props) => changes.push([d.ifindex, props]));
  return { platform, devices, trail, ops, changes };
}

const setup = () => setupWith();

const fields = (r: AuditRecord) => ({ op: r.op, ifindex: r.ifindex, iface: r.iface, args: r.args, uid: r.uid, result: r.result, reason: r.reason });

describe('DeviceOps', () => {
  it('sets Managed with one device-managed record, and announces Managed and the State it implies', async () => {
    const { devices, trail, ops, changes } = await setup();
    await ops.setManaged(caller(0), 2, 'b', false);
    expect(devices.byIfindex(2)?.managed).toBe(false);
    expect(devices.byIfindex(2)?.state).toBe(10);
    expect(changes).toEqual([[2, ['state', 'managed']]]);
    expect(trail.records.map(fields)).toEqual([{ op: 'device-managed', ifindex: 2, iface: 'v0', args: 'off', uid: 0, result: 'success', reason: undefined }]);
  });

  it('sets Autoconnect, and announces nothing when the value is the same', async () => {
    const { devices, trail, ops, changes } = await setup();
    await ops.setAutoconnect(caller(0), 2, 'b', false);
    await ops.setAutoconnect(caller(0), 2, 'b', false);
    expect(devices.byIfindex(2)?.autoconnect).toBe(false);
    expect(changes).toEqual([[2, ['autoconnect']]]);
    expect(trail.records.map((r) => [r.op, r.args, r.result])).toEqual([['device-autoconnect', 'off', 'success'], ['device-autoconnect', 'off', 'success']]);
  });

  it('refuses a non-root caller before looking at the value or the device', async () => {
    const { trail, ops } = await setup();
    await expect(ops.setManaged(caller(1000), 99, 's', 'x')).rejects.toMatchObject({ code: 'PermissionDenied' });
    expect(trail.records.map(fields)).toEqual([{ op: 'device-managed', ifindex: 99, iface: undefined, args: undefined, uid: 1000, result: 'fail', reason: 'not-authorized' }]);
  });

  it('refuses a value that is not a boolean, then a device that is gone, each recorded', async () => {
    const { platform, devices, trail, ops, changes } = await setup();
    await expect(ops.setManaged(caller(0), 2, 'i', 0)).rejects.toMatchObject({ code: 'InvalidArgument' });
    platform.emit('link-removed', link());
    await expect(ops.setManaged(caller(0), 2, 'b', false)).rejects.toMatchObject({ code: 'UnknownDevice' });
    expect(devices.list()).toEqual([]);
    expect(changes).toEqual([]);
    expect(trail.records.map((r) => [r.iface, r.args, r.reason])).toEqual([['v0', undefined, 'invalid-argument'], [undefined, 'off', 'unknown-device']]);
  });

  it('changes nothing when the trail refuses the record', async () => {
    const { devices, trail, ops, changes } = await setup();
    trail.failWith = new Error('ENOSPC');
    await expect(ops.setManaged(caller(0), 2, 'b', false)).rejects.toMatchObject({ code: 'Failed', reason: 'audit-trail-unavailable' });
    expect(devices.byIfindex(2)?.managed).toBe(true);
    expect(changes).toEqual([]);
  });
});

describe('DeviceOps.delete', () => {
  const setup = () => setupWith([link(), link({ ifindex: 1, name: 'lo', kind: null, arphrd: 772 }), link({ ifindex: 3, name: 'eth0', kind: null })]);
  const deleteFields = (r: AuditRecord) => ({ op: r.op, ifindex: r.ifindex, iface: r.iface, uid: r.uid, result: r.result, reason: r.reason, tx: r.tx });

  it('deletes a software link after its record: one device-delete record, the device gone', async () => {
    const { platform, devices, trail, ops } = await setup();
    await ops.delete(caller(0), 2);
    expect(platform.deleted).toEqual([2]);
    expect(devices.byIfindex(2)).toBeUndefined();
    expect(trail.records.map(deleteFields)).toEqual([{ op: 'device-delete', ifindex: 2, iface: 'v0', uid: 0, result: 'success', reason: undefined, tx: 1 }]);
  });

  it('refuses the loopback and a hardware link with NotSupported, each recorded, nothing asked of the kernel', async () => {
    const { platform, trail, ops } = await setup();
    await expect(ops.delete(caller(0), 1)).rejects.toMatchObject({ code: 'NotSupported', message: expect.stringContaining('the loopback') });
    await expect(ops.delete(caller(0), 3)).rejects.toMatchObject({ code: 'NotSupported', message: expect.stringContaining('a hardware link') });
    expect(platform.deleted).toEqual([]);
    expect(trail.records.map((r) => [r.ifindex, r.iface, r.result, r.reason])).toEqual([[1, 'lo', 'fail', 'not-supported'], [3, 'eth0', 'fail', 'not-supported']]);
  });

  it('refuses a non-root caller before looking at the device', async () => {
    const { platform, trail, ops } = await setup();
    await expect(ops.delete(caller(1000), 1)).rejects.toMatchObject({ code: 'PermissionDenied' });
    expect(platform.deleted).toEqual([]);
    expect(trail.records.map(deleteFields)).toEqual([{ op: 'device-delete', ifindex: 1, iface: 'lo', uid: 1000, result: 'fail', reason: 'not-authorized', tx: undefined }]);
  });

  it('refuses a device that is gone with UnknownDevice', async () => {
    const { trail, ops } = await setup();
    await expect(ops.delete(caller(0), 99)).rejects.toMatchObject({ code: 'UnknownDevice' });
    expect(trail.records.map(deleteFields)).toEqual([{ op: 'device-delete', ifindex: 99, iface: undefined, uid: 0, result: 'fail', reason: 'unknown-device', tx: undefined }]);
  });

  it('when the kernel refuses, overturns the success record: Failed with the kernel\'s words, reason kernel-error', async () => {
    const { platform, devices, trail, ops } = await setup();
    platform.refusal = new KernelRefusal('delete link 2', 'EBUSY', 'Device is in use');
    const err = await ops.delete(caller(0), 2).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'Failed', reason: 'kernel-error' });
    expect((err as Error).message).toContain('EBUSY (Device is in use)');
    expect(devices.byIfindex(2)).toBeDefined();
    expect(trail.records.map((r) => [r.seq, r.result, r.reason, r.tx])).toEqual([[1, 'success', undefined, 1], [2, 'fail', 'kernel-error', 1]]);
  });

  it('a link that vanished between the record and the request is UnknownDevice', async () => {
    const { platform, trail, ops } = await setup();
    platform.refusal = new KernelRefusal('delete link 2', 'ENODEV', null);
    await expect(ops.delete(caller(0), 2)).rejects.toMatchObject({ code: 'UnknownDevice', reason: 'unknown-device' });
    expect(trail.records.map((r) => [r.result, r.reason])).toEqual([['success', undefined], ['fail', 'unknown-device']]);
  });
});
