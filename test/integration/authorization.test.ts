// Authorization through the real daemon: a non-root caller (nauser) is refused every change and
// GetSecrets before its content or the state is looked at, each refusal audited with the pid and
// uid the bus gives; reads stay open to everyone; only root may own org.netaudit1 (docs/api.md).
import { mkdtemp, chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SERVICE, unwrap, variant } from '../helpers/client.js';
import { daemonMain, defaultConfig, toIni } from '../helpers/daemon.js';
import { busctl, python, pythonCall as pythonCallAs, run, type PythonCallOutcome } from '../helpers/exec.js';
import {
  CONNECTION_IFACE,
  ethernet,
  MANAGER,
  MANAGER_IFACE,
  SETTINGS,
  SETTINGS_IFACE,
  wifi,
} from '../helpers/profiles.js';
import { useDaemon } from '../helpers/use-daemon.js';

type TrailRecord = Record<string, unknown>;

const PSK = 'nauser-must-never-see-this';

// harness.client is root's connection.
const harness = useDaemon();
let nauserUid: number;
/** A saved wifi profile with a secret, and an unsaved ethernet one: the targets of the refused calls. */
let wifiPath: string;
let wifiUuid: string;
let unsavedPath: string;
let unsavedUuid: string;

beforeAll(async () => {
  const id = await run('id', ['-u', 'nauser']);
  if (id.code !== 0) throw new Error(`user nauser is missing (useradd -M -s /usr/sbin/nologin -U nauser): ${id.stderr}`);
  nauserUid = Number(id.stdout.trim());
  [wifiPath] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [wifi('guarded wifi', PSK)])) as [string];
  [unsavedPath] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnectionUnsaved', 'a{sa{sv}}', [ethernet('guarded unsaved')])) as [string];
  wifiUuid = await uuidOf(wifiPath);
  unsavedUuid = await uuidOf(unsavedPath);
});

async function uuidOf(path: string): Promise<string> {
  const [settings] = await harness.client.call(path, CONNECTION_IFACE, 'GetSettings');
  return (unwrap(settings) as { connection: { uuid: string } }).connection.uuid;
}

/**
 * What a refused call must leave unchanged: the profile files (not the write-ahead log, which the
 * daemon's background checkpoint empties on its own), the logging state, the stored secret.
 */
async function state(): Promise<unknown> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(harness.daemon.profilesDir)).sort()) {
    if (!name.startsWith('.netauditd-wal-')) files[name] = await readFile(join(harness.daemon.profilesDir, name), 'utf8');
  }
  const [secrets] = await harness.client.call(wifiPath, CONNECTION_IFACE, 'GetSecrets', 's', ['802-11-wireless-security']);
  const [connections] = await harness.client.call(SETTINGS, SETTINGS_IFACE, 'ListConnections');
  return {
    files,
    connections,
    logging: await harness.client.call(MANAGER, MANAGER_IFACE, 'GetLogging'),
    networking: await harness.client.getProperty(MANAGER, MANAGER_IFACE, 'NetworkingEnabled'),
    unsaved: await harness.client.getProperty(unsavedPath, CONNECTION_IFACE, 'Unsaved'),
    secrets: unwrap(secrets),
  };
}

/** The records appended to the trail while `action` ran; GetSecrets in state() adds one of its own. */
async function newRecords(action: () => Promise<void>): Promise<TrailRecord[]> {
  const before = (await harness.daemon.trail()).length;
  await action();
  return (await harness.daemon.trail()).slice(before);
}

type PythonOutcome = PythonCallOutcome;

async function pythonCall(
  as: 'nauser' | 'root',
  path: string,
  iface: string,
  member: string,
  signature: string,
  args: unknown[],
): Promise<PythonOutcome> {
  return pythonCallAs(harness.bus.address, { dest: SERVICE, path, iface, member, signature, args }, as === 'nauser' ? { uid: 'nauser' } : {});
}

interface Change {
  member: string;
  path: () => string;
  iface: string;
  signature: string;
  /** the arguments for python3-dbus (JSON; strings become variants of type s) */
  args: () => unknown[];
  /** the arguments after the signature, for busctl */
  busctlArgs: () => string[];
  action: string;
  /** what the refusal's record says about the attempt */
  record: () => TrailRecord;
}

const changes: Change[] = [
  {
    member: 'AddConnection',
    path: () => SETTINGS,
    iface: SETTINGS_IFACE,
    signature: 'a{sa{sv}}',
    args: () => [{ connection: { id: 'intruder', type: 'ethernet' } }],
    busctlArgs: () => ['1', 'connection', '2', 'id', 's', 'intruder', 'type', 's', 'ethernet'],
    action: 'org.netaudit1.settings.modify.system',
    record: () => ({ op: 'connection-add', name: 'intruder' }),
  },
  {
    member: 'Update',
    path: () => wifiPath,
    iface: CONNECTION_IFACE,
    signature: 'a{sa{sv}}',
    args: () => [{ connection: { id: 'renamed by nauser', uuid: wifiUuid, type: 'wifi' } }],
    busctlArgs: () => ['1', 'connection', '3', 'id', 's', 'renamed by nauser', 'uuid', 's', wifiUuid, 'type', 's', 'wifi'],
    action: 'org.netaudit1.settings.modify.system',
    record: () => ({ op: 'connection-update', uuid: wifiUuid, name: 'renamed by nauser' }),
  },
  {
    member: 'Delete',
    path: () => wifiPath,
    iface: CONNECTION_IFACE,
    signature: '',
    args: () => [],
    busctlArgs: () => [],
    action: 'org.netaudit1.settings.modify.system',
    record: () => ({ op: 'connection-delete', uuid: wifiUuid, name: 'guarded wifi' }),
  },
  {
    member: 'ClearSecrets',
    path: () => wifiPath,
    iface: CONNECTION_IFACE,
    signature: '',
    args: () => [],
    busctlArgs: () => [],
    action: 'org.netaudit1.settings.modify.system',
    record: () => ({ op: 'connection-clear-secrets', uuid: wifiUuid, name: 'guarded wifi' }),
  },
  {
    member: 'Save',
    path: () => unsavedPath,
    iface: CONNECTION_IFACE,
    signature: '',
    args: () => [],
    busctlArgs: () => [],
    action: 'org.netaudit1.settings.modify.system',
    record: () => ({ op: 'connection-update', args: 'save', uuid: unsavedUuid, name: 'guarded unsaved' }),
  },
  {
    member: 'GetSecrets',
    path: () => wifiPath,
    iface: CONNECTION_IFACE,
    signature: 's',
    args: () => ['802-11-wireless-security'],
    busctlArgs: () => ['802-11-wireless-security'],
    action: 'org.netaudit1.secrets',
    record: () => ({ op: 'connection-get-secrets', args: '802-11-wireless-security', uuid: wifiUuid, name: 'guarded wifi' }),
  },
  {
    member: 'ReloadConnections',
    path: () => SETTINGS,
    iface: SETTINGS_IFACE,
    signature: '',
    args: () => [],
    busctlArgs: () => [],
    action: 'org.netaudit1.reload',
    record: () => ({ op: 'reload', args: 'connections' }),
  },
  {
    member: 'Reload',
    path: () => MANAGER,
    iface: MANAGER_IFACE,
    signature: 'u',
    args: () => [1],
    busctlArgs: () => ['1'],
    action: 'org.netaudit1.reload',
    record: () => ({ op: 'reload', args: 'conf' }),
  },
  {
    member: 'SetLogging',
    path: () => MANAGER,
    iface: MANAGER_IFACE,
    signature: 'ss',
    args: () => ['DEBUG', 'ALL'],
    busctlArgs: () => ['DEBUG', 'ALL'],
    action: 'org.netaudit1.logging',
    record: () => ({ op: 'logging-control', args: 'DEBUG:ALL' }),
  },
  {
    member: 'Sleep',
    path: () => MANAGER,
    iface: MANAGER_IFACE,
    signature: 'b',
    args: () => [true],
    busctlArgs: () => ['true'],
    action: 'org.netaudit1.sleep-wake',
    record: () => ({ op: 'sleep-control', args: 'sleep' }),
  },
  {
    member: 'Enable',
    path: () => MANAGER,
    iface: MANAGER_IFACE,
    signature: 'b',
    args: () => [false],
    busctlArgs: () => ['false'],
    action: 'org.netaudit1.enable-disable-network',
    record: () => ({ op: 'networking-control', args: 'off' }),
  },
];

/** A refusal says what was refused and why: the polkit action and the caller's uid. */
function expectRefusalText(text: string, action: string): void {
  expect(text).toMatch(/^(Call failed: )?Not authorized: /);
  expect(text).toContain(action);
  expect(text).toContain(`uid ${nauserUid}`);
}

function refusal(change: Change): TrailRecord {
  return { ...change.record(), uid: nauserUid, result: 'fail', reason: 'not-authorized' };
}

describe('a non-root caller', () => {
  for (const change of changes) describe(`calling ${change.member}`, () => {
    it('with python3-dbus gets PermissionDenied, changes nothing, and is recorded with its pid and uid', async () => {
      const before = await state();
      let outcome: PythonOutcome | undefined;
      const records = await newRecords(async () => {
        outcome = await pythonCall('nauser', change.path(), change.iface, change.member, change.signature, change.args());
      });
      expect(outcome).toMatchObject({ error: 'org.netaudit1.Error.PermissionDenied' });
      expectRefusalText(outcome!.message!, change.action);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ ...refusal(change), pid: outcome!.pid });
      expect(records[0]!.actor).toEqual({ bus_name: expect.stringMatching(/^:1\.\d+$/), exe: expect.stringMatching(/^\/usr\/bin\/python3(\.\d+)?$/) });
      expect(await state()).toEqual(before);
    });

    it('with busctl is refused, changes nothing, and is recorded with its pid and uid', async () => {
      const before = await state();
      let result: Awaited<ReturnType<typeof busctl>> | undefined;
      const records = await newRecords(async () => {
        const signature = change.signature === '' ? [] : [change.signature];
        result = await busctl(harness.bus.address, ['call', SERVICE, change.path(), change.iface, change.member, ...signature, ...change.busctlArgs()], { uid: 'nauser' });
      });
      // busctl prints the error's message, not its name.
      expect(result).toMatchObject({ code: 1, stdout: '' });
      expect(result!.stderr).toMatch(/^Call failed: Not authorized: .*\n$/);
      expectRefusalText(result!.stderr, change.action);
      expect(records).toHaveLength(1);
      const record = records[0]!;
      expect(record).toMatchObject(refusal(change));
      expect(Number.isSafeInteger(record.pid) && (record.pid as number) > 0).toBe(true);
      expect(record.pid).not.toBe(harness.daemon.pid);
      expect(record.pid).not.toBe(process.pid);
      expect(record.actor).toEqual({ bus_name: expect.stringMatching(/^:1\.\d+$/), exe: '/usr/bin/busctl' });
      expect(await state()).toEqual(before);
    });
  });

  // Each row is refused to nauser with PermissionDenied; root, sending the same, meets the
  // validation or state check, which proves the content was bad and nauser never got that far.
  const beforeValidation = [
    {
      what: 'AddConnection with an unknown setting',
      call: () => [SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [{ bogus: { x: 'y' } }]] as const,
      rootError: 'org.netaudit1.Error.InvalidArgument',
      record: () => ({ op: 'connection-add' }),
    },
    {
      what: 'AddConnection with an unknown connection type',
      call: () => [SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [{ connection: { id: 'odd', type: 'carrier-pigeon' } }]] as const,
      rootError: 'org.netaudit1.Error.InvalidArgument',
      record: () => ({ op: 'connection-add', name: 'odd' }),
    },
    {
      what: 'AddConnection with a uuid that exists',
      call: () => [SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [{ connection: { id: 'copy', uuid: wifiUuid, type: 'ethernet' } }]] as const,
      rootError: 'org.netaudit1.Error.UuidExists',
      record: () => ({ op: 'connection-add', name: 'copy', uuid: wifiUuid }),
    },
    {
      what: 'Update that changes the uuid',
      call: () => [wifiPath, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [{ connection: { id: 'guarded wifi', uuid: '6c5e1d7a-6c5f-4a4e-9a1c-3e2f1d0c9b8a', type: 'wifi' } }]] as const,
      rootError: 'org.netaudit1.Error.InvalidArgument',
      record: () => ({ op: 'connection-update', uuid: wifiUuid }),
    },
    {
      what: 'Delete of a connection that does not exist',
      call: () => [`${SETTINGS}/999999`, CONNECTION_IFACE, 'Delete', '', []] as const,
      rootError: 'org.netaudit1.Error.UnknownConnection',
      record: () => ({ op: 'connection-delete' }),
    },
    {
      what: 'GetSecrets of a connection that does not exist',
      call: () => [`${SETTINGS}/999999`, CONNECTION_IFACE, 'GetSecrets', 's', ['802-11-wireless-security']] as const,
      rootError: 'org.netaudit1.Error.UnknownConnection',
      record: () => ({ op: 'connection-get-secrets' }),
    },
    {
      what: 'Enable(true) while networking is on',
      call: () => [MANAGER, MANAGER_IFACE, 'Enable', 'b', [true]] as const,
      rootError: 'org.netaudit1.Error.AlreadyEnabledOrDisabled',
      record: () => ({ op: 'networking-control', args: 'on' }),
    },
    {
      // No link has this ifindex, so nothing in this (the root) namespace is ever at stake.
      what: 'Delete of a device that does not exist',
      call: () => ['/org/netaudit1/Devices/999999', 'org.netaudit1.Device', 'Delete', '', []] as const,
      rootError: 'org.netaudit1.Error.UnknownDevice',
      record: () => ({ op: 'device-delete', ifindex: 999999 }),
    },
    {
      what: 'Reload with unknown flags',
      call: () => [MANAGER, MANAGER_IFACE, 'Reload', 'u', [7]] as const,
      rootError: 'org.netaudit1.Error.InvalidArgument',
      record: () => ({ op: 'reload', args: '7' }),
    },
    {
      what: 'SetLogging with an unknown level',
      call: () => [MANAGER, MANAGER_IFACE, 'SetLogging', 'ss', ['LOUD', '']] as const,
      rootError: 'org.netaudit1.Error.InvalidArgument',
      record: () => ({ op: 'logging-control', args: 'LOUD:' }),
    },
  ];

  for (const { what, call, rootError, record } of beforeValidation) it(`is refused ${what} before the content or the state is checked`, async () => {
    const [path, iface, member, signature, args] = call();
    const before = await state();
    let outcome: PythonOutcome | undefined;
    const refused = await newRecords(async () => {
      outcome = await pythonCall('nauser', path, iface, member, signature, [...args]);
    });
    expect(outcome).toMatchObject({ error: 'org.netaudit1.Error.PermissionDenied' });
    expect(outcome!.message).toMatch(/^Not authorized: /);
    expect(refused).toEqual([expect.objectContaining({ ...record(), uid: nauserUid, pid: outcome!.pid, result: 'fail', reason: 'not-authorized' })]);
    expect(await state()).toEqual(before);

    const asRoot = await pythonCall('root', path, iface, member, signature, [...args]);
    expect(asRoot.error).toBe(rootError);
    expect(await state()).toEqual(before);
  });

  it('may read: ListConnections, GetSettings, Properties.Get/GetAll, Introspect and GetLogging (busctl)', async () => {
    const as = { uid: 'nauser' };
    const ok = async (args: string[]): Promise<string> => {
      const { code, stdout, stderr } = await busctl(harness.bus.address, args, as);
      expect({ args, code, stderr }).toEqual({ args, code: 0, stderr: '' });
      return stdout;
    };
    const records = await newRecords(async () => {
      expect(await ok(['call', SERVICE, SETTINGS, SETTINGS_IFACE, 'ListConnections'])).toBe(`ao 2 "${wifiPath}" "${unsavedPath}"\n`);
      const settings = JSON.parse(await ok(['--json=short', 'call', SERVICE, wifiPath, CONNECTION_IFACE, 'GetSettings'])) as { data: [Record<string, Record<string, { data: unknown }>>] };
      expect(settings.data[0].connection!.id!.data).toBe('guarded wifi');
      expect(settings.data[0]['802-11-wireless-security']).toEqual({ 'key-mgmt': { type: 's', data: 'wpa-psk' } });
      expect(await ok(['get-property', SERVICE, MANAGER, MANAGER_IFACE, 'State'])).toBe('u 20\n');
      expect(await ok(['get-property', SERVICE, wifiPath, CONNECTION_IFACE, 'Filename'])).toBe(`s "${join(harness.daemon.profilesDir, 'guarded wifi.nmconnection')}"\n`);
      const all = JSON.parse(await ok(['--json=short', 'call', SERVICE, MANAGER, 'org.freedesktop.DBus.Properties', 'GetAll', 's', MANAGER_IFACE])) as { data: [Record<string, { data: unknown }>] };
      expect(all.data[0].State!.data).toBe(20);
      expect(all.data[0].Version!.data).toMatch(/^\d+\.\d+\.\d+/);
      expect(await ok(['call', SERVICE, SETTINGS, 'org.freedesktop.DBus.Introspectable', 'Introspect'])).toContain('<interface name=\\"org.netaudit1.Settings\\">');
      expect(await ok(['call', SERVICE, MANAGER, MANAGER_IFACE, 'GetLogging'])).toBe('ss "INFO" "ALL"\n');
    });
    expect(records).toEqual([]);
  });

  it('may read with python3-dbus, through introspected proxies', async () => {
    const script = `
import dbus, json
bus = dbus.SystemBus()
settings = dbus.Interface(bus.get_object("${SERVICE}", "${SETTINGS}"), "${SETTINGS_IFACE}")
paths = [str(p) for p in settings.ListConnections()]
conn = bus.get_object("${SERVICE}", "${wifiPath}")
got = dbus.Interface(conn, "${CONNECTION_IFACE}").GetSettings()
manager = bus.get_object("${SERVICE}", "${MANAGER}")
props = dbus.Interface(manager, "org.freedesktop.DBus.Properties")
print(json.dumps({
    "paths": paths,
    "id": str(got["connection"]["id"]),
    "security": {str(k): str(v) for k, v in got["802-11-wireless-security"].items()},
    "version": str(props.Get("${MANAGER_IFACE}", "Version")),
    "all": sorted(str(k) for k in props.GetAll("${MANAGER_IFACE}").keys()),
    "logging": [str(x) for x in dbus.Interface(manager, "${MANAGER_IFACE}").GetLogging()],
    "filename": str(dbus.Interface(conn, "org.freedesktop.DBus.Properties").Get("${CONNECTION_IFACE}", "Filename")),
}))
`;
    let stdout = '';
    const records = await newRecords(async () => {
      const result = await python(harness.bus.address, script, { uid: 'nauser' });
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      stdout = result.stdout;
    });
    expect(JSON.parse(stdout)).toEqual({
      paths: [wifiPath, unsavedPath],
      id: 'guarded wifi',
      security: { 'key-mgmt': 'wpa-psk' },
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      all: ['ActiveConnections', 'AuditBackends', 'AuditEnabled', 'Devices', 'NetworkingEnabled', 'State', 'Version', 'WirelessEnabled'],
      logging: ['INFO', 'ALL'],
      filename: join(harness.daemon.profilesDir, 'guarded wifi.nmconnection'),
    });
    expect(stdout).not.toContain(PSK);
    expect(records).toEqual([]);
  });

  it('cannot own org.netaudit1: the bus policy refuses the name, and the daemon keeps it', async () => {
    const [ownerBefore] = await harness.client.callBus('GetNameOwner', 's', [SERVICE]);
    const { code, stdout, stderr } = await python(harness.bus.address, [
      'import dbus',
      'try:',
      `    print(dbus.SystemBus().request_name("${SERVICE}", dbus.bus.NAME_FLAG_DO_NOT_QUEUE | dbus.bus.NAME_FLAG_REPLACE_EXISTING))`,
      'except dbus.exceptions.DBusException as e:',
      '    print(e.get_dbus_name())',
    ].join('\n'), { uid: 'nauser' });
    expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: 'org.freedesktop.DBus.Error.AccessDenied\n', stderr: '' });
    const [ownerAfter] = await harness.client.callBus('GetNameOwner', 's', [SERVICE]);
    expect(ownerAfter).toBe(ownerBefore);
    expect(await harness.client.callBus('GetConnectionUnixProcessID', 's', [ownerAfter])).toEqual([harness.daemon.pid]);
  });

  it('cannot run netauditd: started as nauser it fails to own the name and exits 1', async () => {
    const dir = await mkdtemp(join(harness.bus.dir, 'nauser-daemon-'));
    await chmod(dir, 0o777);
    const config = defaultConfig(dir);
    const file = join(dir, 'netauditd.conf');
    await writeFile(file, toIni(config), { mode: 0o644 });
    const { code, stderr } = await run(process.execPath, [daemonMain, '--config', file, '--bus-address', harness.bus.address], { uid: 'nauser' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/netauditd: cannot start: cannot own the bus name org\.netaudit1: Connection ":1\.\d+" is not allowed to own the service "org\.netaudit1" due to security policies/);
    const [owner] = await harness.client.callBus('GetNameOwner', 's', [SERVICE]);
    expect(await harness.client.callBus('GetConnectionUnixProcessID', 's', [owner])).toEqual([harness.daemon.pid]);
  });
});

describe('root', () => {
  it('is still allowed what nauser was refused', async () => {
    await harness.client.call(unsavedPath, CONNECTION_IFACE, 'Save');
    expect(await harness.client.getProperty(unsavedPath, CONNECTION_IFACE, 'Unsaved')).toBe(false);
    await harness.client.call(wifiPath, CONNECTION_IFACE, 'ClearSecrets');
    expect((await harness.daemon.trail()).at(-1)).toMatchObject({ op: 'connection-clear-secrets', uid: 0, pid: process.pid, result: 'success' });
    await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('root-added', { connection: { autoconnect: variant('b', false) } })]);
    expect((await harness.daemon.trail()).at(-1)).toMatchObject({ op: 'connection-add', name: 'root-added', uid: 0, result: 'success' });
  });
});
