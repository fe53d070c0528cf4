// data/org.netaudit1.conf on the enforcing test bus, with the real daemon behind it: the bus
// refuses only what the daemon does not serve (another owner, an interface it has not, a call
// without an interface), and lets every caller reach the interfaces it has, so that the daemon
// authorizes, and records, each attempted change, those that NetworkManager's policy keeps for
// root at the bus (SetLogging, Sleep, ReloadConnections) included.
import { beforeAll, describe, expect, it } from 'vitest';
import { SERVICE } from '../helpers/client.js';
import { busctl, python, run } from '../helpers/exec.js';
import { MANAGER, MANAGER_IFACE, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { useDaemon } from '../helpers/use-daemon.js';

let nauserUid: number;

beforeAll(async () => {
  const id = await run('id', ['-u', 'nauser']);
  if (id.code !== 0) throw new Error(`user nauser is missing (useradd -M -s /usr/sbin/nologin -U nauser): ${id.stderr}`);
  nauserUid = Number(id.stdout.trim());
});

// system.conf's default policy denies every call and every name; some systems allow them: the
// policy file must hold on its own.
describe.each([
  { what: "system.conf's deny-all default", permissiveDefault: false },
  { what: 'a default that allows all', permissiveDefault: true },
])('on a bus with $what', ({ permissiveDefault }) => {
  const harness = useDaemon({}, { permissiveDefault });

  /** Runs `script` (python3-dbus, `bus` = the test bus, `NAME` = org.netaudit1) as nauser; its stdout, trimmed. */
  async function asNauser(script: string): Promise<string> {
    const { code, stdout, stderr } = await python(harness.bus.address, [
      'import dbus',
      'bus = dbus.SystemBus()',
      `NAME = ${JSON.stringify(SERVICE)}`,
      'def call(path, iface, member, sig="", *args):',
      '    try:',
      '        bus.call_blocking(NAME, path, iface, member, sig, args)',
      '        print("ok")',
      '    except dbus.exceptions.DBusException as e:',
      '        print(e.get_dbus_name())',
      script,
    ].join('\n'), { uid: 'nauser' });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    return stdout.trim();
  }

  /** Runs `fn` and returns the trail records it added. */
  async function recordsOf(fn: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
    const before = (await harness.daemon.trail()).length;
    await fn();
    return (await harness.daemon.trail()).slice(before);
  }

  describe('the bus refuses, before the daemon sees it and so without a record,', () => {
    it('the name, and any name under it, to anyone but root', async () => {
      for (const name of [SERVICE, `${SERVICE}.Helper`]) {
        const out = await asNauser([
          'try:',
          `    bus.request_name(${JSON.stringify(name)}, dbus.bus.NAME_FLAG_DO_NOT_QUEUE)`,
          '    print("owned")',
          'except dbus.exceptions.DBusException as e:',
          '    print(e.get_dbus_name())',
        ].join('\n'));
        expect(out).toBe('org.freedesktop.DBus.Error.AccessDenied');
      }
    });

    it('an interface the daemon does not have', async () => {
      const records = await recordsOf(async () => {
        expect(await asNauser(`call("/org/netaudit1", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")`))
          .toBe('org.freedesktop.DBus.Error.AccessDenied');
        expect(await asNauser(`call("/org/netaudit1", "org.netaudit1.Private", "Enable", "b", True)`))
          .toBe('org.freedesktop.DBus.Error.AccessDenied');
      });
      expect(records).toEqual([]);
    });

    it('a call without an interface field, even to a method the daemon has', async () => {
      const records = await recordsOf(async () => {
        expect(await asNauser(`call("/org/netaudit1", None, "Enable", "b", False)`)).toBe('org.freedesktop.DBus.Error.AccessDenied');
        expect(await asNauser(`call("/org/netaudit1", None, "GetDevices")`)).toBe('org.freedesktop.DBus.Error.AccessDenied');
      });
      expect(records).toEqual([]);
      expect(await harness.client.getProperty(MANAGER, MANAGER_IFACE, 'NetworkingEnabled')).toBe(true);
    });
  });

  describe('the bus lets every caller reach', () => {
    it('introspection, properties and ping, with busctl', async () => {
      const tree = await busctl(harness.bus.address, ['tree', '--list', SERVICE], { uid: 'nauser' });
      expect(tree).toMatchObject({ code: 0, stderr: '' });
      expect(tree.stdout.split('\n')).toEqual(expect.arrayContaining(['/org/netaudit1', '/org/netaudit1/Settings']));
      const prop = await busctl(harness.bus.address, ['get-property', SERVICE, MANAGER, MANAGER_IFACE, 'NetworkingEnabled'], { uid: 'nauser' });
      expect(prop).toMatchObject({ code: 0, stdout: 'b true\n', stderr: '' });
      const ping = await busctl(harness.bus.address, ['call', SERVICE, MANAGER, 'org.freedesktop.DBus.Peer', 'Ping'], { uid: 'nauser' });
      expect(ping).toMatchObject({ code: 0, stderr: '' });
    });

    it('the reads of each interface, without a record', async () => {
      const records = await recordsOf(async () => {
        expect(await asNauser([
          `call("/org/netaudit1", "${MANAGER_IFACE}", "GetDevices")`,
          `call("/org/netaudit1", "${MANAGER_IFACE}", "GetLogging")`,
          `call("/org/netaudit1/Settings", "${SETTINGS_IFACE}", "ListConnections")`,
        ].join('\n'))).toBe('ok\nok\nok');
      });
      expect(records).toEqual([]);
    });

    // NetworkManager's policy denies these at the bus to all but root; here they reach the daemon,
    // which refuses them and records the refusal with the caller's uid.
    it.each([
      ['SetLogging', `call("/org/netaudit1", "${MANAGER_IFACE}", "SetLogging", "ss", "TRACE", "ALL")`, 'logging-control'],
      ['Sleep', `call("/org/netaudit1", "${MANAGER_IFACE}", "Sleep", "b", True)`, 'sleep-control'],
      ['Reload', `call("/org/netaudit1", "${MANAGER_IFACE}", "Reload", "u", 0)`, 'reload'],
      ['ReloadConnections', `call("/org/netaudit1/Settings", "${SETTINGS_IFACE}", "ReloadConnections")`, 'reload'],
    ])('%s, which the daemon refuses to nauser and records', async (_member, script, op) => {
      const records = await recordsOf(async () => {
        expect(await asNauser(script)).toBe('org.netaudit1.Error.PermissionDenied');
        // The trail record is written before the reply: it is there already.
      });
      expect(records).toEqual([expect.objectContaining({ op, uid: nauserUid, result: 'fail', reason: 'not-authorized' })]);
    });

    it('the daemon, for root, with a call without an interface field', async () => {
      const out = await python(harness.bus.address, [
        'import dbus',
        `print(len(dbus.SystemBus().call_blocking("${SERVICE}", "${SETTINGS}", None, "ListConnections", "", ())) >= 0)`,
      ].join('\n'));
      expect(out).toMatchObject({ code: 0, stdout: 'True\n', stderr: '' });
    });
  });
});
