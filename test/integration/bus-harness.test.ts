// The test harness itself: a private system-like bus per file, with data/org.netaudit1.conf enforced.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import dbus from 'dbus-next';
import type { Message } from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBus, type TestBus } from '../helpers/bus.js';
import { connect, type TestClient } from '../helpers/client.js';
import { busctl, python, run } from '../helpers/exec.js';
import { repoPath } from '../helpers/repo.js';
import { waitFor } from '../helpers/wait.js';

const NAME = 'org.netaudit1';

describe('the private test bus', () => {
  let bus: TestBus;
  let root: TestClient;

  beforeAll(async () => {
    bus = await startBus();
    root = await connect(bus.address);
  });

  afterAll(async () => {
    root?.close();
    await bus?.stop();
  });

  it('answers on its own socket in a world-readable scratch dir', async () => {
    expect(bus.address).toBe(`unix:path=${bus.dir}/system_bus_socket`);
    expect((await stat(bus.dir)).mode & 0o777).toBe(0o755);
    expect(root.uniqueName).toMatch(/^:1\.\d+$/);
    const [names] = await root.callBus('ListNames');
    expect(names).toContain('org.freedesktop.DBus');
    expect(names).not.toContain(NAME);
  });

  it('enforces a copy of data/org.netaudit1.conf', async () => {
    const copy = await readFile(join(bus.dir, 'system.d', 'org.netaudit1.conf'), 'utf8');
    expect(copy).toBe(await readFile(repoPath('data', 'org.netaudit1.conf'), 'utf8'));
  });

  it('lets a non-root user connect', async () => {
    const { code, stdout, stderr } = await busctl(bus.address, ['call', 'org.freedesktop.DBus',
      '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId'], { uid: 'nauser' });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^s "[0-9a-f]{32}"\n$/);
  });

  describe('with a root-owned org.netaudit1', () => {
    let owner: TestClient;
    const seen: Array<{ sender: string; uid: number }> = [];

    beforeAll(async () => {
      owner = await connect(bus.address);
      // Answers every call with the caller's uid, looked up as the daemon will: from the bus, by sender.
      owner.bus.addMethodHandler((msg: Message) => {
        if (msg.destination !== NAME && msg.destination !== owner.uniqueName) return false;
        void owner.callBus('GetConnectionCredentials', 's', [msg.sender]).then(([creds]) => {
          const uid = (creds as Record<string, { value: number }>).UnixUserID!.value;
          seen.push({ sender: msg.sender, uid });
          owner.bus.send(dbus.Message.newMethodReturn(msg, 'u', [uid]));
        });
        return true;
      });
    });

    afterAll(() => owner?.close());

    it('lets root own the name', async () => {
      const reply = await owner.bus.requestName(NAME, dbus.NameFlag.DO_NOT_QUEUE);
      expect(reply).toBe(dbus.RequestNameReply.PRIMARY_OWNER);
      const [ownerName] = await root.callBus('GetNameOwner', 's', [NAME]);
      expect(ownerName).toBe(owner.uniqueName);
    });

    it('delivers the name owner\'s signals to onSignal, and not a forger\'s', async () => {
      const got: unknown[][] = [];
      const off = await root.onSignal('/org/netaudit1', 'org.netaudit1.Manager', 'StateChanged', (body) => got.push(body));
      const forger = await connect(bus.address);
      try {
        forger.bus.send(dbus.Message.newSignal('/org/netaudit1', 'org.netaudit1.Manager', 'StateChanged', 'u', [99]));
        // The bus routes a connection's messages in order: once this returns, the forged
        // signal has been routed (or not) before the owner's is even sent.
        await forger.callBus('GetId');
        owner.bus.send(dbus.Message.newSignal('/org/netaudit1', 'org.netaudit1.Manager', 'StateChanged', 'u', [70]));
        await waitFor(() => got.length > 0, { what: 'the StateChanged signal' });
        expect(got).toEqual([[70]]);
      } finally {
        forger.close();
        await off();
      }
    });

    it('refuses the name to nauser with AccessDenied (busctl)', async () => {
      const { code, stderr } = await busctl(bus.address, ['call', 'org.freedesktop.DBus', '/org/freedesktop/DBus',
        'org.freedesktop.DBus', 'RequestName', 'su', NAME, '0'], { uid: 'nauser' });
      expect(code).not.toBe(0);
      // sd-bus prints the errno it maps org.freedesktop.DBus.Error.AccessDenied to.
      expect(stderr).toBe('Call failed: Access denied\n');
    });

    it('refuses the name to nauser with AccessDenied (python3-dbus)', async () => {
      const { code, stdout, stderr } = await python(bus.address, [
        'import dbus',
        'try:',
        `    dbus.SystemBus().request_name("${NAME}", dbus.bus.NAME_FLAG_DO_NOT_QUEUE)`,
        '    print("owned")',
        'except dbus.exceptions.DBusException as e:',
        '    print(e.get_dbus_name())',
      ].join('\n'), { uid: 'nauser' });
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toBe('org.freedesktop.DBus.Error.AccessDenied\n');
    });

    it('lets nauser call the daemon\'s interfaces and reports its uid from GetConnectionCredentials', async () => {
      const { stdout: id } = await run('id', ['-u', 'nauser']);
      for (const iface of ['org.netaudit1.Manager', 'org.netaudit1.Settings', 'org.netaudit1.Settings.Connection',
        'org.netaudit1.Device', 'org.netaudit1.Connection.Active', 'org.freedesktop.DBus.Properties']) {
        const { code, stdout, stderr } = await busctl(bus.address,
          ['call', NAME, '/org/netaudit1', iface, 'Anything'], { uid: 'nauser' });
        expect({ iface, code, stderr }).toEqual({ iface, code: 0, stderr: '' });
        expect(stdout).toBe(`u ${id.trim()}\n`);
      }
      expect(seen.at(-1)?.uid).toBe(Number(id));
    });

    it('refuses nauser an interface the policy does not name', async () => {
      const { code, stderr } = await busctl(bus.address,
        ['call', NAME, '/org/netaudit1', 'org.netaudit1.Private', 'Anything'], { uid: 'nauser' });
      expect(code).not.toBe(0);
      expect(stderr).toBe('Call failed: Access denied\n');
    });

    it('lets root call any interface of the name', async () => {
      const [uid] = await root.call('/org/netaudit1', 'org.netaudit1.Private', 'Anything');
      expect(uid).toBe(0);
    });

    it('reports the uid of root callers as 0', () => {
      expect(seen.some((s) => s.sender === root.uniqueName && s.uid === 0)).toBe(true);
    });
  });
});
