// Clients we did not write: busctl (sd-bus) and python3-dbus (libdbus) drive the real daemon on a
// private bus. What they send lands on disk and in the trail with them as the caller, and what they
// read (properties, introspection, settings, error names) is what they expect.
import { existsSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SERVICE, unwrap } from '../helpers/client.js';
import { busctl, python, type RunResult } from '../helpers/exec.js';
import {
  auditLines,
  CONNECTION_IFACE,
  MANAGER,
  MANAGER_IFACE,
  parseAuditLine,
  SETTINGS,
  SETTINGS_IFACE,
} from '../helpers/profiles.js';
import { useDaemon } from '../helpers/use-daemon.js';
import { waitFor } from '../helpers/wait.js';

type TrailRecord = Record<string, unknown>;

const harness = useDaemon();
let busctlExe: string;
let version: string;

beforeAll(async () => {
  busctlExe = await realpath('/usr/bin/busctl');
  ({ version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string });
});

async function ok(args: string[]): Promise<string> {
  const { code, stdout, stderr } = await busctl(harness.bus.address, args);
  expect({ args, code, stderr }).toEqual({ args, code: 0, stderr: '' });
  return stdout;
}

async function lastRecord(): Promise<TrailRecord> {
  return (await harness.daemon.trail()).at(-1)!;
}

async function listConnections(): Promise<string[]> {
  const [paths] = await harness.client.call(SETTINGS, SETTINGS_IFACE, 'ListConnections');
  return paths as string[];
}

async function settingsOf(path: string): Promise<Record<string, Record<string, unknown>>> {
  const [settings] = await harness.client.call(path, CONNECTION_IFACE, 'GetSettings');
  return unwrap(settings) as Record<string, Record<string, unknown>>;
}

describe('busctl', () => {
  // busctl's own syntax for a{sa{sv}}: a count, then per entry the key and its a{sv} (a count,
  // then per entry the key, the variant's signature and its value).
  const ADD = [
    'call', SERVICE, SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}',
    '2', 'connection', '3', 'id', 's', 'lan0', 'type', 's', 'ethernet', 'interface-name', 's', 'eth0',
    'ipv4', '1', 'method', 's', 'disabled',
  ];
  let added: RunResult;
  let recordsBefore: number;
  let path: string;
  let uuid: string;

  beforeAll(async () => {
    recordsBefore = (await harness.daemon.trail()).length;
    // As root: the record must name busctl's pid as the caller's.
    added = await busctl(harness.bus.address, ADD);
    path = /^o "(\/org\/netaudit1\/Settings\/\d+)"\n$/.exec(added.stdout)?.[1] ?? '';
    uuid = path === '' ? '' : ((await settingsOf(path)).connection!.uuid as string);
  });

  it('adds a connection from a dictionary on its command line, recorded with busctl as the caller', async () => {
    expect({ code: added.code, stderr: added.stderr }).toEqual({ code: 0, stderr: '' });
    expect(added.stdout).toMatch(/^o "\/org\/netaudit1\/Settings\/\d+"\n$/);

    const file = join(harness.daemon.profilesDir, 'lan0.nmconnection');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(new RegExp(`^\\[connection\\]\nid=lan0\nuuid=${uuid}\ntype=ethernet\ninterface-name=eth0\n`));
    expect(text).toContain('\n[ipv4]\nmethod=disabled\n');

    const trail = await harness.daemon.trail();
    expect(trail).toHaveLength(recordsBefore + 1);
    const record = trail.at(-1)!;
    expect(record).toMatchObject({
      op: 'connection-add', uuid, name: 'lan0', pid: added.pid, uid: 0, result: 'success',
      actor: { bus_name: expect.stringMatching(/^:1\.\d+$/), exe: busctlExe },
    });
    expect(record.pid).not.toBe(harness.daemon.pid);
    // The log is written off the event loop: the line may follow the reply.
    const line = await waitFor(() => auditLines(harness.daemon.log()).find((l) => l.includes(`uuid="${uuid}"`)), { what: 'the audit line of lan0' });
    expect(parseAuditLine(line)).toEqual([
      ['op', 'connection-add'], ['origin', 'caller'], ['uuid', uuid], ['name', 'lan0'], ['pid', String(added.pid)], ['uid', '0'], ['result', 'success'],
    ]);
  });

  it('reads the settings back as JSON: the alias stored as the type name, the base-type group added', async () => {
    const reply = JSON.parse(await ok(['--json=short', 'call', SERVICE, path, CONNECTION_IFACE, 'GetSettings'])) as { type: string; data: unknown[] };
    expect(reply).toEqual({
      type: 'a{sa{sv}}',
      data: [{
        connection: {
          id: { type: 's', data: 'lan0' },
          uuid: { type: 's', data: uuid },
          type: { type: 's', data: '802-3-ethernet' },
          'interface-name': { type: 's', data: 'eth0' },
        },
        '802-3-ethernet': {},
        ipv4: { method: { type: 's', data: 'disabled' } },
      }],
    });
    expect(await ok(['call', SERVICE, SETTINGS, SETTINGS_IFACE, 'GetConnectionByUuid', 's', uuid])).toBe(`o "${path}"\n`);
  });

  it('gets properties of the Manager, the Settings and a connection', async () => {
    expect(await ok(['get-property', SERVICE, MANAGER, MANAGER_IFACE, 'Version'])).toBe(`s "${version}"\n`);
    expect(await ok(['get-property', SERVICE, MANAGER, MANAGER_IFACE, 'State'])).toBe('u 20\n');
    const listed = (await listConnections()).map((p) => ` "${p}"`).join('');
    expect(listed).toContain(path);
    expect(await ok(['get-property', SERVICE, SETTINGS, SETTINGS_IFACE, 'Connections'])).toBe(`ao ${(await listConnections()).length}${listed}\n`);
    expect(await ok(['get-property', SERVICE, path, CONNECTION_IFACE, 'Filename', 'Unsaved']))
      .toBe(`s "${join(harness.daemon.profilesDir, 'lan0.nmconnection')}"\nb false\n`);
  });

  it('introspects each object into methods, properties and signals with their signatures', async () => {
    const settings = await ok(['introspect', '--no-pager', SERVICE, SETTINGS]);
    const row = (name: string, kind: string, sig: string, result: string, flags = '-') =>
      new RegExp(`^${name.replace(/\./g, '\\.')}\\s+${kind}\\s+${sig.replace(/[{}]/g, '\\$&')}\\s+${result.replace(/[{}"/]/g, '\\$&')}\\s+${flags}\\s*$`, 'm');
    expect(settings).toMatch(row('org.netaudit1.Settings', 'interface', '-', '-'));
    expect(settings).toMatch(row('.AddConnection', 'method', 'a{sa{sv}}', 'o'));
    expect(settings).toMatch(row('.AddConnectionUnsaved', 'method', 'a{sa{sv}}', 'o'));
    expect(settings).toMatch(row('.GetConnectionByUuid', 'method', 's', 'o'));
    expect(settings).toMatch(row('.ListConnections', 'method', '-', 'ao'));
    expect(settings).toMatch(row('.ReloadConnections', 'method', '-', 'b'));
    const listed = await listConnections();
    expect(settings).toMatch(row('.Connections', 'property', 'ao', `${listed.length} ${listed.map((p) => `"${p}"`).join(' ')}`, 'emits-invalidation'));
    expect(settings).toMatch(row('.NewConnection', 'signal', 'o', '-'));
    expect(settings).toMatch(row('.ConnectionRemoved', 'signal', 'o', '-'));
    expect(settings).toMatch(row('org.freedesktop.DBus.Properties', 'interface', '-', '-'));

    const manager = await ok(['introspect', '--no-pager', SERVICE, MANAGER]);
    expect(manager).toMatch(row('.Reload', 'method', 'u', '-'));
    expect(manager).toMatch(row('.SetLogging', 'method', 'ss', '-'));
    expect(manager).toMatch(row('.GetLogging', 'method', '-', 'ss'));
    expect(manager).toMatch(row('.Version', 'property', 's', `"${version}"`, '(emits-change|const|-)'));

    const connection = await ok(['introspect', '--no-pager', SERVICE, path]);
    for (const [name, sig, result] of [['.GetSettings', '-', 'a{sa{sv}}'], ['.GetSecrets', 's', 'a{sa{sv}}'], ['.Update', 'a{sa{sv}}', '-'],
      ['.UpdateUnsaved', 'a{sa{sv}}', '-'], ['.Delete', '-', '-'], ['.ClearSecrets', '-', '-'], ['.Save', '-', '-']] as const) {
      expect(connection).toMatch(row(name, 'method', sig, result));
    }
    expect(connection).toMatch(row('.Unsaved', 'property', 'b', 'false', 'emits-change'));
  });

  it('walks the object tree from / down to the connections', async () => {
    const tree = await ok(['tree', '--no-pager', SERVICE]);
    const paths = tree.split('\n').map((l) => l.replace(/^[\s│├└─]+/, '')).filter(Boolean);
    const [devices] = (await harness.client.call('/org/netaudit1', 'org.netaudit1.Manager', 'GetDevices')) as [string[]];
    const expected = ['/org', '/org/netaudit1', '/org/netaudit1/Devices', ...devices, '/org/netaudit1/Settings', ...(await listConnections())];
    // busctl sorts paths as strings (Devices/10 before Devices/2)
    expect(paths).toEqual(expected.sort());
    expect(paths).toContain(path);
  });

  it('sees a daemon error as a failed call with the daemon\'s message', async () => {
    const { code, stderr } = await busctl(harness.bus.address, ['call', SERVICE, SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}',
      '1', 'connection', '2', 'id', 's', 'lan1', 'type', 's', 'token-ring']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^Call failed: .*connection\.type/);
    expect(await lastRecord()).toMatchObject({ op: 'connection-add', name: 'lan1', result: 'fail', reason: 'invalid-argument', uid: 0 });
    expect(existsSync(join(harness.daemon.profilesDir, 'lan1.nmconnection'))).toBe(false);
  });
});

// Shared by the python3-dbus scripts: proxies built from introspection (as nmcli-era scripts do),
// a profile with every variant type that matters, and a JSON form of dbus-python's values.
const PRELUDE = `
import dbus, json, os, sys
bus = dbus.SystemBus()
settings = dbus.Interface(bus.get_object("${SERVICE}", "${SETTINGS}"), "${SETTINGS_IFACE}")

def connection(path):
    return dbus.Interface(bus.get_object("${SERVICE}", path), "${CONNECTION_IFACE}")

def profile(name, address):
    return dbus.Dictionary({
        "connection": dbus.Dictionary({
            "id": dbus.String(name),
            "type": dbus.String("802-3-ethernet"),
            "interface-name": dbus.String("eth1"),
            "autoconnect": dbus.Boolean(False),
        }, signature="sv"),
        "802-3-ethernet": dbus.Dictionary({
            "mtu": dbus.UInt32(1400),
            "mac-address": dbus.ByteArray(bytes([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01])),
        }, signature="sv"),
        "ipv4": dbus.Dictionary({
            "method": dbus.String("manual"),
            "address-data": dbus.Array([
                dbus.Dictionary({"address": dbus.String(address), "prefix": dbus.UInt32(24)}, signature="sv"),
            ], signature="a{sv}"),
            "gateway": dbus.String("192.0.2.1"),
            "dns-search": dbus.Array([dbus.String("example.test")], signature="s"),
        }, signature="sv"),
    }, signature="sa{sv}")

def plain(v):
    if isinstance(v, dbus.Dictionary):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (dbus.Array, list)):
        if getattr(v, "signature", None) == "y":
            return [int(b) for b in v]
        return [plain(x) for x in v]
    if isinstance(v, dbus.ByteArray):
        return list(bytes(v))
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.Byte, dbus.Int16, dbus.UInt16, dbus.Int32, dbus.UInt32, dbus.Int64, dbus.UInt64)):
        return int(v)
    return str(v)

def report(**fields):
    print(json.dumps(dict(pid=os.getpid(), **fields)))
`;

async function runPython(body: string): Promise<Record<string, unknown>> {
  const { code, stdout, stderr } = await python(harness.bus.address, PRELUDE + body);
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('python3-dbus', () => {
  const expectedIpv4 = (address: string) => ({
    method: 'manual',
    'address-data': [{ address, prefix: 24 }],
    gateway: '192.0.2.1',
    'dns-search': ['example.test'],
  });

  it('adds a profile built from dbus.Dictionary and dbus.Array, address-data as aa{sv}, and reads it back', async () => {
    const out = await runPython(`
path = settings.AddConnection(profile("py-lan", "192.0.2.20"))
report(path=str(path), settings=plain(connection(path).GetSettings()))
`);
    const path = out.path as string;
    expect(path).toMatch(/^\/org\/netaudit1\/Settings\/\d+$/);
    const settings = out.settings as Record<string, Record<string, unknown>>;
    expect(settings.connection).toEqual({ id: 'py-lan', uuid: expect.stringMatching(/^[0-9a-f-]{36}$/), type: '802-3-ethernet', 'interface-name': 'eth1', autoconnect: false });
    expect(settings['802-3-ethernet']).toEqual({ mtu: 1400, 'mac-address': [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01] });
    expect(settings.ipv4).toEqual(expectedIpv4('192.0.2.20'));
    // The same as a dbus-next client reads it.
    expect(await settingsOf(path)).toEqual({ ...settings, '802-3-ethernet': { ...settings['802-3-ethernet'], 'mac-address': Buffer.from([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01]) } });

    const text = await readFile(join(harness.daemon.profilesDir, 'py-lan.nmconnection'), 'utf8');
    expect(text).toContain('address1=192.0.2.20/24\n');
    expect(text).toContain('gateway=192.0.2.1\n');
    expect(text).toContain('mtu=1400\n');
    expect(text).toMatch(/^mac-address=02:00:5E:10:00:01$/im);
    expect(await lastRecord()).toMatchObject({
      op: 'connection-add', name: 'py-lan', uuid: settings.connection!.uuid, pid: out.pid, uid: 0, result: 'success',
      actor: { bus_name: expect.stringMatching(/^:1\.\d+$/), exe: expect.stringMatching(/^\/usr\/bin\/python3(\.\d+)?$/) },
    });
  });

  it('updates a profile by read-modify-write of GetSettings, and the record names exactly the changed keys', async () => {
    const out = await runPython(`
path = settings.AddConnection(profile("py-update", "192.0.2.30"))
conn = connection(path)
current = conn.GetSettings()
current["ipv4"]["address-data"] = dbus.Array([
    dbus.Dictionary({"address": dbus.String("198.51.100.30"), "prefix": dbus.UInt32(25)}, signature="sv"),
], signature="a{sv}")
current["connection"]["autoconnect"] = dbus.Boolean(True)
conn.Update(current)
report(path=str(path), settings=plain(conn.GetSettings()))
`);
    const settings = out.settings as Record<string, Record<string, unknown>>;
    expect(settings.ipv4).toEqual({ ...expectedIpv4('198.51.100.30'), 'address-data': [{ address: '198.51.100.30', prefix: 25 }] });
    expect(settings.connection!.autoconnect).toBe(true);
    const record = await lastRecord();
    expect(record).toMatchObject({ op: 'connection-update', name: 'py-update', uuid: settings.connection!.uuid, pid: out.pid, uid: 0, result: 'success' });
    expect((record.changed as string).split(',').sort()).toEqual(['connection.autoconnect', 'ipv4.address-data']);
    const text = await readFile(join(harness.daemon.profilesDir, 'py-update.nmconnection'), 'utf8');
    expect(text).toContain('address1=198.51.100.30/25\n');
    expect(text).not.toContain('192.0.2.30');
  });

  it('deletes a profile: the file goes, the object goes, the record stays', async () => {
    const out = await runPython(`
path = settings.AddConnection(profile("py-delete", "192.0.2.40"))
uuid = str(connection(path).GetSettings()["connection"]["uuid"])
connection(path).Delete()
report(path=str(path), uuid=uuid, listed=[str(p) for p in settings.ListConnections()])
`);
    expect(out.listed).not.toContain(out.path);
    expect(existsSync(join(harness.daemon.profilesDir, 'py-delete.nmconnection'))).toBe(false);
    expect(await lastRecord()).toMatchObject({ op: 'connection-delete', uuid: out.uuid, name: 'py-delete', pid: out.pid, uid: 0, result: 'success' });
  });

  it('sees the org.netaudit1.Error.* name and message of each refusal', async () => {
    const out = await runPython(`
def error_of(call):
    try:
        call()
        return None
    except dbus.exceptions.DBusException as e:
        return [e.get_dbus_name(), e.get_dbus_message()]

bad = profile("py-bad", "192.0.2.50")
bad["ipv4"]["colour"] = dbus.String("blue")
manager = bus.get_object("${SERVICE}", "${MANAGER}")
report(errors={
    "unknown-property": error_of(lambda: settings.AddConnection(bad)),
    "unknown-uuid": error_of(lambda: settings.GetConnectionByUuid("00000000-0000-4000-8000-000000000000")),
    # No object, so nothing to introspect: a plain proxy.
    "gone": error_of(lambda: dbus.Interface(bus.get_object("${SERVICE}", "${SETTINGS}/999999", introspect=False), "${CONNECTION_IFACE}").GetSettings()),
    "bad-flags": error_of(lambda: dbus.Interface(manager, "${MANAGER_IFACE}").Reload(dbus.UInt32(7))),
    "bad-signature": error_of(lambda: bus.call_blocking("${SERVICE}", "${MANAGER}", "${MANAGER_IFACE}", "Reload", "s", ["1"])),
    "unknown-method": error_of(lambda: bus.call_blocking("${SERVICE}", "${MANAGER}", "${MANAGER_IFACE}", "Explode", "", [])),
})
`);
    const errors = out.errors as Record<string, [string, string]>;
    expect(errors['unknown-property']![0]).toBe('org.netaudit1.Error.InvalidArgument');
    expect(errors['unknown-property']![1]).toMatch(/ipv4.*colour|colour.*ipv4/);
    expect(errors['unknown-uuid']).toEqual(['org.netaudit1.Error.UnknownConnection', 'No connection has the uuid "00000000-0000-4000-8000-000000000000".']);
    expect(errors.gone![0]).toBe('org.netaudit1.Error.UnknownConnection');
    expect(errors['bad-flags']).toEqual(['org.netaudit1.Error.InvalidArgument', expect.stringContaining('Reload flags 7 are not known')]);
    expect(errors['bad-signature']).toEqual(['org.netaudit1.Error.InvalidArgument', 'Reload takes arguments of signature "u", not "s".']);
    expect(errors['unknown-method']).toEqual(['org.netaudit1.Error.UnknownMethod', 'org.netaudit1.Manager has no method "Explode".']);
    for (const [, text] of Object.values(errors)) expect(text).not.toMatch(/\n\s+at /);
    expect(existsSync(join(harness.daemon.profilesDir, 'py-bad.nmconnection'))).toBe(false);
    // The malformed Reload is an attempted change too: recorded as failed.
    expect(await lastRecord()).toMatchObject({ op: 'reload', result: 'fail', reason: 'invalid-argument', pid: out.pid, uid: 0 });
  });
});
