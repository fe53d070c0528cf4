// auth=polkit against the real polkitd (docs/api.md): the daemon asks polkit for the caller's bus
// name; root (uid 0) is allowed without asking (actor.auth=uid0), nauser is refused what the
// actions' defaults refuse and allowed the one action a rules file grants it (actor.auth=polkit),
// and with polkitd gone every change of a caller other than root is refused (fail closed), while
// root's still go through. Each attempt leaves one record.
import { beforeAll, describe, expect, it } from 'vitest';
import { connect, DBusError, SERVICE } from '../helpers/client.js';
import { nauserUid } from '../helpers/devices.js';
import { busctl, pythonCall, run, type PythonCallOutcome } from '../helpers/exec.js';
import { grantRule, startPolkit, type TestPolkit } from '../helpers/polkit.js';
import { MANAGER, MANAGER_IFACE, SETTINGS, SETTINGS_IFACE, ethernet } from '../helpers/profiles.js';
import { useDaemon } from '../helpers/use-daemon.js';

type TrailRecord = Record<string, unknown>;

const harness = useDaemon({ config: { main: { auth: 'polkit' } } });
let polkit: TestPolkit;
let nauser: number;

beforeAll(async () => {
  nauser = await nauserUid();
  polkit = await startPolkit(harness.bus, grantRule('nauser', 'org.netaudit1.reload'));
}, 30_000);

async function newRecords(action: () => Promise<void>): Promise<TrailRecord[]> {
  const before = (await harness.daemon.trail()).length;
  await action();
  return (await harness.daemon.trail()).slice(before);
}


type Outcome = PythonCallOutcome;

async function asNauser(path: string, iface: string, member: string, signature: string, args: unknown[]): Promise<Outcome> {
  return pythonCall(harness.bus.address, { dest: SERVICE, path, iface, member, signature, args }, { uid: 'nauser' });
}

async function rootError(call: Promise<unknown>): Promise<InstanceType<typeof DBusError>> {
  const e = await call.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(DBusError);
  return e as InstanceType<typeof DBusError>;
}

describe('auth=polkit with polkitd running', () => {
  it('polkit reads data/org.netaudit1.policy: pkaction lists every action with its defaults', async () => {
    const listed = await run('pkaction', [], { env: { DBUS_SYSTEM_BUS_ADDRESS: harness.bus.address } });
    expect(listed.code).toBe(0);
    const ours = listed.stdout.split('\n').filter((l) => l.startsWith('org.netaudit1.')).sort();
    expect(ours).toEqual([
      'org.netaudit1.enable-disable-network',
      'org.netaudit1.enable-disable-wifi',
      'org.netaudit1.logging',
      'org.netaudit1.network-control',
      'org.netaudit1.reload',
      'org.netaudit1.secrets',
      'org.netaudit1.settings.modify.system',
      'org.netaudit1.sleep-wake',
    ]);
    const secrets = await run('pkaction', ['--action-id', 'org.netaudit1.secrets', '--verbose'], { env: { DBUS_SYSTEM_BUS_ADDRESS: harness.bus.address } });
    expect(secrets.code).toBe(0);
    expect(secrets.stdout).toMatch(/implicit any:\s+auth_admin_keep\n\s+implicit inactive:\s+auth_admin_keep\n\s+implicit active:\s+auth_admin_keep/);
  });

  it('allows root without asking polkit: actor.auth=uid0', async () => {
    let path: unknown;
    const records = await newRecords(async () => {
      [path] = await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('added by root')]);
    });
    expect(path).toMatch(/^\/org\/netaudit1\/Settings\/\d+$/);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ op: 'connection-add', name: 'added by root', uid: 0, result: 'success', actor: { auth: 'uid0' } });
  });

  it('refuses nauser AddConnection (auth_admin_keep, no agent): PermissionDenied, one not-authorized record', async () => {
    let outcome: Outcome | undefined;
    const records = await newRecords(async () => {
      outcome = await asNauser(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [{ connection: { id: 'intruder', type: 'ethernet' } }]);
    });
    expect(outcome).toMatchObject({ error: 'org.netaudit1.Error.PermissionDenied' });
    // polkit answers with a challenge: the call did not allow interactive authorization.
    expect(outcome!.message).toMatch(/^Not authorized: org\.netaudit1\.settings\.modify\.system requires authentication for the caller :1\.\d+ \(uid \d+\)\./);
    expect(outcome!.message).toContain(`(uid ${nauser})`);
    expect(outcome!.message).toContain('interactive authorization allowed');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ op: 'connection-add', name: 'intruder', uid: nauser, pid: outcome!.pid, result: 'fail', reason: 'not-authorized' });
  });

  it('passes the caller\'s ALLOW_INTERACTIVE_AUTHORIZATION on (busctl sets it): the refusal says no authentication succeeded', async () => {
    const records = await newRecords(async () => {
      const result = await busctl(harness.bus.address, [
        '--allow-interactive-authorization=yes', 'call', SERVICE, SETTINGS, SETTINGS_IFACE, 'AddConnection',
        'a{sa{sv}}', '1', 'connection', '2', 'id', 's', 'intruder', 'type', 's', 'ethernet',
      ], { uid: 'nauser' });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^Call failed: Not authorized: org\.netaudit1\.settings\.modify\.system requires authentication .*none succeeded/);
    });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ op: 'connection-add', uid: nauser, result: 'fail', reason: 'not-authorized' });
  });

  it('refuses nauser Enable (allow_any no): "refused by polkit", one not-authorized record', async () => {
    let outcome: Outcome | undefined;
    const records = await newRecords(async () => {
      outcome = await asNauser(MANAGER, MANAGER_IFACE, 'Enable', 'b', [false]);
    });
    expect(outcome).toMatchObject({ error: 'org.netaudit1.Error.PermissionDenied' });
    expect(outcome!.message).toMatch(
      new RegExp(`^Not authorized: org\\.netaudit1\\.enable-disable-network was refused by polkit for the caller :1\\.\\d+ \\(uid ${nauser}\\); an administrator can grant it with a polkit rule\\.$`),
    );
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ op: 'networking-control', uid: nauser, result: 'fail', reason: 'not-authorized' });
    expect(await harness.client.getProperty(MANAGER, MANAGER_IFACE, 'NetworkingEnabled')).toBe(true);
  });

  it('allows nauser Reload: the rules file grants org.netaudit1.reload to nauser', async () => {
    let outcome: Outcome | undefined;
    const records = await newRecords(async () => {
      outcome = await asNauser(MANAGER, MANAGER_IFACE, 'Reload', 'u', [1]);
    });
    // python3-dbus gives None for an empty reply.
    expect(outcome).toEqual({ pid: outcome!.pid, reply: null });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ op: 'reload', args: 'conf', uid: nauser, pid: outcome!.pid, result: 'success', actor: { auth: 'polkit' } });
  });

  // A burst of root's changes: none waits for polkit, none is refused, each is recorded once.
  it('authorizes 400 changes sent at once from 8 connections: every one allowed, every one recorded', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => connect(harness.bus.address)));
    let outcomes: Array<'ok' | string> = [];
    const records = await newRecords(async () => {
      outcomes = await Promise.all(clients.flatMap((c) => Array.from({ length: 50 }, () =>
        c.call(MANAGER, MANAGER_IFACE, 'Reload', 'u', [1]).then(() => 'ok', (e: InstanceType<typeof DBusError>) => `${e.type}: ${e.text}`))));
    });
    for (const c of clients) c.close();
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    expect(records).toHaveLength(400);
    expect(records.every((r) => r.op === 'reload' && r.result === 'success' && r.uid === 0 && (r.actor as TrailRecord).auth === 'uid0')).toBe(true);
  }, 60_000);
});

describe('auth=polkit with polkitd stopped (fail closed)', () => {
  beforeAll(async () => {
    await polkit.stop();
  }, 30_000);

  it('still allows root, who needs no answer from polkit (actor.auth=uid0)', async () => {
    const records = await newRecords(async () => {
      await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('root without polkit')]);
    });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ op: 'connection-add', name: 'root without polkit', uid: 0, result: 'success', actor: { auth: 'uid0' } });
  });

  it('refuses nauser what the rule granted: reason polkit-unavailable', async () => {
    let outcome: Outcome | undefined;
    const records = await newRecords(async () => {
      outcome = await asNauser(MANAGER, MANAGER_IFACE, 'Reload', 'u', [1]);
    });
    expect(outcome).toMatchObject({ error: 'org.netaudit1.Error.PermissionDenied' });
    expect(outcome!.message).toMatch(/^Refused: polkit could not decide /);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ op: 'reload', uid: nauser, result: 'fail', reason: 'polkit-unavailable' });
  });

  it('says why in its log', async () => {
    await harness.daemon.waitForLog(new RegExp(`polkit could not authorize org\\.netaudit1\\.reload for the caller :1\\.\\d+ \\(uid ${nauser}\\): org\\.freedesktop\\.DBus\\.Error\\.(ServiceUnknown|NameHasNoOwner)`));
  });
});
