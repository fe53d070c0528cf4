// Disk edits: the files on disk against the daemon's view (a reload) or the trail's replay (a start),
// one record each; and a reload whose edit records the trail refuses leaves the view as it was.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditManager } from '../../../../src/core/audit/audit-manager.js';
import type { AuditRecord } from '../../../../src/core/audit/record.js';
import { RootOnlyAuthorizer } from '../../../../src/core/auth/root-only.js';
import type { CallerRef } from '../../../../src/core/caller.js';
import { profileValues } from '../../../../src/core/settings/audit-values.js';
import { editsSinceHeld, editsSinceRecorded, fileEditRecord, type DiskProfile } from '../../../../src/core/settings/disk-edits.js';
import { readProfileText } from '../../../../src/core/settings/profile-file.js';
import { ProfileStore } from '../../../../src/core/settings/profile-store.js';
import { ProfileCommit } from '../../../../src/core/commit/profile-commit.js';
import { WorkerDisk } from '../../../../src/core/commit/worker-disk.js';
import { SettingsService } from '../../../../src/core/settings/settings.js';
import { Logger } from '../../../../src/log/logger.js';
import { MemoryTrail } from '../memory-trail.js';

const A = '11111111-1111-4111-8111-111111111111';
const DIR = '/etc/netauditd/system-connections';

const text = (address: string, extra = ''): string =>
  `[connection]\nid=lan\nuuid=${A}\ntype=ethernet\n\n[ipv4]\naddress1=${address}\nmethod=manual\n${extra}`;

function disk(body: string, changedAt = 0): DiskProfile {
  return { fileName: 'lan.nmconnection', uuid: A, read: readProfileText(body, `${DIR}/lan.nmconnection`, 'lan.nmconnection'), changedAt };
}

describe('editsSinceHeld', () => {
  it('finds one update with the changed keys and values, and nothing when the file is as held', () => {
    const held = disk(text('192.0.2.10/24', '\n[x-vendor]\nkeep=1\n'));
    const map = new Map([[A, { uuid: A, settings: held.read.settings, extra: held.read.extra, fileName: held.fileName }]]);
    expect(editsSinceHeld(map, [held])).toEqual([]);
    expect(editsSinceHeld(map, [disk(text('192.0.2.20/24', '\n[x-vendor]\nkeep=2\n'))])).toEqual([{
      op: 'connection-update',
      uuid: A,
      name: 'lan',
      file: 'lan.nmconnection',
      changed: ['ipv4.address-data', 'x-vendor.keep'],
      before: { ipv4: { address1: '192.0.2.10/24' }, 'x-vendor': { keep: '1' } },
      after: { ipv4: { address1: '192.0.2.20/24' }, 'x-vendor': { keep: '2' } },
    }]);
    expect(editsSinceHeld(map, []).map((e) => [e.op, e.file])).toEqual([['connection-delete', 'lan.nmconnection']]);
    expect(editsSinceHeld(new Map(), [held]).map((e) => e.op)).toEqual(['connection-add']);
  });
});

describe('editsSinceRecorded', () => {
  const values = profileValues(disk(text('192.0.2.10/24')).read.settings, new Map());

  it('compares with the replay: an update with setting keys, a delete of a recorded profile, nothing when equal', async () => {
    const recorded = new Map([[A, { state: 'present' as const, values }]]);
    expect(await editsSinceRecorded(recorded, 5, [disk(text('192.0.2.10/24'))], DIR)).toEqual([]);
    expect(await editsSinceRecorded(recorded, 5, [disk(text('192.0.2.30/24'))], DIR)).toEqual([expect.objectContaining({
      op: 'connection-update', changed: ['ipv4.address-data'], before: { ipv4: { address1: '192.0.2.10/24' } }, after: { ipv4: { address1: '192.0.2.30/24' } },
    })]);
    expect(await editsSinceRecorded(recorded, 5, [], DIR)).toEqual([{ op: 'connection-delete', uuid: A, name: 'lan', before: values }]);
    // Its file is there but cannot be read: no delete.
    expect(await editsSinceRecorded(recorded, 5, [], DIR, new Set([A]))).toEqual([]);
  });

  it('snapshots a profile never seen, unless its file changed after the trail\'s last record', async () => {
    expect((await editsSinceRecorded(new Map(), null, [disk(text('192.0.2.10/24'), 10)], DIR)).map((e) => e.op)).toEqual(['connection-snapshot']);
    expect((await editsSinceRecorded(new Map(), 20, [disk(text('192.0.2.10/24'), 10)], DIR)).map((e) => e.op)).toEqual(['connection-snapshot']);
    expect((await editsSinceRecorded(new Map(), 5, [disk(text('192.0.2.10/24'), 10)], DIR)).map((e) => e.op)).toEqual(['connection-add']);
    expect((await editsSinceRecorded(new Map([[A, { state: 'unknown' as const }]]), 5, [disk(text('192.0.2.10/24'), 10)], DIR)).map((e) => e.op)).toEqual(['connection-snapshot']);
    expect((await editsSinceRecorded(new Map([[A, { state: 'absent' as const }]]), 20, [disk(text('192.0.2.10/24'), 10)], DIR)).map((e) => e.op)).toEqual(['connection-add']);
  });

  it('makes external args=file records without attribution, and a snapshot the daemon\'s without cause', async () => {
    const [snapshot] = await editsSinceRecorded(new Map(), null, [disk(text('192.0.2.10/24'))], DIR);
    expect(fileEditRecord(snapshot!, { cause: 'while-stopped' })).toEqual({
      origin: 'daemon', context: { op: 'connection-snapshot', uuid: A, name: 'lan', after: values }, actor: { file: 'lan.nmconnection' },
    });
    const [deleted] = await editsSinceRecorded(new Map([[A, { state: 'present' as const, values }]]), null, [], DIR);
    expect(fileEditRecord(deleted!, { cause: 'while-stopped' })).toEqual({
      origin: 'external', context: { op: 'connection-delete', uuid: A, name: 'lan', before: values, args: 'file', cause: 'while-stopped' }, actor: { attribution: 'none' },
    });
  });
});

describe('SettingsService.reload', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('fails with audit-trail-unavailable and keeps its view when the trail refuses an edit\'s record', async () => {
    dir = await mkdtemp(join(tmpdir(), `disk-edits-${process.pid}-`));
    const logger = new Logger({ write: () => undefined }, { now: () => 0 });
    const trail = new (class extends MemoryTrail {
      refuseFiles = false;
      override async write(r: AuditRecord): Promise<void> {
        if (this.refuseFiles && r.args === 'file') throw new Error('ENOSPC');
        return super.write(r);
      }
    })();
    const audit = new AuditManager({ log: logger.domain('AUDIT'), backends: [trail], enabled: true, now: () => 0, boot: 'b' });
    const store = new ProfileStore(dir, logger.domain('SETTINGS'));
    await store.init();
    const commit = new ProfileCommit({ disk: new WorkerDisk(dir), log: logger.domain('SETTINGS'), boot: 'b', lowestOpenTx: () => audit.lowestOpenTx() });
    await commit.start();
    const settings = new SettingsService({ commit, audit, auth: () => new RootOnlyAuthorizer(), log: logger.domain('SETTINGS') });
    await writeFile(join(dir, 'lan.nmconnection'), text('192.0.2.10/24'), { mode: 0o600 });
    await settings.load(null);
    const root: CallerRef = { busName: ':1.5', resolve: async () => ({ busName: ':1.5', pid: 77, uid: 0 }) };

    await writeFile(join(dir, 'lan.nmconnection'), text('192.0.2.20/24'), { mode: 0o600 });
    trail.refuseFiles = true;
    await expect(settings.reload(root)).rejects.toMatchObject({ reason: 'audit-trail-unavailable' });
    expect(profileValues(settings.getByUuid(A).settings, new Map())).toMatchObject({ ipv4: { address1: '192.0.2.10/24' } });
    expect(trail.records.map((r) => [r.op, r.result, r.tx])).toEqual([['reload', 'success', 1], ['reload', 'fail', 1]]);

    trail.refuseFiles = false;
    await settings.reload(root);
    expect(profileValues(settings.getByUuid(A).settings, new Map())).toMatchObject({ ipv4: { address1: '192.0.2.20/24' } });
    expect(trail.records.slice(2).map((r) => [r.op, r.args, r.tx])).toEqual([['reload', 'connections', 2], ['connection-update', 'file', 2]]);

    // A file that no longer reads is no delete: the profile stays as it was, unrecorded.
    await writeFile(join(dir, 'lan.nmconnection'), `[connection]\nid=lan\nuuid=${A}\ntype=dummy\n`, { mode: 0o600 });
    await settings.reload(root);
    expect(settings.getByUuid(A).id).toBe('lan');
    expect(trail.records.slice(4).map((r) => r.op)).toEqual(['reload']);
  });
});
