// The profile files of test/fixtures/keyfiles/ loaded by the real daemon and by
// NetworkManager 1.42's own reader (`nmcli --offline`): both load a file or both
// refuse it, with the same id, uuid and type, and the values NetworkManager drops
// are dropped here too. Then what the daemon does with the profiles it loads but
// does not activate: kept, updated and cleared with their unknown groups, never
// activated, never quoting a secret. Skipped, and reported so, where nmcli is absent.
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseKeyfile, unescapeString } from '../../src/config/ini.js';
import { DBusError, unwrap, variant } from '../helpers/client.js';
import { run } from '../helpers/exec.js';
import { hasOfflineNmcli } from '../helpers/nmcli.js';
import { CONNECTION_IFACE, MANAGER, MANAGER_IFACE, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { repoPath } from '../helpers/repo.js';
import { useDaemon } from '../helpers/use-daemon.js';

const FIXTURES = repoPath('test', 'fixtures', 'keyfiles');
const FILES = readdirSync(FIXTURES).filter((f) => f.endsWith('.nmconnection')).sort();
const SECRET_MARK = 'fixture-secret';
// The D-Bus names of NetworkManager's keyfile group aliases.
const ALIASES: Record<string, string> = { ethernet: '802-3-ethernet', wifi: '802-11-wireless', 'wifi-security': '802-11-wireless-security' };

type Groups = Map<string, Map<string, string>>;

/** A keyfile's groups by D-Bus setting name, the last of repeated keys winning, values raw. */
function groupsOf(text: string): Groups {
  const out: Groups = new Map();
  for (const g of parseKeyfile(text, 'nmcli').groups) {
    const name = ALIASES[g.name] ?? g.name;
    const keys = out.get(name) ?? new Map<string, string>();
    for (const e of g.entries) keys.set(e.key, e.value);
    out.set(name, keys);
  }
  return out;
}

function ipv4Text(n: number): string {
  return [...new Uint8Array(Uint32Array.of(n).buffer)].join('.');
}

// Values compared, as NetworkManager writes them and as GetSettings gives them.
const COMPARED: Array<{ setting: string; key: string; ours: (v: unknown) => string }> = [
  { setting: 'connection', key: 'autoconnect', ours: (v) => String(v) },
  { setting: 'connection', key: 'interface-name', ours: String },
  { setting: 'connection', key: 'master', ours: String },
  { setting: 'connection', key: 'slave-type', ours: String },
  { setting: '802-3-ethernet', key: 'mtu', ours: String },
  { setting: '802-3-ethernet', key: 'mac-address', ours: (v) => [...(v as Buffer)].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':') },
  { setting: 'ipv4', key: 'method', ours: String },
  { setting: 'ipv4', key: 'dns', ours: (v) => (v as number[]).map((n) => `${ipv4Text(n)};`).join('') },
  { setting: 'ipv6', key: 'method', ours: String },
  { setting: 'vlan', key: 'id', ours: String },
  { setting: 'vlan', key: 'parent', ours: String },
];

const nmcli = hasOfflineNmcli();

describe.skipIf(!nmcli)('every profile file NetworkManager 1.42 loads, netauditd loads', () => {
  // Inside the block that skipIf skips: without nmcli, no bus or daemon starts.
  const harness = useDaemon();
  const call = (path: string, iface: string, member: string, signature?: string, body?: unknown[]): Promise<unknown[]> =>
    harness.client.call(path, iface, member, signature, body);
  const refusal = async (p: Promise<unknown>): Promise<InstanceType<typeof DBusError>> => {
    const e = await p.then(() => { throw new Error('the call was accepted'); }, (x: unknown) => x);
    expect(e).toBeInstanceOf(DBusError);
    return e as InstanceType<typeof DBusError>;
  };
  const pathOf = async (uuid: string): Promise<string | null> => {
    try {
      return ((await call(SETTINGS, SETTINGS_IFACE, 'GetConnectionByUuid', 's', [uuid])) as [string])[0];
    } catch (e) {
      if (e instanceof DBusError && e.type === 'org.netaudit1.Error.UnknownConnection') return null;
      throw e;
    }
  };
  const uuidOf = (file: string): string => /^uuid=(.*)$/m.exec(readFileSync(join(FIXTURES, file), 'utf8'))![1]!.toLowerCase();
  const lastRecord = async (): Promise<Record<string, unknown>> => (await harness.daemon.trail()).at(-1)!;

  beforeAll(async () => {
    for (const file of FILES) await writeFile(join(harness.daemon.profilesDir, file), readFileSync(join(FIXTURES, file)), { mode: 0o600 });
    await call(SETTINGS, SETTINGS_IFACE, 'ReloadConnections');
  });

  it.each(FILES)('%s: loaded or refused as NetworkManager does, with its id, uuid, type and dropped values', async (file) => {
    const text = readFileSync(join(FIXTURES, file), 'utf8');
    const nm = await run('nmcli', ['--offline', 'connection', 'modify', 'connection.zone', 'netaudit-corpus'], { input: text });
    const path = await pathOf(uuidOf(file));
    if (nm.code !== 0) {
      expect(path, `NetworkManager refuses it (${nm.stderr.trim()})`).toBeNull();
      expect(await harness.daemon.waitForLog(new RegExp(`skipping profile .*/${file.replace(/[.]/g, '\\.')}`))).toContain('NetworkManager refuses it too');
      return;
    }
    expect(path, 'NetworkManager loads it').not.toBeNull();
    const theirs = groupsOf(nm.stdout);
    const ours = unwrap((await call(path!, CONNECTION_IFACE, 'GetSettings'))[0]) as Record<string, Record<string, unknown>>;
    expect(ours.connection!.id).toBe(unescapeString(theirs.get('connection')!.get('id')!));
    expect(ours.connection!.uuid).toBe(theirs.get('connection')!.get('uuid'));
    const type = theirs.get('connection')!.get('type')!;
    expect(ours.connection!.type).toBe(ALIASES[type] ?? type);

    const mine = groupsOf(text);
    for (const { setting, key, ours: form } of COMPARED) {
      if (!mine.get(setting)?.has(key)) continue;
      const nmValue = theirs.get(setting)?.get(key);
      const ourValue = ours[setting]?.[key];
      const what = `${setting}.${key}`;
      if (nmValue === undefined) expect(ourValue, `${what}: NetworkManager dropped it`).toBeUndefined();
      else expect(ourValue === undefined ? undefined : form(ourValue), what).toBe(ALIASES[nmValue] ?? nmValue);
    }
  });

  it('warns of each value it drops by file and line, quoting no secret', async () => {
    expect(await harness.daemon.waitForLog(/ethernet-bad-dns\.nmconnection:9: \[ipv4\] dns/)).toContain('"not-an-address" is not an IPv4 address');
    expect(await harness.daemon.waitForLog(/bad-boolean\.nmconnection:5: \[connection\] autoconnect/)).toContain('"perhaps" is not a boolean');
    expect(await harness.daemon.waitForLog(/bad-boolean\.nmconnection:9: \[ethernet\] mtu/)).toContain('"lots" is not an integer');
    expect(harness.daemon.log()).not.toContain(SECRET_MARK);
  });

  it('refuses to activate a profile of a type it does not activate, naming the type, and records the attempt', async () => {
    const gsm = (await pathOf(uuidOf('gsm.nmconnection')))!;
    const e = await refusal(call(MANAGER, MANAGER_IFACE, 'ActivateConnection', 'ooo', [gsm, '/', '/']));
    expect(e.type).toBe('org.netaudit1.Error.NotSupported');
    expect(e.text).toContain('connection.type "gsm"');
    expect(await lastRecord()).toMatchObject({ uuid: uuidOf('gsm.nmconnection'), result: 'fail', reason: 'not-supported' });
  });

  it('refuses to activate a profile holding a value NetworkManager accepts and netauditd does not, naming the key', async () => {
    const shared = (await pathOf(uuidOf('ipv4-shared.nmconnection')))!;
    const e = await refusal(call(MANAGER, MANAGER_IFACE, 'ActivateConnection', 'ooo', [shared, '/', '/']));
    expect(e.type).toBe('org.netaudit1.Error.NotSupported');
    expect(e.text).toContain('ipv4.method');
    const psk = (await pathOf(uuidOf('short-psk.nmconnection')))!;
    const p = await refusal(call(MANAGER, MANAGER_IFACE, 'ActivateConnection', 'ooo', [psk, '/', '/']));
    expect(p.type).toBe('org.netaudit1.Error.NotSupported');
    expect(p.text).toContain('802-11-wireless-security.psk');
    expect(p.text).not.toContain('shrt');
  });

  it('an Update that keeps what GetSettings gave keeps the groups it does not know in the file, and is recorded', async () => {
    const uuid = uuidOf('gsm.nmconnection');
    const path = (await pathOf(uuid))!;
    const [settings] = (await call(path, CONNECTION_IFACE, 'GetSettings')) as [Record<string, Record<string, unknown>>];
    settings.connection!.autoconnect = variant('b', true);
    await call(path, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [settings]);
    const record = await lastRecord();
    expect(record, JSON.stringify(record)).toMatchObject({ op: 'connection-update', uuid, result: 'success', changed: 'connection.autoconnect' });
    const [fileName] = [(await harness.client.getProperty(path, CONNECTION_IFACE, 'Filename')) as string];
    const text = await readFile(fileName, 'utf8');
    const groups = groupsOf(text);
    expect(groups.get('connection')!.get('type')).toBe('gsm');
    expect(groups.get('connection')!.get('autoconnect')).toBe('true');
    expect(Object.fromEntries(groups.get('gsm')!)).toEqual({ apn: 'internet.example', number: '*99#', password: 'fixture-secret-gsm-password', pin: '1234' });
    expect(Object.fromEntries(groups.get('ppp')!)).toEqual({ 'lcp-echo-failure': '5', 'lcp-echo-interval': '30' });
    // NetworkManager still reads it as the same profile.
    const nm = await run('nmcli', ['--offline', 'connection', 'modify', 'connection.zone', 'z'], { input: text });
    expect(nm.code, nm.stderr).toBe(0);
    expect(nm.stdout).toContain('apn=internet.example\n');
  });

  it('an Update may keep a refused value it found, and may not introduce one', async () => {
    const shared = (await pathOf(uuidOf('ipv4-shared.nmconnection')))!;
    const [kept] = (await call(shared, CONNECTION_IFACE, 'GetSettings')) as [Record<string, Record<string, unknown>>];
    kept.connection!['autoconnect-priority'] = variant('i', 5);
    await call(shared, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [kept]);
    expect(unwrap((await call(shared, CONNECTION_IFACE, 'GetSettings'))[0])).toMatchObject({ connection: { 'autoconnect-priority': 5 }, ipv4: { method: 'shared' } });

    const plain = (await pathOf(uuidOf('unknown-group.nmconnection')))!;
    const [introduced] = (await call(plain, CONNECTION_IFACE, 'GetSettings')) as [Record<string, Record<string, unknown>>];
    introduced.ipv4 = { method: variant('s', 'shared') };
    const e = await refusal(call(plain, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [introduced]));
    expect(e.type).toBe('org.netaudit1.Error.InvalidArgument');
    expect(e.text).toContain('ipv4.method');
    expect(await lastRecord()).toMatchObject({ op: 'connection-update', result: 'fail', reason: 'invalid-argument' });
    const [fileName] = [(await harness.client.getProperty(plain, CONNECTION_IFACE, 'Filename')) as string];
    expect(await readFile(fileName, 'utf8')).toContain('[x-site-inventory]\nrack=B7\nowner=netops\n');
  });

  it('ClearSecrets removes the secrets of a group it keeps without reading, and Delete removes the file', async () => {
    const uuid = uuidOf('wireguard.nmconnection');
    const path = (await pathOf(uuid))!;
    const fileName = (await harness.client.getProperty(path, CONNECTION_IFACE, 'Filename')) as string;
    await call(path, CONNECTION_IFACE, 'ClearSecrets');
    expect(await lastRecord()).toMatchObject({ op: 'connection-clear-secrets', uuid, result: 'success' });
    expect(String((await lastRecord()).changed).split(',')).toEqual(expect.arrayContaining(['wireguard.private-key', 'wireguard-peer.xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=.preshared-key']));
    const text = await readFile(fileName, 'utf8');
    expect(text).not.toMatch(/private-key=|preshared-key=/);
    expect(text).toContain('listen-port=51820\n');
    expect(text).toContain('endpoint=203.0.113.9:51820\n');

    await call(path, CONNECTION_IFACE, 'Delete');
    expect(await lastRecord()).toMatchObject({ op: 'connection-delete', uuid, result: 'success' });
    expect(await pathOf(uuid)).toBeNull();
    expect(harness.daemon.log()).not.toContain(SECRET_MARK);
  });
});
