// Connection profiles through the real daemon on a private bus: every change lands on disk,
// in the trail and in the log, with the caller the bus knows.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unwrap, variant } from '../helpers/client.js';
import {
  CONNECTION_IFACE,
  ethernet,
  MANAGER,
  MANAGER_IFACE,
  parseAuditLine,
  SETTINGS,
  SETTINGS_IFACE,
  wifi,
} from '../helpers/profiles.js';
import { useDaemon } from '../helpers/use-daemon.js';
import { waitFor } from '../helpers/wait.js';

const harness = useDaemon();

async function add(dict: Record<string, Record<string, unknown>>, method = 'AddConnection'): Promise<string> {
  const [path] = await harness.client.call(SETTINGS, SETTINGS_IFACE, method, 'a{sa{sv}}', [dict]);
  return path as string;
}

async function lastRecord(): Promise<Record<string, unknown>> {
  const trail = await harness.daemon.trail();
  return trail[trail.length - 1]!;
}

describe('AddConnection', () => {
  it('writes a 0600 keyfile, one trail record and one log line naming the caller', async () => {
    const before = (await harness.daemon.trail()).length;
    const path = await add(ethernet('office lan'));
    expect(path).toMatch(/^\/org\/netaudit1\/Settings\/\d+$/);

    const file = join(harness.daemon.profilesDir, 'office lan.nmconnection');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^\[connection\]\nid=office lan\nuuid=[0-9a-f-]{36}\ntype=ethernet\ninterface-name=eth0\n/);
    expect(text).toContain('[ipv4]\n');
    expect(text).toContain('address1=192.0.2.10/24\n');
    expect(text).toContain('gateway=192.0.2.1\n');

    const trail = await harness.daemon.trail();
    expect(trail).toHaveLength(before + 1);
    const settings = unwrap((await harness.client.call(path, CONNECTION_IFACE, 'GetSettings'))[0]) as Record<string, Record<string, unknown>>;
    const uuid = settings.connection!.uuid as string;
    const record = trail[before]!;
    expect(record).toMatchObject({
      op: 'connection-add',
      uuid,
      name: 'office lan',
      pid: process.pid,
      uid: 0,
      result: 'success',
      actor: { bus_name: harness.client.uniqueName, exe: process.execPath },
    });
    expect(record).not.toHaveProperty('reason');

    const line = await harness.daemon.waitForLog(new RegExp(`audit: op="connection-add" origin="caller" uuid="${uuid}"`));
    expect(line).toMatch(/^<info> {2}\[\d+\.\d{4}\] audit: /);
    expect(parseAuditLine(line.slice(line.indexOf('op=')))).toEqual([
      ['op', 'connection-add'],
      ['origin', 'caller'],
      ['uuid', uuid],
      ['name', 'office lan'],
      ['pid', String(process.pid)],
      ['uid', '0'],
      ['result', 'success'],
    ]);
  });

  it('announces the new connection with NewConnection and in the Connections property', async () => {
    const seen: string[] = [];
    const off = await harness.client.onSignal(SETTINGS, SETTINGS_IFACE, 'NewConnection', (body) => seen.push(body[0] as string));
    const path = await add(ethernet('signalled'));
    await waitFor(() => seen.includes(path), { what: 'NewConnection' });
    await off();
    expect(await harness.client.getProperty(SETTINGS, SETTINGS_IFACE, 'Connections')).toContain(path);
    const [listed] = await harness.client.call(SETTINGS, SETTINGS_IFACE, 'ListConnections');
    expect(listed).toContain(path);
    const uuid = (unwrap((await harness.client.call(path, CONNECTION_IFACE, 'GetSettings'))[0]) as { connection: { uuid: string } }).connection.uuid;
    expect(await harness.client.call(SETTINGS, SETTINGS_IFACE, 'GetConnectionByUuid', 's', [uuid])).toEqual([path]);
  });

  it('keeps a caller-chosen uuid and accepts the ethernet alias as type', async () => {
    const uuid = '0b5e1d7a-6c5f-4a4e-9a1c-3e2f1d0c9b8a';
    const path = await add(ethernet('aliased', { connection: { uuid: variant('s', uuid), type: variant('s', 'ethernet') } }));
    const s = unwrap((await harness.client.call(path, CONNECTION_IFACE, 'GetSettings'))[0]) as Record<string, Record<string, unknown>>;
    expect(s.connection).toMatchObject({ uuid, type: '802-3-ethernet', id: 'aliased' });
    expect(s).toHaveProperty('802-3-ethernet');
  });

  it('refuses a duplicate uuid with UuidExists and records the attempt with the uuid sent', async () => {
    const uuid = '1b5e1d7a-6c5f-4a4e-9a1c-3e2f1d0c9b8a';
    await add(ethernet('first', { connection: { uuid: variant('s', uuid) } }));
    const err = await add(ethernet('second', { connection: { uuid: variant('s', uuid) } })).catch((e: { type: string; text: string }) => e);
    expect(err).toMatchObject({ type: 'org.netaudit1.Error.UuidExists' });
    expect(await lastRecord()).toMatchObject({ op: 'connection-add', uuid, name: 'second', result: 'fail', reason: 'uuid-exists' });
    expect(await readdir(harness.daemon.profilesDir)).not.toContain('second.nmconnection');
  });

  it('gives two profiles with the same id distinct files', async () => {
    await add(ethernet('twin'));
    await add(ethernet('twin'));
    const names = (await readdir(harness.daemon.profilesDir)).filter((n) => n.startsWith('twin'));
    expect(names).toHaveLength(2);
    expect(names).toContain('twin.nmconnection');
    expect(names.find((n) => n !== 'twin.nmconnection')).toMatch(/^twin-[0-9a-f-]{36}\.nmconnection$/);
  });
});

describe('Update', () => {
  it('rewrites the file and records exactly the changed keys', async () => {
    const path = await add(ethernet('to-update'));
    const current = (await harness.client.call(path, CONNECTION_IFACE, 'GetSettings'))[0] as Record<string, Record<string, unknown>>;
    const next = {
      ...current,
      ipv4: {
        ...current.ipv4,
        'address-data': variant('aa{sv}', [{ address: variant('s', '198.51.100.7'), prefix: variant('u', 25) }]),
      },
    };
    const updated: string[] = [];
    const off = await harness.client.onSignal(path, CONNECTION_IFACE, 'Updated', () => updated.push('x'));
    await harness.client.call(path, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [next]);
    expect(await lastRecord()).toMatchObject({ op: 'connection-update', name: 'to-update', changed: 'ipv4.address-data', result: 'success', uid: 0 });
    expect(await readFile(join(harness.daemon.profilesDir, 'to-update.nmconnection'), 'utf8')).toContain('address1=198.51.100.7/25\n');
    await waitFor(() => updated.length === 1, { what: 'Updated' });
    await off();
  });

  it('renames the file atomically when the id changes and says so in Filename', async () => {
    const path = await add(ethernet('old-name'));
    const current = (await harness.client.call(path, CONNECTION_IFACE, 'GetSettings'))[0] as Record<string, Record<string, unknown>>;
    await harness.client.call(path, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [
      { ...current, connection: { ...current.connection, id: variant('s', 'new-name') } },
    ]);
    const files = await readdir(harness.daemon.profilesDir);
    expect(files).toContain('new-name.nmconnection');
    expect(files).not.toContain('old-name.nmconnection');
    expect(await harness.client.getProperty(path, CONNECTION_IFACE, 'Filename')).toBe(join(harness.daemon.profilesDir, 'new-name.nmconnection'));
    expect(await lastRecord()).toMatchObject({ op: 'connection-update', name: 'new-name', changed: 'connection.id' });
  });
});

describe('secrets', () => {
  const psk = 'canary-PSK#with;odd=chars "x"';

  it('stores a wifi psk only in the 0600 file and never returns it from GetSettings', async () => {
    const path = await add(wifi('corp wifi', psk));
    const s = unwrap((await harness.client.call(path, CONNECTION_IFACE, 'GetSettings'))[0]) as Record<string, Record<string, unknown>>;
    expect(s['802-11-wireless-security']).toEqual({ 'key-mgmt': 'wpa-psk' });
    const file = await readFile(join(harness.daemon.profilesDir, 'corp wifi.nmconnection'), 'utf8');
    expect(file).toContain('[wifi-security]\n');
    expect(file).toContain('psk=canary-PSK#with;odd=chars "x"\n');
    expect(JSON.stringify(await harness.daemon.trail())).not.toContain('canary-PSK');
    expect(harness.daemon.log()).not.toContain('canary-PSK');
  });

  it('returns secrets to root through GetSecrets, audited', async () => {
    const path = await add(wifi('secret wifi', psk));
    const [secrets] = await harness.client.call(path, CONNECTION_IFACE, 'GetSecrets', 's', ['802-11-wireless-security']);
    expect(unwrap(secrets)).toEqual({ '802-11-wireless-security': { psk } });
    expect(await lastRecord()).toMatchObject({ op: 'connection-get-secrets', name: 'secret wifi', args: '802-11-wireless-security', result: 'success' });
  });

  it('keeps the stored psk across an Update that carries no secret, and ClearSecrets removes it', async () => {
    const path = await add(wifi('kept wifi', psk));
    const current = (await harness.client.call(path, CONNECTION_IFACE, 'GetSettings'))[0] as Record<string, Record<string, unknown>>;
    await harness.client.call(path, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [
      { ...current, '802-11-wireless': { ...current['802-11-wireless'], hidden: variant('b', true) } },
    ]);
    const file = join(harness.daemon.profilesDir, 'kept wifi.nmconnection');
    expect(await readFile(file, 'utf8')).toContain('psk=canary-PSK');
    expect(await lastRecord()).toMatchObject({ changed: '802-11-wireless.hidden' });

    await harness.client.call(path, CONNECTION_IFACE, 'ClearSecrets');
    expect(await readFile(file, 'utf8')).not.toContain('psk=');
    expect(await lastRecord()).toMatchObject({ op: 'connection-clear-secrets', changed: '802-11-wireless-security.psk', result: 'success' });
    const [secrets] = await harness.client.call(path, CONNECTION_IFACE, 'GetSecrets', 's', ['802-11-wireless-security']);
    expect(unwrap(secrets)).toEqual({});
  });
});

describe('unsaved profiles', () => {
  it('live in memory until Save writes them', async () => {
    const path = await add(ethernet('in-memory'), 'AddConnectionUnsaved');
    expect(await readdir(harness.daemon.profilesDir)).not.toContain('in-memory.nmconnection');
    expect(await harness.client.getProperty(path, CONNECTION_IFACE, 'Unsaved')).toBe(true);
    expect(await harness.client.getProperty(path, CONNECTION_IFACE, 'Filename')).toBe('');
    expect(await lastRecord()).toMatchObject({ op: 'connection-add', name: 'in-memory', args: 'unsaved', result: 'success' });

    await harness.client.call(path, CONNECTION_IFACE, 'Save');
    expect(await readdir(harness.daemon.profilesDir)).toContain('in-memory.nmconnection');
    expect(await harness.client.getProperty(path, CONNECTION_IFACE, 'Unsaved')).toBe(false);
    expect(await lastRecord()).toMatchObject({ op: 'connection-update', args: 'save', result: 'success' });
  });

  it('UpdateUnsaved leaves the file as it was', async () => {
    const path = await add(ethernet('disk-copy'));
    const file = join(harness.daemon.profilesDir, 'disk-copy.nmconnection');
    const before = await readFile(file, 'utf8');
    const current = (await harness.client.call(path, CONNECTION_IFACE, 'GetSettings'))[0] as Record<string, Record<string, unknown>>;
    await harness.client.call(path, CONNECTION_IFACE, 'UpdateUnsaved', 'a{sa{sv}}', [
      { ...current, connection: { ...current.connection, autoconnect: variant('b', false) } },
    ]);
    expect(await readFile(file, 'utf8')).toBe(before);
    expect(await harness.client.getProperty(path, CONNECTION_IFACE, 'Unsaved')).toBe(true);
    expect(await lastRecord()).toMatchObject({ op: 'connection-update', args: 'unsaved', changed: 'connection.autoconnect' });
  });
});

describe('Delete', () => {
  it('removes the file, signals Removed and records it', async () => {
    const path = await add(ethernet('doomed'));
    const removed: string[] = [];
    const off = await harness.client.onSignal(SETTINGS, SETTINGS_IFACE, 'ConnectionRemoved', (body) => removed.push(body[0] as string));
    await harness.client.call(path, CONNECTION_IFACE, 'Delete');
    expect(await readdir(harness.daemon.profilesDir)).not.toContain('doomed.nmconnection');
    expect(await lastRecord()).toMatchObject({ op: 'connection-delete', name: 'doomed', result: 'success' });
    await waitFor(() => removed.includes(path), { what: 'ConnectionRemoved' });
    await off();
    const err = await harness.client.call(path, CONNECTION_IFACE, 'GetSettings').catch((e: { type: string }) => e);
    expect(err).toMatchObject({ type: 'org.netaudit1.Error.UnknownConnection' });
  });

  it('on an object that does not exist is UnknownConnection and a failed record', async () => {
    const err = await harness.client.call(`${SETTINGS}/999999`, CONNECTION_IFACE, 'Delete').catch((e: { type: string; text: string }) => e);
    expect(err).toMatchObject({ type: 'org.netaudit1.Error.UnknownConnection' });
    expect(await lastRecord()).toMatchObject({ op: 'connection-delete', result: 'fail', reason: 'unknown-connection', uid: 0 });
  });
});

describe('ReloadConnections', () => {
  it('picks up a profile written by hand, and a broken file is named with its line and skipped', async () => {
    const uuid = '2b5e1d7a-6c5f-4a4e-9a1c-3e2f1d0c9b8a';
    await writeFile(
      join(harness.daemon.profilesDir, 'by-hand.nmconnection'),
      `[connection]\nid=by-hand\nuuid=${uuid}\ntype=ethernet\n\n[ipv4]\nmethod=disabled\n\n[x-vendor]\nkeep-me=yes\n`,
      { mode: 0o600 },
    );
    await writeFile(join(harness.daemon.profilesDir, 'broken.nmconnection'), '[connection]\nid=broken\nthis line is not a key\n', { mode: 0o600 });
    const before = (await harness.daemon.trail()).length;
    expect(await harness.client.call(SETTINGS, SETTINGS_IFACE, 'ReloadConnections')).toEqual([true]);
    // The reload, then the file it found (docs/profile-edits.md); the broken one is no record.
    expect((await harness.daemon.trail()).slice(before)).toMatchObject([
      { op: 'reload', args: 'connections', result: 'success' },
      { op: 'connection-add', origin: 'external', args: 'file', uuid, name: 'by-hand', result: 'success', actor: { attribution: 'none', file: 'by-hand.nmconnection' } },
    ]);
    const [path] = await harness.client.call(SETTINGS, SETTINGS_IFACE, 'GetConnectionByUuid', 's', [uuid]);
    await harness.daemon.waitForLog(/broken\.nmconnection:3/);

    // A rewrite keeps the keys we do not know.
    const current = (await harness.client.call(path as string, CONNECTION_IFACE, 'GetSettings'))[0] as Record<string, Record<string, unknown>>;
    await harness.client.call(path as string, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [
      { ...current, connection: { ...current.connection, 'autoconnect-priority': variant('i', 7) } },
    ]);
    const text = await readFile(join(harness.daemon.profilesDir, 'by-hand.nmconnection'), 'utf8');
    expect(text).toContain('autoconnect-priority=7');
    expect(text).toContain('[x-vendor]\nkeep-me=yes\n');
  });
});

describe('the Manager', () => {
  it('answers Version, State and GetLogging to anyone', async () => {
    expect(await harness.client.getProperty(MANAGER, MANAGER_IFACE, 'Version')).toMatch(/^\d+\.\d+\.\d+/);
    expect(await harness.client.getProperty(MANAGER, MANAGER_IFACE, 'State')).toBe(20);
    expect(await harness.client.call(MANAGER, MANAGER_IFACE, 'GetLogging')).toEqual(['INFO', 'ALL']);
  });

  it('shows the audit switch and each backend with what it failed or dropped', async () => {
    expect(await harness.client.getProperty(MANAGER, MANAGER_IFACE, 'AuditEnabled')).toBe(true);
    expect(await harness.client.getProperty(MANAGER, MANAGER_IFACE, 'AuditBackends')).toEqual({
      log: { failing: false, failed: 0n, dropped: 0n, queued: 0 },
      file: { failing: false, failed: 0n, dropped: 0n, queued: 0 },
    });
  });

  it('introspects its objects, with the connections as child nodes', async () => {
    const [xml] = (await harness.client.call(SETTINGS, 'org.freedesktop.DBus.Introspectable', 'Introspect')) as [string];
    expect(xml).toContain('<interface name="org.netaudit1.Settings">');
    expect(xml).toMatch(/<method name="AddConnection"><arg name="connection" type="a\{sa\{sv\}\}" direction="in"\/>/);
    expect(xml).toMatch(/<node name="\d+"\/>/);
    const [root] = (await harness.client.call('/', 'org.freedesktop.DBus.Introspectable', 'Introspect')) as [string];
    expect(root).toContain('<node name="org"/>');
  });
});
