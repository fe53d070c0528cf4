// ProfileWatch and SettingsService.examine: a profile file's events coalesced into one comparison,
// the process named only when every event of the file was its own, each edit recorded once whether
// or not the view takes it up, and the daemon's own writes no edit (docs/profile-edits.md).
import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditManager } from '../../../../src/core/audit/audit-manager.js';
import { RootOnlyAuthorizer } from '../../../../src/core/auth/root-only.js';
import type { CallerRef } from '../../../../src/core/caller.js';
import { ProfileCommit } from '../../../../src/core/commit/profile-commit.js';
import { WorkerDisk } from '../../../../src/core/commit/worker-disk.js';
import { profileValues } from '../../../../src/core/settings/audit-values.js';
import { editsInFiles, type DiskProfile, type HeldProfile } from '../../../../src/core/settings/disk-edits.js';
import type { ProcessView } from '../../../../src/core/process-view.js';
import { readProfileText } from '../../../../src/core/settings/profile-file.js';
import { ProfileWatch, type ChangedFiles, type OpenDirEvents } from '../../../../src/core/settings/profile-watch.js';
import { SettingsService } from '../../../../src/core/settings/settings.js';
import { Logger } from '../../../../src/log/logger.js';
import { FakeClock, settle } from '../dhcp/fakes.js';
import { MemoryTrail } from '../memory-trail.js';
import { build, ethernet, s } from './helpers.js';

const A = '11111111-1111-4111-8111-111111111111';
const logger = new Logger({ write: () => undefined }, { now: () => 0 });

const text = (address: string, id = 'lan', uuid = A): string =>
  `[connection]\nid=${id}\nuuid=${uuid}\ntype=ethernet\n\n[ipv4]\naddress1=${address}\nmethod=manual\n`;

function onDisk(fileName: string, body: string): DiskProfile {
  const read = readProfileText(body, `/p/${fileName}`, fileName);
  return { fileName, uuid: A, read, changedAt: 0 };
}

function held(p: DiskProfile): HeldProfile {
  return { uuid: p.uuid, settings: p.read.settings, extra: p.read.extra, fileName: p.fileName };
}

const sed: ProcessView = { pid: 41, uid: 1001, exe: '/usr/bin/sed', comm: 'sed' };
const vim: ProcessView = { pid: 42, uid: 0, exe: '/usr/bin/vim.basic', comm: 'vim' };

/** A ProfileWatch on fake events and a fake clock, and what it asked to compare. */
function fakeWatch(): { watch: ProfileWatch; emit: (fileName: string | null, actor?: ProcessView | null) => void; clock: FakeClock; examined: Array<ChangedFiles> } {
  const clock = new FakeClock();
  const examined: ChangedFiles[] = [];
  let emit: (fileName: string | null, actor?: ProcessView | null) => void = () => undefined;
  const open: OpenDirEvents = (_dir, onEvent) => {
    emit = (fileName, actor = null) => onEvent(fileName, actor);
    return { attribution: 'fanotify', close: () => undefined };
  };
  const watch = new ProfileWatch({
    dir: '/p', clock, log: logger.domain('SETTINGS'), load: () => false, open,
    settings: { examine: async (files) => void examined.push(files) },
  });
  watch.setWatching(true);
  return { watch, emit: (f, a) => emit(f, a), clock, examined };
}

describe('ProfileWatch', () => {
  it('compares a file once for an editor\'s burst, naming the process that made every event of it', async () => {
    const { emit, clock, examined } = fakeWatch();
    emit('.lan.nmconnection.swp', vim);
    emit('4913', vim);
    emit('lan.nmconnection~', vim);
    emit('lan.nmconnection', vim);
    await clock.advance(100);
    emit('lan.nmconnection', vim);
    await clock.advance(200);
    expect(examined).toEqual([new Map([['lan.nmconnection', vim]])]);
  });

  it('names no process for a file two processes wrote, nor for one whose process could not be read', async () => {
    const { emit, clock, examined } = fakeWatch();
    emit('lan.nmconnection', sed);
    emit('lan.nmconnection', vim);
    emit('wan.nmconnection', null);
    await clock.advance(300);
    expect(examined).toEqual([new Map([['lan.nmconnection', null]]), new Map([['wan.nmconnection', null]])]);
  });

  it('compares every file when events were lost, and nothing once it stops watching', async () => {
    const { watch, emit, clock, examined } = fakeWatch();
    emit(null);
    await settle();
    expect(examined).toEqual([null]);
    emit('lan.nmconnection', sed);
    watch.setWatching(false);
    await clock.advance(1000);
    expect(examined).toEqual([null]);
  });
});

describe('editsInFiles', () => {
  it('scopes the comparison to the profiles the files held or hold: a rename is no edit, another profile\'s edit waits', () => {
    const lan = onDisk('lan.nmconnection', text('192.0.2.10/24'));
    const map = new Map([[A, held(lan)]]);
    const moved = onDisk('office.nmconnection', text('192.0.2.10/24'));
    expect(editsInFiles(map, [moved], new Set(['lan.nmconnection']))).toEqual({ scope: new Set([A]), edits: [] });
    expect(editsInFiles(map, [onDisk('lan.nmconnection', text('192.0.2.20/24'))], new Set(['other.nmconnection']))).toEqual({ scope: new Set(), edits: [] });
    expect(editsInFiles(map, [], new Set(['lan.nmconnection'])).edits.map((e) => e.op)).toEqual(['connection-delete']);
    expect(editsInFiles(map, [onDisk('lan.nmconnection', text('192.0.2.20/24'))], null).edits.map((e) => e.op)).toEqual(['connection-update']);
  });
});

describe('SettingsService.examine', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function service(): Promise<{ settings: SettingsService; trail: MemoryTrail }> {
    dir = await mkdtemp(join(tmpdir(), `profile-watch-${process.pid}-`));
    const trail = new MemoryTrail();
    const audit = new AuditManager({ log: logger.domain('AUDIT'), backends: [trail], enabled: true, now: () => 0, boot: 'b' });
    const commit = new ProfileCommit({ disk: new WorkerDisk(dir), log: logger.domain('SETTINGS'), boot: 'b', lowestOpenTx: () => audit.lowestOpenTx() });
    await commit.start();
    const settings = new SettingsService({ commit, audit, auth: () => new RootOnlyAuthorizer(), log: logger.domain('SETTINGS') });
    await writeFile(join(dir, 'lan.nmconnection'), text('192.0.2.10/24'), { mode: 0o600 });
    await settings.load(null);
    return { settings, trail };
  }

  const address = (settings: SettingsService): unknown => profileValues(settings.getByUuid(A).settings, new Map())['ipv4'];
  const lan = (actor: ProcessView | null = null): ChangedFiles => new Map([['lan.nmconnection', actor]]);

  it('records an edit once, with its process, and leaves the view to the reload, which records nothing more', async () => {
    const { settings, trail } = await service();
    await writeFile(join(dir, 'lan.nmconnection'), text('192.0.2.20/24'), { mode: 0o600 });
    await settings.examine(lan(sed), false);
    await settings.examine(lan(sed), false);
    expect(trail.records.map((r) => [r.op, r.origin, r.args, r.pid, r.uid, r.actor])).toEqual([
      ['connection-update', 'external', 'file', 41, 1001, { exe: '/usr/bin/sed', comm: 'sed', attribution: 'fanotify', file: 'lan.nmconnection' }],
    ]);
    expect(trail.records[0]).toMatchObject({ before: { ipv4: { address1: '192.0.2.10/24' } }, after: { ipv4: { address1: '192.0.2.20/24' } } });
    expect(trail.records[0]).not.toHaveProperty('tx');
    expect(address(settings)).toMatchObject({ address1: '192.0.2.10/24' });

    // Removed after: one delete, against what was recorded. The reload then records nothing and takes the disk up.
    await unlink(join(dir, 'lan.nmconnection'));
    await settings.examine(lan(), false);
    expect(trail.records.slice(1).map((r) => [r.op, r.actor])).toEqual([['connection-delete', { attribution: 'none', file: 'lan.nmconnection' }]]);
    expect(trail.records[1]).toMatchObject({ before: { ipv4: { address1: '192.0.2.20/24' } } });
    await settings.rescan(9);
    expect(trail.records).toHaveLength(2);
    expect(settings.list()).toEqual([]);
  });

  it('with load, takes the edit up at once; a rename of the file alone is no record', async () => {
    const { settings, trail } = await service();
    await writeFile(join(dir, 'lan.nmconnection'), text('192.0.2.30/24'), { mode: 0o600 });
    await settings.examine(lan(), true);
    expect(address(settings)).toMatchObject({ address1: '192.0.2.30/24' });
    await rename(join(dir, 'lan.nmconnection'), join(dir, 'office.nmconnection'));
    await settings.examine(new Map([['lan.nmconnection', null], ['office.nmconnection', null]]), true);
    expect(trail.records.map((r) => r.op)).toEqual(['connection-update']);
    expect(settings.getByUuid(A).fileName).toBe('office.nmconnection');

    // Its old name's events alone: the profile is looked for in the whole directory, and found.
    await rename(join(dir, 'office.nmconnection'), join(dir, 'home.nmconnection'));
    await settings.examine(new Map([['office.nmconnection', null]]), true);
    expect(trail.records.map((r) => r.op)).toEqual(['connection-update']);
    expect(settings.getByUuid(A).fileName).toBe('home.nmconnection');
  });

  it('without load, a rename is no record, and the reload takes the new name up and records nothing', async () => {
    const { settings, trail } = await service();
    await rename(join(dir, 'lan.nmconnection'), join(dir, 'office.nmconnection'));
    await settings.examine(new Map([['lan.nmconnection', null], ['office.nmconnection', null]]), false);
    await writeFile(join(dir, 'office.nmconnection'), text('192.0.2.60/24'), { mode: 0o600 });
    await settings.examine(new Map([['office.nmconnection', null]]), false);
    expect(trail.records.map((r) => [r.op, r.actor?.file])).toEqual([['connection-update', 'office.nmconnection']]);
    expect(settings.getByUuid(A).fileName).toBe('lan.nmconnection');
    await settings.rescan(9);
    expect(trail.records).toHaveLength(1);
    expect(settings.getByUuid(A).fileName).toBe('office.nmconnection');
  });

  it('leaves a profile with unsaved changes alone, even one whose edit was recorded and not loaded', async () => {
    const { settings, trail } = await service();
    await writeFile(join(dir, 'lan.nmconnection'), text('192.0.2.50/24'), { mode: 0o600 });
    await settings.examine(lan(), false);
    const root: CallerRef = { busName: ':1.5', resolve: async () => ({ busName: ':1.5', pid: 77, uid: 0 }) };
    const next = build(ethernet({ connection: { id: s('lan'), uuid: s(A), type: s('802-3-ethernet') } }));
    await settings.update(root, settings.getByUuid(A).number, { sent: {}, decode: () => next }, false);
    await writeFile(join(dir, 'lan.nmconnection'), text('192.0.2.51/24'), { mode: 0o600 });
    await settings.examine(lan(), false);
    await settings.rescan(9);
    expect(trail.records.map((r) => [r.op, r.origin, r.args])).toEqual([['connection-update', 'external', 'file'], ['connection-update', 'caller', 'unsaved']]);
  });

  it('takes the daemon\'s own write for no edit, even over a file whose edit was recorded and not loaded', async () => {
    const { settings, trail } = await service();
    await writeFile(join(dir, 'lan.nmconnection'), text('192.0.2.40/24'), { mode: 0o600 });
    await settings.examine(lan(), false);
    const root: CallerRef = { busName: ':1.5', resolve: async () => ({ busName: ':1.5', pid: 77, uid: 0 }) };
    const conn = settings.getByUuid(A);
    const next = build(ethernet({ connection: { id: s('lan'), uuid: s(A), type: s('802-3-ethernet') } }));
    await settings.update(root, conn.number, { sent: {}, decode: () => next }, true);
    await settings.examine(null, false);
    expect(trail.records.map((r) => [r.op, r.origin])).toEqual([['connection-update', 'external'], ['connection-update', 'caller']]);
  });
});
