// Profile files edited, added or removed on disk become records, once each (docs/profile-edits.md),
// here with the watch off: at ReloadConnections, Reload and SIGHUP against the daemon's view, with the reload's tx; at start
// against what the trail last recorded, with cause=while-stopped; and a profile the trail has never
// seen gets one connection-snapshot. A secret edited on disk is named, its value nowhere.
import { randomBytes } from 'node:crypto';
import { readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { activate, addProfile, profile } from '../helpers/activation.js';
import { deviceOnBus } from '../helpers/devices.js';
import { run } from '../helpers/exec.js';
import { FILE_EDIT, handWritten, randomUuid, reloadConnections } from '../helpers/profile-files.js';
import { ip } from '../helpers/netns.js';
import { ethernet, MANAGER, MANAGER_IFACE, SETTINGS, SETTINGS_IFACE, wifi } from '../helpers/profiles.js';
import { ensureJournald } from '../helpers/system-services.js';
import { useDaemon } from '../helpers/use-daemon.js';
import { waitFor } from '../helpers/wait.js';
import type { DaemonHarness } from '../helpers/use-daemon.js';

type Record_ = Record<string, unknown>;

/** Runs `fn` and returns the trail records it added. */
async function recordsOf(harness: DaemonHarness, fn: () => Promise<unknown>): Promise<Record_[]> {
  const before = (await harness.daemon.trail()).length;
  await fn();
  return (await harness.daemon.trail()).slice(before);
}

describe('at a reload', () => {
  // Not watched: what is asserted here is what the reload finds (profile-watch.test.ts has the watch).
  const harness = useDaemon({ config: { audit: { backends: 'journal,log,file', watch: 'links,addresses,routes,rules' } } });

  it('an address changed in a file is one connection-update with its before and after and the reload\'s tx', async () => {
    await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('edited')]);
    const file = join(harness.daemon.profilesDir, 'edited.nmconnection');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('address1=192.0.2.10/24', 'address1=192.0.2.20/24'), { mode: 0o600 });
    const records = await recordsOf(harness, () => reloadConnections(harness));
    expect(records).toHaveLength(2);
    const [reload, edit] = records as [Record_, Record_];
    expect(reload).toMatchObject({ op: 'reload', origin: 'caller', args: 'connections', result: 'success', tx: expect.any(Number) });
    expect(edit).toEqual(expect.objectContaining({
      ...FILE_EDIT,
      op: 'connection-update',
      name: 'edited',
      changed: 'ipv4.address-data',
      before: { ipv4: { address1: '192.0.2.10/24' } },
      after: { ipv4: { address1: '192.0.2.20/24' } },
      actor: { attribution: 'none', file: 'edited.nmconnection' },
      tx: reload.tx,
    }));
    expect(edit).not.toHaveProperty('pid');
    expect(edit).not.toHaveProperty('cause');
  });

  it('a file added by hand is one connection-add with the whole profile', async () => {
    const id = randomUuid();
    await writeFile(join(harness.daemon.profilesDir, 'by-hand.nmconnection'), handWritten('by-hand', id), { mode: 0o600 });
    const records = await recordsOf(harness, () => reloadConnections(harness));
    expect(records.map((r) => r.op)).toEqual(['reload', 'connection-add']);
    expect(records[1]).toEqual(expect.objectContaining({
      ...FILE_EDIT,
      uuid: id,
      name: 'by-hand',
      after: expect.objectContaining({ connection: expect.objectContaining({ id: 'by-hand', uuid: id }), ipv4: expect.objectContaining({ address1: '192.0.2.10/24' }) }),
      actor: { attribution: 'none', file: 'by-hand.nmconnection' },
      tx: records[0]!.tx,
    }));
    expect(records[1]).not.toHaveProperty('before');
  });

  it('a file removed is one connection-delete with the whole profile before, and a reload with no change adds no record', async () => {
    const id = randomUuid();
    const file = join(harness.daemon.profilesDir, 'short-lived.nmconnection');
    await writeFile(file, handWritten('short-lived', id), { mode: 0o600 });
    await reloadConnections(harness);
    await unlink(file);
    const records = await recordsOf(harness, () => harness.client.call(MANAGER, MANAGER_IFACE, 'Reload', 'u', [2]));
    expect(records.map((r) => r.op)).toEqual(['reload', 'connection-delete']);
    expect(records[1]).toEqual(expect.objectContaining({
      ...FILE_EDIT,
      uuid: id,
      name: 'short-lived',
      before: expect.objectContaining({ connection: expect.objectContaining({ uuid: id }) }),
      actor: { attribution: 'none', file: 'short-lived.nmconnection' },
      tx: records[0]!.tx,
    }));
    expect(await harness.client.call(SETTINGS, SETTINGS_IFACE, 'GetConnectionByUuid', 's', [id]).catch((e: { type: string }) => e.type))
      .toBe('org.netaudit1.Error.UnknownConnection');

    const again = await recordsOf(harness, async () => {
      await reloadConnections(harness);
      await harness.client.call(MANAGER, MANAGER_IFACE, 'Reload', 'u', [0]);
    });
    expect(again.map((r) => [r.op, r.args])).toEqual([['reload', 'connections'], ['reload', 'all']]);
  });

  it('a removed file whose profile was active ends its connection with a daemon record carrying the reload\'s tx', async () => {
    const ns = harness.daemon.netns;
    await ip('-n', ns, 'link', 'add', 'pe0', 'type', 'veth', 'peer', 'name', 'pe0p');
    await ip('-n', ns, 'link', 'set', 'pe0p', 'up');
    await deviceOnBus(harness.client, ns, 'pe0');
    const conn = await addProfile(harness.client, profile('active-gone', '802-3-ethernet', { ifname: 'pe0' }));
    await activate(harness.client, conn);
    await unlink(join(harness.daemon.profilesDir, 'active-gone.nmconnection'));
    const before = (await harness.daemon.trail()).length;
    await reloadConnections(harness);
    const records = await waitFor(async () => {
      const r = (await harness.daemon.trail()).slice(before);
      return r.some((x) => x.op === 'connection-deactivate') ? r : undefined;
    }, { what: 'the teardown record' });
    expect(records.map((r) => [r.op, r.origin])).toEqual([['reload', 'caller'], ['connection-delete', 'external'], ['connection-deactivate', 'daemon']]);
    expect(records[2]).toMatchObject({ name: 'active-gone', cause: 'connection-removed', result: 'success', tx: records[0]!.tx });
    expect(records[1]!.tx).toBe(records[0]!.tx);
  });

  it('SIGHUP records an edit with the tx of its reload', async () => {
    const id = randomUuid();
    const file = join(harness.daemon.profilesDir, 'hup.nmconnection');
    await writeFile(file, handWritten('hup', id), { mode: 0o600 });
    await reloadConnections(harness);
    await writeFile(file, handWritten('hup', id, '198.51.100.7/24'), { mode: 0o600 });
    const before = (await harness.daemon.trail()).length;
    harness.daemon.signal('SIGHUP');
    const records = await waitFor(async () => {
      const r = (await harness.daemon.trail()).slice(before);
      return r.length >= 2 ? r : undefined;
    }, { what: 'the records of the SIGHUP reload' });
    expect(records.map((r) => [r.op, r.args])).toEqual([['reload', 'sighup'], ['connection-update', 'file']]);
    expect(records[1]).toMatchObject({ uuid: id, after: { ipv4: { address1: '198.51.100.7/24' } }, tx: records[0]!.tx });
  });

  it('a secret changed in a file is named in changed, and its value is in no backend', async () => {
    await ensureJournald();
    const since = `@${Math.floor(Date.now() / 1000) - 1}`;
    const oldSecret = `old-${randomBytes(6).toString('hex')}`;
    const newSecret = `new-${randomBytes(6).toString('hex')}`;
    await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [wifi('office wifi', oldSecret)]);
    const file = join(harness.daemon.profilesDir, 'office wifi.nmconnection');
    const text = await readFile(file, 'utf8');
    expect(text).toContain(`psk=${oldSecret}`);
    await writeFile(file, text.replace(`psk=${oldSecret}`, `psk=${newSecret}`), { mode: 0o600 });
    const records = await recordsOf(harness, () => reloadConnections(harness));
    expect(records.map((r) => r.op)).toEqual(['reload', 'connection-update']);
    expect(records[1]).toMatchObject({ ...FILE_EDIT, name: 'office wifi', changed: '802-11-wireless-security.psk', actor: { file: 'office wifi.nmconnection' } });
    expect(records[1]).not.toHaveProperty('before');
    expect(records[1]).not.toHaveProperty('after');

    const boot = records[1]!.boot as string;
    const entries = await waitFor(async () => {
      const { stdout } = await run('journalctl', ['--no-pager', '-o', 'json', '--all', '--since', since, `NETAUDIT_BOOT=${boot}`, 'NETAUDIT_ARGS=file']);
      return stdout.includes('802-11-wireless-security.psk') ? stdout : undefined;
    }, { what: 'the journal entry of the edit', timeoutMs: 15_000 });
    const trailText = (await run('sh', ['-c', `cat ${JSON.stringify(harness.daemon.auditDir)}/*.jsonl`])).stdout;
    for (const where of [trailText, entries, harness.daemon.log()]) {
      expect(where).toContain('802-11-wireless-security.psk');
      expect(where).not.toContain(newSecret);
      expect(where).not.toContain(oldSecret);
    }
  });
});

describe('at start', () => {
  const harness = useDaemon({ config: { audit: { watch: 'links,addresses,routes,rules' } } });

  it('a fresh trail with profile files gets one connection-snapshot each, and the next start none', async () => {
    await harness.daemon.stop();
    await rm(harness.daemon.auditDir, { recursive: true, force: true });
    const ids = [randomUuid(), randomUuid()];
    await writeFile(join(harness.daemon.profilesDir, 'old-one.nmconnection'), handWritten('old-one', ids[0]!), { mode: 0o600 });
    await writeFile(join(harness.daemon.profilesDir, 'old-two.nmconnection'), handWritten('old-two', ids[1]!, '192.0.2.11/24'), { mode: 0o600 });
    await harness.daemon.start();
    const trail = await harness.daemon.trail();
    const snapshots = trail.filter((r) => r.op === 'connection-snapshot');
    expect(snapshots).toHaveLength(2);
    expect(snapshots.map((r) => r.uuid).sort()).toEqual([...ids].sort());
    for (const r of snapshots) {
      expect(r).toMatchObject({ origin: 'daemon', result: 'success', after: expect.objectContaining({ connection: expect.objectContaining({ uuid: r.uuid }) }) });
      expect(r).not.toHaveProperty('cause');
      expect(r).not.toHaveProperty('pid');
    }
    expect(snapshots.find((r) => r.uuid === ids[1])).toMatchObject({ name: 'old-two', actor: { file: 'old-two.nmconnection' }, after: { ipv4: { address1: '192.0.2.11/24' } } });

    await harness.daemon.stop();
    await harness.daemon.start();
    expect((await harness.daemon.trail()).filter((r) => String(r.op).startsWith('connection-'))).toHaveLength(2);
  });

  it('files edited, added and removed while the daemon was stopped are one record each with cause=while-stopped', async () => {
    const [edited] = await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('stopped-edit')]);
    expect(edited).toBeTruthy();
    const gone = randomUuid();
    await writeFile(join(harness.daemon.profilesDir, 'stopped-gone.nmconnection'), handWritten('stopped-gone', gone), { mode: 0o600 });
    await reloadConnections(harness);
    await harness.daemon.stop();

    const editedFile = join(harness.daemon.profilesDir, 'stopped-edit.nmconnection');
    await writeFile(editedFile, (await readFile(editedFile, 'utf8')).replace('address1=192.0.2.10/24', 'address1=192.0.2.30/24'), { mode: 0o600 });
    await unlink(join(harness.daemon.profilesDir, 'stopped-gone.nmconnection'));
    const added = randomUuid();
    await writeFile(join(harness.daemon.profilesDir, 'stopped-new.nmconnection'), handWritten('stopped-new', added), { mode: 0o600 });

    const records = await recordsOf(harness, () => harness.daemon.start());
    const edits = records.filter((r) => r.args === 'file');
    expect(edits.map((r) => [r.op, r.name]).sort()).toEqual([
      ['connection-add', 'stopped-new'], ['connection-delete', 'stopped-gone'], ['connection-update', 'stopped-edit'],
    ]);
    expect(records).toHaveLength(3);
    for (const r of edits) {
      expect(r).toMatchObject({ ...FILE_EDIT, cause: 'while-stopped', actor: { attribution: 'none' } });
      expect(r).not.toHaveProperty('tx');
    }
    expect(edits.find((r) => r.op === 'connection-update')).toMatchObject({
      changed: 'ipv4.address-data',
      before: { ipv4: { address1: '192.0.2.10/24' } },
      after: { ipv4: { address1: '192.0.2.30/24' } },
      actor: { file: 'stopped-edit.nmconnection' },
    });
    expect(edits.find((r) => r.op === 'connection-add')).toMatchObject({ uuid: added, actor: { file: 'stopped-new.nmconnection' } });
    expect(edits.find((r) => r.op === 'connection-delete')).toMatchObject({ uuid: gone, actor: { file: 'stopped-gone.nmconnection' }, before: expect.objectContaining({ connection: expect.objectContaining({ uuid: gone }) }) });

    // Nothing changed since: the next start records nothing.
    await harness.daemon.stop();
    expect(await recordsOf(harness, () => harness.daemon.start())).toEqual([]);
  });
});
