// A committed profile change whose file cannot be moved into place (docs/commit.md): a directory in
// the way of the profile's file. The change stands (its record is committed, the daemon's view is
// the record's), the move is retried until it lands, a later change of the same profile supersedes
// it, and neither a retry nor a restart ever puts an older content over a newer one.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unwrap, variant } from '../helpers/client.js';
import { CONNECTION_IFACE, ethernet, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { useDaemon } from '../helpers/use-daemon.js';
import { waitFor } from '../helpers/wait.js';

const harness = useDaemon();

const withMtu = (id: string, mtu: number) => ethernet(id, { connection: { autoconnect: variant('b', false) }, '802-3-ethernet': { mtu: variant('u', mtu) } });

async function mtuOnDisk(file: string): Promise<string | null> {
  const text = await readFile(file, 'utf8').catch(() => null);
  return text === null ? null : (/^mtu=(\d+)$/m.exec(text)?.[1] ?? 'none');
}

async function mtuOnBus(path: string): Promise<number> {
  const [settings] = await harness.client.call(path, CONNECTION_IFACE, 'GetSettings');
  return (unwrap(settings) as { '802-3-ethernet': { mtu: number } })['802-3-ethernet'].mtu;
}

async function lastMtuRecorded(uuid: string): Promise<string | undefined> {
  const records = (await harness.daemon.trail()).filter((r) => r.uuid === uuid && r.result === 'success' && (r.op === 'connection-add' || r.op === 'connection-update'));
  const last = records.at(-1) as { after?: Record<string, Record<string, string>> } | undefined;
  return last?.after?.ethernet?.mtu ?? last?.after?.['802-3-ethernet']?.mtu;
}

describe('a directory in the way of a profile file', () => {
  it('an acknowledged add lands once the way is clear, without a restart', async () => {
    const file = join(harness.daemon.profilesDir, 'in-the-way.nmconnection');
    await mkdir(file);
    const [path] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [withMtu('in-the-way', 1300)])) as [string];
    expect(await mtuOnBus(path)).toBe(1300);
    await harness.daemon.waitForLog(/is committed but could not be applied on disk/);
    await rm(file, { recursive: true });
    await waitFor(async () => (await mtuOnDisk(file)) === '1300', { timeoutMs: 10_000, what: 'the retried move' });
    await harness.daemon.waitForLog(/is now on disk/);
  });

  it('a later update supersedes the change that could not land; a restart keeps the newer one', async () => {
    const file = join(harness.daemon.profilesDir, 'superseded.nmconnection');
    await mkdir(file);
    const [path] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [withMtu('superseded', 1111)])) as [string];
    const [settings] = await harness.client.call(path, CONNECTION_IFACE, 'GetSettings');
    const uuid = (unwrap(settings) as { connection: { uuid: string } }).connection.uuid;
    await harness.client.call(path, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [withMtu('superseded', 2222)]);
    expect(await mtuOnBus(path)).toBe(2222);
    // Both are committed and neither is on disk; the daemon stops before any retry could land.
    await harness.daemon.kill('SIGKILL');
    await rm(file, { recursive: true });
    await harness.daemon.start();
    expect(await mtuOnDisk(file)).toBe('2222');
    expect(await lastMtuRecorded(uuid)).toBe('2222');
    // The killed run's write-ahead segment was replayed and removed: only the new run's own is left.
    const left = (await readdir(harness.daemon.profilesDir)).filter((n) => n.startsWith('.netauditd-'));
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^\.netauditd-wal-[0-9a-f]+-1$/);
  });

  it('an add that could not land, then an update that did: the retry never writes the older content back, nor does a restart', async () => {
    const file = join(harness.daemon.profilesDir, 'raced.nmconnection');
    await mkdir(file);
    const [path] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [withMtu('raced', 1111)])) as [string];
    const [settings] = await harness.client.call(path, CONNECTION_IFACE, 'GetSettings');
    const uuid = (unwrap(settings) as { connection: { uuid: string } }).connection.uuid;
    await rm(file, { recursive: true });
    await harness.client.call(path, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [withMtu('raced', 2222)]);
    expect(await mtuOnDisk(file)).toBe('2222');
    // The update superseded the older change: no retry moves it in, and no temp file is left.
    const temps = async () => (await readdir(harness.daemon.profilesDir)).filter((n) => n.endsWith('.tmp'));
    await waitFor(async () => (await temps()).length === 0, { timeoutMs: 5_000, what: 'no temp file left' });
    expect(await mtuOnDisk(file)).toBe('2222');
    await harness.daemon.stop();
    await harness.daemon.start();
    expect(await mtuOnDisk(file)).toBe('2222');
    expect(await lastMtuRecorded(uuid)).toBe('2222');
  });
});
