// Secrets never leak: canary secrets planted through every path a secret can
// travel (add, unsaved add, update, unsaved update, GetSecrets, ClearSecrets,
// Delete, a non-root caller's refused attempts, invalid secrets, profile
// files loaded by ReloadConnections, a malformed one, AddAndActivate) with the
// log at TRACE and all four audit backends on, then looked for — in clear, in
// hex of either case and in base64 — in the trail, the log, the daemon's
// stdout and stderr, the journal, the kernel audit log, every D-Bus error
// message, and the GetSettings, GetAll and Introspect replies. The profile
// file holds them (0600) until ClearSecrets or Delete. Crash output too: a
// daemon that loses its bus, and one killed by SIGABRT, while holding secrets.
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBus, type TestBus } from '../helpers/bus.js';
import { connect, DBusError, SERVICE, unwrap, variant, type TestClient } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { pythonCall, run, type PythonCallOutcome } from '../helpers/exec.js';
import { CONNECTION_IFACE, ethernet, MANAGER, MANAGER_IFACE, SETTINGS, SETTINGS_IFACE, vpn, wifi } from '../helpers/profiles.js';
import { ensureAuditd, ensureJournald } from '../helpers/system-services.js';
import { useDaemon } from '../helpers/use-daemon.js';
import { waitFor } from '../helpers/wait.js';

const CONFIG = { logging: { level: 'TRACE', domains: 'ALL' }, audit: { backends: 'libaudit,journal,log,file' } };
const harness = useDaemon({ config: CONFIG });

const BASE = `canary-${randomBytes(6).toString('hex')}`;
/** Every secret planted, whatever became of it. */
const planted = new Set<string>();
function canary(what: string): string {
  const c = `${BASE}-${what}`;
  planted.add(c);
  return c;
}
/** A secret shorter than the base, for a psk that is too short: 7 characters of its own. */
const SHORT = `k${randomBytes(3).toString('hex')}`;
planted.add(SHORT);

/** Every D-Bus error message a call of this file received. */
const errorTexts: string[] = [];
/** Every GetSettings, GetAll and Introspect reply, as JSON. */
const replies: string[] = [];

let since: number;

const v = variant;
type Dict = Record<string, Record<string, unknown>>;

async function call(path: string, iface: string, member: string, signature = '', body: unknown[] = []): Promise<unknown[]> {
  return harness.client.call(path, iface, member, signature, body);
}

/** A call that must fail with `error`; its message is kept for the final search. */
async function refused(error: string, path: string, iface: string, member: string, signature: string, body: unknown[]): Promise<string> {
  const e = await call(path, iface, member, signature, body).then(
    () => { throw new Error(`${member} was accepted`); },
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(DBusError);
  const text = (e as InstanceType<typeof DBusError>).text;
  errorTexts.push(text, (e as Error).message);
  expect((e as InstanceType<typeof DBusError>).type).toBe(error);
  return text;
}

async function add(dict: Dict, member = 'AddConnection'): Promise<string> {
  const [path] = (await call(SETTINGS, SETTINGS_IFACE, member, 'a{sa{sv}}', [dict])) as [string];
  return path;
}

async function settingsOf(path: string): Promise<Record<string, Record<string, unknown>>> {
  const [s] = await call(path, CONNECTION_IFACE, 'GetSettings');
  replies.push(json(s));
  return unwrap(s) as Record<string, Record<string, unknown>>;
}

async function secretsOf(path: string, setting: string): Promise<unknown> {
  const [s] = await call(path, CONNECTION_IFACE, 'GetSecrets', 's', [setting]);
  return unwrap(s);
}

async function fileOf(path: string): Promise<string> {
  return (await harness.client.getProperty(path, CONNECTION_IFACE, 'Filename')) as string;
}

async function expectPrivateFile(file: string, ...secrets: string[]): Promise<string> {
  const st = await stat(file);
  expect(st.mode & 0o777, `${file} mode`).toBe(0o600);
  const text = await readFile(file, 'utf8');
  for (const s of secrets) expect(text, file).toContain(s);
  return text;
}

async function lastRecord(): Promise<Record<string, unknown>> {
  return (await harness.daemon.trail()).at(-1)!;
}


async function asNauser(path: string, iface: string, member: string, signature: string, args: unknown[]): Promise<PythonCallOutcome> {
  const out = await pythonCall(harness.bus.address, { dest: SERVICE, path, iface, member, signature, args }, { uid: 'nauser' });
  if (out.message !== undefined) errorTexts.push(out.message);
  return out;
}

/** A reply as text: big integers as digits, byte arrays as their bytes (so a secret sent back in an ay shows). */
function json(x: unknown): string {
  return JSON.stringify(x, (_k, val: unknown) => {
    if (typeof val === 'bigint') return val.toString();
    const buf = val as { type?: unknown; data?: unknown };
    if (buf !== null && typeof buf === 'object' && buf.type === 'Buffer' && Array.isArray(buf.data)) return Buffer.from(buf.data as number[]).toString('latin1');
    return val;
  });
}

/** The forms a reader could meet a secret in: clear, hex of either case, base64. */
function formsOf(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  return [secret, bytes.toString('hex'), bytes.toString('hex').toUpperCase(), bytes.toString('base64'), bytes.toString('base64url')];
}

function expectNoSecret(where: string, text: string): void {
  for (const secret of [BASE, ...planted]) {
    for (const form of formsOf(secret)) expect(text.includes(form), `${where} holds ${JSON.stringify(form)} (of ${JSON.stringify(secret)})`).toBe(false);
  }
}

async function auditLog(): Promise<string> {
  const files = (await readdir('/var/log/audit')).filter((f) => f.startsWith('audit.log'));
  return (await Promise.all(files.map((f) => readFile(join('/var/log/audit', f), 'latin1')))).join('\n');
}

async function journalExport(): Promise<string> {
  const { stdout } = await run('journalctl', ['--no-pager', '-o', 'export', '--all', '--since', `@${since}`], { timeoutMs: 60_000 });
  return stdout;
}

beforeAll(async () => {
  await ensureJournald();
  await ensureAuditd();
  since = Math.floor(Date.now() / 1000) - 1;
});

const WEP = () => ({
  connection: { id: v('s', 'canary wep'), type: v('s', 'wifi') },
  '802-11-wireless': { ssid: v('ay', Buffer.from('wep-net')) },
  '802-11-wireless-security': { 'key-mgmt': v('s', 'none'), 'wep-key0': v('s', canary('wep')), 'wep-key-flags': v('u', 0) },
});
const LEAP = () => ({
  connection: { id: v('s', 'canary leap'), type: v('s', 'wifi') },
  '802-11-wireless': { ssid: v('ay', Buffer.from('leap-net')) },
  '802-11-wireless-security': { 'key-mgmt': v('s', 'ieee8021x'), 'auth-alg': v('s', 'leap'), 'leap-password': v('s', canary('leap')) },
});
const DOT1X = () => ethernet('canary 8021x', {
  '802-1x': {
    eap: v('as', ['tls']),
    identity: v('s', 'alice'),
    password: v('s', canary('8021x')),
    'private-key': v('ay', Buffer.from('file:///etc/pki/alice.key\0')),
    'private-key-password': v('s', canary('8021x-pkpw')),
  },
});

describe('secrets through every path', () => {
  let wifiPath: string;
  let vpnPath: string;
  let vpnUuid: string;

  it('AddConnection stores each kind of secret in the 0600 file only; GetSettings returns none', async () => {
    const psk = canary('psk');
    wifiPath = await add(wifi('canary wifi', psk));
    const wepPath = await add(WEP());
    const leapPath = await add(LEAP());
    const dot1xPath = await add(DOT1X());
    vpnPath = await add(vpn('canary vpn', { remote: 'vpn.example.com', 'password-flags': '0' }, { password: canary('vpn'), 'cert-pass': canary('vpn-certpass') }));

    await expectPrivateFile(await fileOf(wifiPath), `psk=${psk}\n`);
    await expectPrivateFile(await fileOf(wepPath), `wep-key0=${BASE}-wep\n`);
    await expectPrivateFile(await fileOf(leapPath), `leap-password=${BASE}-leap\n`);
    await expectPrivateFile(await fileOf(dot1xPath), `password=${BASE}-8021x\n`, `private-key-password=${BASE}-8021x-pkpw\n`);
    const vpnFile = await expectPrivateFile(await fileOf(vpnPath));
    expect(vpnFile).toContain(`\n[vpn-secrets]\ncert-pass=${BASE}-vpn-certpass\npassword=${BASE}-vpn\n`);
    expect(vpnFile).toContain('\n[vpn]\npassword-flags=0\nremote=vpn.example.com\nservice-type=org.freedesktop.NetworkManager.openvpn\n');

    expect((await settingsOf(wifiPath))['802-11-wireless-security']).toEqual({ 'key-mgmt': 'wpa-psk' });
    expect((await settingsOf(wepPath))['802-11-wireless-security']).toEqual({ 'key-mgmt': 'none', 'wep-key-flags': 0 });
    expect((await settingsOf(leapPath))['802-11-wireless-security']).toEqual({ 'key-mgmt': 'ieee8021x', 'auth-alg': 'leap' });
    expect(Object.keys((await settingsOf(dot1xPath))['802-1x']!).sort()).toEqual(['eap', 'identity', 'private-key']);
    const vpnSettings = await settingsOf(vpnPath);
    expect(vpnSettings.vpn).toEqual({ data: { 'password-flags': '0', remote: 'vpn.example.com' }, 'service-type': 'org.freedesktop.NetworkManager.openvpn' });
    vpnUuid = (vpnSettings.connection as { uuid: string }).uuid;

    expect(await secretsOf(wepPath, '802-11-wireless-security')).toEqual({ '802-11-wireless-security': { 'wep-key0': `${BASE}-wep` } });
    expect(await secretsOf(leapPath, '802-11-wireless-security')).toEqual({ '802-11-wireless-security': { 'leap-password': `${BASE}-leap` } });
    expect(await secretsOf(dot1xPath, '802-1x')).toEqual({ '802-1x': { password: `${BASE}-8021x`, 'private-key-password': `${BASE}-8021x-pkpw` } });
  });

  it('GetSecrets("vpn") returns the vpn secrets, audited as connection-get-secrets', async () => {
    expect(await secretsOf(vpnPath, 'vpn')).toEqual({ vpn: { secrets: { 'cert-pass': `${BASE}-vpn-certpass`, password: `${BASE}-vpn` } } });
    expect(await lastRecord()).toMatchObject({ op: 'connection-get-secrets', uuid: vpnUuid, args: 'vpn', result: 'success' });
    expect(await secretsOf(vpnPath, '')).toEqual({ vpn: { secrets: { 'cert-pass': `${BASE}-vpn-certpass`, password: `${BASE}-vpn` } } });
  });

  it('an Update without secrets keeps the vpn secrets; one with a new secret records vpn.secrets by name', async () => {
    await call(vpnPath, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [vpn('canary vpn', { remote: 'vpn2.example.com', 'password-flags': '0' })]);
    expect(await lastRecord()).toMatchObject({ op: 'connection-update', changed: 'vpn.data', result: 'success' });
    expect(await secretsOf(vpnPath, 'vpn')).toEqual({ vpn: { secrets: { 'cert-pass': `${BASE}-vpn-certpass`, password: `${BASE}-vpn` } } });
    await expectPrivateFile(await fileOf(vpnPath), `password=${BASE}-vpn\n`, 'remote=vpn2.example.com\n');

    const next = canary('vpn-updated');
    await call(vpnPath, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [vpn('canary vpn', { remote: 'vpn2.example.com', 'password-flags': '0' }, { password: next })]);
    expect(await lastRecord()).toMatchObject({ op: 'connection-update', changed: 'vpn.secrets', result: 'success' });
    const file = await expectPrivateFile(await fileOf(vpnPath), `[vpn-secrets]\npassword=${next}\n`);
    expect(file).not.toContain(`${BASE}-vpn-certpass`);
  });

  it('ClearSecrets removes the vpn secrets from memory and file, audited', async () => {
    await call(vpnPath, CONNECTION_IFACE, 'ClearSecrets');
    expect(await lastRecord()).toMatchObject({ op: 'connection-clear-secrets', uuid: vpnUuid, changed: 'vpn.secrets', result: 'success' });
    expect(await secretsOf(vpnPath, 'vpn')).toEqual({});
    const file = await expectPrivateFile(await fileOf(vpnPath));
    expect(file).not.toContain('[vpn-secrets]');
    expect(file).not.toContain(BASE);
    expect(file).toContain('remote=vpn2.example.com\n');
  });

  it('Update and UpdateUnsaved with a psk, AddConnectionUnsaved, then ClearSecrets and Delete of the wifi profile', async () => {
    const updated = canary('psk-updated');
    await call(wifiPath, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [wifi('canary wifi', updated)]);
    expect(await lastRecord()).toMatchObject({ op: 'connection-update', changed: '802-11-wireless-security.psk', result: 'success' });
    const file = await fileOf(wifiPath);
    await expectPrivateFile(file, `psk=${updated}\n`);

    const unsaved = canary('psk-update-unsaved');
    await call(wifiPath, CONNECTION_IFACE, 'UpdateUnsaved', 'a{sa{sv}}', [wifi('canary wifi', unsaved)]);
    expect(await secretsOf(wifiPath, '802-11-wireless-security')).toEqual({ '802-11-wireless-security': { psk: unsaved } });
    await call(wifiPath, CONNECTION_IFACE, 'Save');
    await expectPrivateFile(file, `psk=${unsaved}\n`);

    const addedUnsaved = await add(wifi('canary unsaved wifi', canary('psk-add-unsaved')), 'AddConnectionUnsaved');
    expect(await secretsOf(addedUnsaved, '802-11-wireless-security')).toEqual({ '802-11-wireless-security': { psk: `${BASE}-psk-add-unsaved` } });
    await call(addedUnsaved, CONNECTION_IFACE, 'ClearSecrets');
    expect(await secretsOf(addedUnsaved, '802-11-wireless-security')).toEqual({});

    await call(wifiPath, CONNECTION_IFACE, 'ClearSecrets');
    expect(await readFile(file, 'utf8')).not.toContain(BASE);
    await call(wifiPath, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [wifi('canary wifi', canary('psk-before-delete'))]);
    await expectPrivateFile(file, `psk=${BASE}-psk-before-delete\n`);
    await call(wifiPath, CONNECTION_IFACE, 'Delete');
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });

  it('a non-root caller is refused, and its secrets reach no record', async () => {
    const target = await add(wifi('canary guarded', canary('psk-guarded')));
    const cases: Array<[string, string, string, string, unknown[]]> = [
      [SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [{ connection: { id: 'nauser wifi', type: 'wifi' }, '802-11-wireless-security': { 'key-mgmt': 'wpa-psk', psk: canary('psk-nauser-add') } }]],
      [SETTINGS, SETTINGS_IFACE, 'AddConnectionUnsaved', 'a{sa{sv}}', [{ connection: { id: 'nauser vpn', type: 'vpn' }, vpn: { 'service-type': 'x' }, '802-1x': { password: canary('8021x-nauser') } }]],
      [target, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [{ connection: { id: 'canary guarded', type: 'wifi' }, '802-11-wireless-security': { 'key-mgmt': 'wpa-psk', psk: canary('psk-nauser-update') } }]],
      [target, CONNECTION_IFACE, 'UpdateUnsaved', 'a{sa{sv}}', [{ connection: { id: 'canary guarded', type: 'wifi' }, '802-11-wireless-security': { 'leap-password': canary('leap-nauser') } }]],
      [target, CONNECTION_IFACE, 'GetSecrets', 's', ['802-11-wireless-security']],
      [target, CONNECTION_IFACE, 'ClearSecrets', '', []],
      [target, CONNECTION_IFACE, 'Delete', '', []],
      [MANAGER, MANAGER_IFACE, 'AddAndActivateConnection', 'a{sa{sv}}oo', [{ connection: { id: 'nauser aac', type: 'wifi' }, '802-11-wireless-security': { psk: canary('psk-nauser-aac') } }, '/', '/']],
    ];
    for (const [path, iface, member, signature, args] of cases) {
      const before = (await harness.daemon.trail()).length;
      const out = await asNauser(path, iface, member, signature, args);
      expect(out, member).toMatchObject({ error: 'org.netaudit1.Error.PermissionDenied' });
      const records = (await harness.daemon.trail()).slice(before);
      expect(records, member).toEqual([expect.objectContaining({ result: 'fail', reason: 'not-authorized' })]);
    }
    expect(await secretsOf(target, '802-11-wireless-security')).toEqual({ '802-11-wireless-security': { psk: `${BASE}-psk-guarded` } });
  });

  it('invalid secrets are refused with a message that does not quote them, and a fail record', async () => {
    const sec = (props: Record<string, unknown>) => ({
      connection: { id: v('s', 'canary invalid'), type: v('s', 'wifi') },
      '802-11-wireless': { ssid: v('ay', Buffer.from('net')) },
      '802-11-wireless-security': props,
    });
    const pad = (s: string, n: number, c: string) => s + c.repeat(Math.max(0, n - s.length));
    const attempts: Array<[string, Dict, string]> = [
      ['a psk too short', sec({ 'key-mgmt': v('s', 'wpa-psk'), psk: v('s', SHORT) }), '802-11-wireless-security.psk: a WPA passphrase'],
      ['a psk too long', sec({ 'key-mgmt': v('s', 'wpa-psk'), psk: v('s', pad(canary('psk-too-long'), 70, 'x')) }), '802-11-wireless-security.psk: a WPA passphrase'],
      ['a psk of 64 characters, not hex', sec({ 'key-mgmt': v('s', 'wpa-psk'), psk: v('s', pad(canary('psk-64'), 64, 'z')) }), '802-11-wireless-security.psk: a WPA passphrase'],
      ['a psk with a control character', sec({ 'key-mgmt': v('s', 'wpa-psk'), psk: v('s', `${canary('psk-ctl')}\u0001`) }), '802-11-wireless-security.psk: the secret value contains the control character U+0001'],
      ['a wep key of the wrong length', sec({ 'key-mgmt': v('s', 'none'), 'wep-key1': v('s', pad(canary('wep-long'), 65, 'w')) }), '802-11-wireless-security.wep-key1: a WEP key has'],
      ['a leap password with an escape character', sec({ 'key-mgmt': v('s', 'ieee8021x'), 'leap-password': v('s', `${canary('leap-esc')}\u001b[2J`) }), '802-11-wireless-security.leap-password: the secret value contains'],
      ['a vpn secret with a control character', vpn('canary invalid', { remote: 'r' }, { password: `${canary('vpn-ctl')}\u0002` }), 'vpn.secrets["password"]: the secret value contains the control character U+0002'],
      ['an 802.1x password that is no string', ethernet('canary invalid', { '802-1x': { eap: v('as', ['peap']), password: v('ay', Buffer.from(canary('8021x-bytes'))) } }), '802-1x.password: expected a value of D-Bus type "s", got "ay"'],
    ];
    for (const [what, dict, message] of attempts) {
      const text = await refused('org.netaudit1.Error.InvalidArgument', SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [dict]);
      expect(text, what).toContain(message);
      expectNoSecret(`the error of ${what}`, text);
      expect(await lastRecord(), what).toMatchObject({ op: 'connection-add', name: 'canary invalid', result: 'fail', reason: 'invalid-argument' });
    }
    // The same through Update of an existing profile.
    const target = await add(wifi('canary update target', canary('psk-update-target')));
    const text = await refused('org.netaudit1.Error.InvalidArgument', target, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [wifi('canary update target', pad(canary('psk-update-invalid'), 90, 'q'))]);
    expect(text).toContain('802-11-wireless-security.psk: a WPA passphrase');
    expect(await lastRecord()).toMatchObject({ op: 'connection-update', result: 'fail', reason: 'invalid-argument' });
  });

  it('ReloadConnections loads a secret from a profile file and reports a malformed one without quoting its lines', async () => {
    const dir = harness.daemon.profilesDir;
    const good = canary('psk-file');
    await writeFile(join(dir, 'hand written.nmconnection'), `[connection]\nid=hand written\nuuid=0d1c2b3a-4958-4677-8695-a4b3c2d1e0f9\ntype=wifi\n\n[wifi]\nssid=hand\n\n[wifi-security]\nkey-mgmt=wpa-psk\npsk=${good}\n\n[vpn-secrets]\npassword=${canary('stray-vpn-secret')}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'malformed.nmconnection'), `[connection]\nid=malformed\ntype=wifi\n\n[wifi-security]\nkey-mgmt=wpa-psk\npsk ${canary('psk-malformed-line')}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'bad escape.nmconnection'), `[connection]\nid=bad escape\ntype=wifi\n\n[wifi]\nssid=x\n\n[wifi-security]\nkey-mgmt=wpa-psk\npsk=${canary('psk-bad-escape')}\\q\n`, { mode: 0o600 });
    await writeFile(join(dir, 'bad vpn.nmconnection'), `[connection]\nid=bad vpn\ntype=vpn\n\n[vpn]\nservice-type=x\n\n[vpn-secrets]\npassword=${canary('vpn-file-escape')}\\\n`, { mode: 0o600 });
    await writeFile(join(dir, 'short psk.nmconnection'), `[connection]\nid=short psk\ntype=wifi\n\n[wifi]\nssid=x\n\n[wifi-security]\nkey-mgmt=wpa-psk\npsk=${SHORT}\n`, { mode: 0o600 });
    await call(SETTINGS, SETTINGS_IFACE, 'ReloadConnections');

    const [path] = (await call(SETTINGS, SETTINGS_IFACE, 'GetConnectionByUuid', 's', ['0d1c2b3a-4958-4677-8695-a4b3c2d1e0f9'])) as [string];
    expect(await secretsOf(path, '802-11-wireless-security')).toEqual({ '802-11-wireless-security': { psk: good } });
    expect((await settingsOf(path))['802-11-wireless-security']).toEqual({ 'key-mgmt': 'wpa-psk' });

    const malformed = await harness.daemon.waitForLog(/skipping profile .*malformed\.nmconnection/);
    expect(malformed).toContain('malformed.nmconnection:7: the line is not keyfile syntax');
    // As NetworkManager does: a psk that does not parse is dropped, the profile is loaded.
    expect(await harness.daemon.waitForLog(/bad escape\.nmconnection:10: \[wifi-security\] psk/)).toContain('the secret value is not a valid keyfile string');
    // A vpn secret is read leniently, as NetworkManager reads it: its lone final backslash goes.
    const [listed] = (await call(SETTINGS, SETTINGS_IFACE, 'ListConnections')) as [string[]];
    const ids = await Promise.all(listed.map(async (p) => (await settingsOf(p)).connection!.id));
    expect(ids).toContain('bad vpn');
    // A psk NetworkManager accepts and netauditd would refuse is kept, and named by its key only.
    expect(await harness.daemon.waitForLog(/short psk\.nmconnection is kept but cannot be activated/)).toContain('802-11-wireless-security.psk: a WPA passphrase');
  });

  it('AddAndActivateConnection of a wifi profile is refused (no Wi-Fi device) and leaves its psk nowhere', async () => {
    const psk = canary('psk-add-activate');
    const text = await refused('org.netaudit1.Error.NotSupported', MANAGER, MANAGER_IFACE, 'AddAndActivateConnection', 'a{sa{sv}}oo', [wifi('canary activate', psk), '/', '/']);
    expect(text).toContain('wifi profile');
    expect(await lastRecord()).toMatchObject({ op: 'connection-add-activate', name: 'canary activate', result: 'fail', reason: 'no-wifi-device' });
    for (const name of await readdir(harness.daemon.profilesDir)) {
      expect(await readFile(join(harness.daemon.profilesDir, name), 'utf8'), name).not.toContain(psk);
    }
  });

  it('no secret reaches the trail, the log, stdout/stderr, the journal, the audit log, an error message or a reply', async () => {
    const [paths] = (await call(SETTINGS, SETTINGS_IFACE, 'ListConnections')) as [string[]];
    for (const path of paths) {
      await settingsOf(path);
      replies.push(json(await harness.client.getAllProperties(path, CONNECTION_IFACE)));
      replies.push(json(await call(path, 'org.freedesktop.DBus.Introspectable', 'Introspect')));
    }
    replies.push(json(await harness.client.getAllProperties(MANAGER, MANAGER_IFACE)));
    replies.push(json(await call(SETTINGS, 'org.freedesktop.DBus.Introspectable', 'Introspect')));

    const trail = await harness.daemon.trail();
    const { boot, seq } = trail.at(-1)! as { boot: string; seq: number };
    // Once the journal and the audit log hold the last record, they hold every one before it.
    await waitFor(async () => (await run('journalctl', ['--no-pager', '-o', 'json', `NETAUDIT_BOOT=${boot}`, `NETAUDIT_SEQ=${seq}`])).stdout.trim() !== '', { what: `the journal to hold seq ${seq}`, timeoutMs: 20_000 });
    await waitFor(async () => (await auditLog()).includes(`boot=${boot} seq=${seq} `), { what: `audit.log to hold seq ${seq}`, timeoutMs: 20_000 });

    const entries = await readdir(harness.daemon.auditDir, { withFileTypes: true });
    const trailFiles = await Promise.all(entries.filter((e) => e.isFile()).map((e) => readFile(join(harness.daemon.auditDir, e.name), 'utf8')));
    expect(trailFiles.join('').length).toBeGreaterThan(0);
    // The log at TRACE holds more than audit lines: the reload's warnings at least.
    expect(harness.daemon.log()).toMatch(/<warn> .* skipping profile/);
    const raw = await run('ausearch', ['-m', 'USYS_CONFIG', '-p', String(harness.daemon.pid), '--format', 'raw'], { env: { PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` } });
    expect(raw.stdout).toContain(`boot=${boot} seq=${seq} `);
    expect(errorTexts.length).toBeGreaterThan(10);

    for (const [where, text] of [
      ['the trail', trailFiles.join('\n')],
      ['the log', harness.daemon.log()],
      ['stdout and stderr', harness.daemon.stderr()],
      ['the journal', await journalExport()],
      ['audit.log', await auditLog()],
      ['ausearch --format raw', raw.stdout],
      ['the D-Bus error messages', errorTexts.join('\n')],
      ['the replies', replies.join('\n')],
    ] as const) {
      expectNoSecret(where, text);
    }
  });
});

describe('crash output while the daemon holds secrets', () => {
  let bus: TestBus;
  let daemon: TestDaemon;
  let client: TestClient;

  beforeAll(async () => {
    bus = await startBus();
    daemon = await startDaemon(bus, { config: { logging: { level: 'TRACE', domains: 'ALL' } } });
    client = await connect(bus.address);
  });

  afterAll(async () => {
    client?.close();
    await bus?.stop();
  });

  async function plant(): Promise<string[]> {
    const psk = canary('psk-crash');
    const vpnSecret = canary('vpn-crash');
    await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [wifi(`crash wifi ${randomBytes(3).toString('hex')}`, psk)]);
    await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnectionUnsaved', 'a{sa{sv}}', [vpn(`crash vpn ${randomBytes(3).toString('hex')}`, { remote: 'r' }, { password: vpnSecret })]);
    return [psk, vpnSecret];
  }

  it('losing the bus: the fatal message and the stop print no secret', async () => {
    const secrets = await plant();
    const exited = new Promise<number | null>((resolve) => daemon.process.once('exit', (code) => resolve(code)));
    process.kill(bus.pid, 'SIGKILL');
    expect(await exited).toBe(1);
    expect(daemon.stderr()).toContain('netauditd: lost the bus');
    for (const s of secrets) {
      for (const form of formsOf(s)) {
        expect(daemon.stderr()).not.toContain(form);
        expect(daemon.log()).not.toContain(form);
      }
    }
  });

  it('SIGABRT: Node prints nothing of its own, so no secret', async () => {
    const other = await startBus();
    try {
      const d = await startDaemon(other, { config: { logging: { level: 'TRACE', domains: 'ALL' } } });
      const c = await connect(other.address);
      const psk = canary('psk-abort');
      await c.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [wifi('abort wifi', psk)]);
      c.close();
      const exited = new Promise<NodeJS.Signals | null>((resolve) => d.process.once('exit', (_code, signal) => resolve(signal)));
      d.signal('SIGABRT');
      expect(await exited).toBe('SIGABRT');
      for (const form of formsOf(psk)) {
        expect(d.stderr()).not.toContain(form);
        expect(d.log()).not.toContain(form);
      }
    } finally {
      await other.stop();
    }
  });
});
