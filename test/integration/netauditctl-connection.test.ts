// netauditctl connection: add, list, show, modify, delete, up, down through
// the real daemon on a private bus. Terse and JSON output are checked byte
// for byte against what the daemon gives over D-Bus; property text becomes
// the typed values NetworkManager's API has; a hostile profile name stays on
// its row in every output mode; exit codes 2, 4, 5, 10, and 1/4 for a user
// without the right.
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { unwrap, variant } from '../helpers/client.js';
import { run, type RunResult } from '../helpers/exec.js';
import { ip } from '../helpers/netns.js';
import { CONNECTION_IFACE, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { repoPath } from '../helpers/repo.js';
import { useDaemon } from '../helpers/use-daemon.js';

const cliMain = repoPath('dist', 'cli', 'main.js');
const harness = useDaemon();

function ctl(args: string[], options: { uid?: string } = {}): Promise<RunResult> {
  return run(process.execPath, [cliMain, '--bus-address', harness.bus.address, ...args], { ...options, env: { NO_COLOR: '' } });
}

type Dict = Record<string, Record<string, unknown>>;

async function profiles(): Promise<Array<{ path: string; settings: Dict }>> {
  const [paths] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'ListConnections')) as [string[]];
  return Promise.all(paths.map(async (path) => {
    const [settings] = await harness.client.call(path, CONNECTION_IFACE, 'GetSettings');
    return { path, settings: unwrap(settings) as Dict };
  }));
}

async function byName(name: string): Promise<{ path: string; settings: Dict }> {
  const found = (await profiles()).find((p) => p.settings['connection']!['id'] === name);
  if (!found) throw new Error(`no profile ${name}`);
  return found;
}

/** NetworkManager's ipv4.dns uint32: the address's bytes in memory order. */
function dnsU32(address: string): number {
  return Buffer.from(address.split('.').map(Number)).readUInt32LE(0);
}

beforeAll(() => {
  if (!existsSync(cliMain)) throw new Error(`${cliMain} is missing: run "npm run build" first`);
});

describe('connection add', () => {
  it('turns nmcli-style property text into typed settings and says what it added', async () => {
    const r = await ctl([
      'connection', 'add', 'type', 'ethernet', 'ifname', 'e0', 'con-name', 'lan0', 'autoconnect', 'no',
      'ipv4.method', 'manual', 'ipv4.addresses', '192.0.2.1/24, 198.51.100.2/24', 'ipv4.gateway', '192.0.2.254',
      'ipv4.dns', '192.0.2.53, 192.0.2.54', 'ipv4.routes', '203.0.113.0/24 192.0.2.254 100', 'ethernet.mtu', '1400',
      'ipv6.method', 'ignore',
    ]);
    const lan0 = await byName('lan0');
    const uuid = lan0.settings['connection']!['uuid'] as string;
    expect(r).toMatchObject({ code: 0, stderr: '', stdout: `Connection 'lan0' (${uuid}) successfully added.\n` });
    expect(lan0.settings['connection']).toMatchObject({ type: '802-3-ethernet', 'interface-name': 'e0', autoconnect: false });
    expect(lan0.settings['ipv4']).toMatchObject({
      method: 'manual',
      'address-data': [{ address: '192.0.2.1', prefix: 24 }, { address: '198.51.100.2', prefix: 24 }],
      gateway: '192.0.2.254',
      dns: [dnsU32('192.0.2.53'), dnsU32('192.0.2.54')],
      'route-data': [{ dest: '203.0.113.0', prefix: 24, 'next-hop': '192.0.2.254', metric: 100 }],
    });
    expect(lan0.settings['802-3-ethernet']).toMatchObject({ mtu: 1400 });
  });

  it('with --json prints the new profile as one JSON line; the default name is TYPE-IFNAME, addresses make ipv4 manual', async () => {
    const r = await ctl(['--json', 'connection', 'add', 'type', 'dummy', 'ifname', 'd0', 'ipv4.addresses', '192.0.2.1/24']);
    const added = await byName('dummy-d0');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`${JSON.stringify({ name: 'dummy-d0', uuid: added.settings['connection']!['uuid'], path: added.path })}\n`);
    expect(added.settings['ipv4']).toMatchObject({ method: 'manual', 'address-data': [{ address: '192.0.2.1', prefix: 24 }] });
  });

  it('exits 2 on a value it cannot parse, an unknown property, and a value the daemon refuses', async () => {
    const count = (await profiles()).length;
    const bad = await ctl(['connection', 'add', 'type', 'ethernet', 'ipv4.addresses', '300.1.1.1/24']);
    expect(bad).toMatchObject({ code: 2, stdout: '', stderr: 'Error: invalid value "300.1.1.1/24" for ipv4.addresses: "300.1.1.1" is not an IPv4 address\n' });
    const unknown = await ctl(['connection', 'add', 'type', 'ethernet', 'ipv4.frobnicate', 'yes']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^Error: invalid property "ipv4\.frobnicate": use setting\.property/);
    const refused = await ctl(['connection', 'add', 'type', 'ethernet', 'con-name', 'a/b']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^Error: Failed to add 'a\/b' connection: connection\.id: "a\/b" contains "\/"/);
    const hostile = await ctl(['connection', 'add', 'type', 'ethernet', 'con-name', 'a:b\x1b[2J\nfake:row']);
    expect(hostile.code).toBe(2);
    expect(hostile.stderr).not.toContain('\x1b');
    expect(hostile.stderr.split('\n')).toHaveLength(2);
    expect((await profiles()).length).toBe(count);
  });
});

describe('connection list and show', () => {
  it('lists NAME:UUID:TYPE:DEVICE in terse mode and as JSON lines, as the daemon has the profiles', async () => {
    const all = await profiles();
    const type = (t: unknown): string => (t === '802-3-ethernet' ? 'ethernet' : t === '802-11-wireless' ? 'wifi' : String(t));
    const terse = await ctl(['-t', 'connection', 'list']);
    expect(terse).toMatchObject({ code: 0, stderr: '' });
    const esc = (s: string): string => s.replace(/[\\:]/g, (c) => `\\${c}`);
    expect(terse.stdout).toBe(all.map((p) => `${esc(p.settings['connection']!['id'] as string)}:${p.settings['connection']!['uuid']}:${type(p.settings['connection']!['type'])}:\n`).join(''));
    const json = await ctl(['--json', '-f', 'name,uuid,type,device,dbus-path,active', 'c', 'show']);
    expect(json.stdout).toBe(all.map((p) => `${JSON.stringify({
      name: p.settings['connection']!['id'], uuid: p.settings['connection']!['uuid'], type: type(p.settings['connection']!['type']), device: null, 'dbus-path': p.path, active: false,
    })}\n`).join(''));
  });

  it('shows one profile field by field, terse multiline and JSON, by id, uuid or path', async () => {
    const lan0 = await byName('lan0');
    const uuid = lan0.settings['connection']!['uuid'] as string;
    const fields = 'connection.id,ipv4.addresses,ipv4.dns,ipv4.routes,802-3-ethernet.mtu,ipv4.gateway';
    const terse = await ctl(['-t', '-f', fields, 'connection', 'show', 'lan0']);
    expect(terse).toMatchObject({ code: 0, stderr: '' });
    expect(terse.stdout).toBe([
      'connection.id:lan0', 'ipv4.addresses[1]:192.0.2.1/24', 'ipv4.addresses[2]:198.51.100.2/24', 'ipv4.dns[1]:192.0.2.53', 'ipv4.dns[2]:192.0.2.54',
      'ipv4.routes[1]:203.0.113.0/24 192.0.2.254 100', '802-3-ethernet.mtu:1400', 'ipv4.gateway:192.0.2.254', '',
    ].join('\n'));
    for (const ref of [['uuid', uuid], [uuid], ['path', lan0.path], [lan0.path.split('/').pop()!]]) {
      const json = await ctl(['--json', '-f', fields, 'connection', 'show', ...ref]);
      expect(json.stdout).toBe(`${JSON.stringify({
        'connection.id': 'lan0', 'ipv4.addresses': ['192.0.2.1/24', '198.51.100.2/24'], 'ipv4.dns': ['192.0.2.53', '192.0.2.54'],
        'ipv4.routes': ['203.0.113.0/24 192.0.2.254 100'], '802-3-ethernet.mtu': 1400, 'ipv4.gateway': '192.0.2.254',
      })}\n`);
    }
    const people = await ctl(['connection', 'show', 'lan0']);
    expect(people.stdout).toMatch(/^connection\.id: +lan0$/m);
    expect(people.stdout).toMatch(/^GENERAL\.DBUS-PATH: +\/org\/netaudit1\/Settings\/\d+$/m);
    const setting = await ctl(['-g', 'ipv4.method,ipv4.gateway', 'connection', 'show', 'lan0']);
    // nmcli -g on a profile: one value per line, in the order of -g.
    expect(setting.stdout).toBe('manual\n192.0.2.254\n');
    expect((await ctl(['-g', 'ipv4.addresses', 'connection', 'show', 'lan0'])).stdout).toBe('192.0.2.1/24,198.51.100.2/24\n');
    expect(await ctl(['connection', 'show', 'no-such-profile'])).toMatchObject({ code: 10, stdout: '', stderr: "Error: unknown connection 'no-such-profile'.\n" });
  });

  it('refuses an unknown field with exit 2, listing the valid ones', async () => {
    const r = await ctl(['-f', 'NAME,COLOUR', 'connection', 'list']);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr.split('\n')[0]).toBe('netauditctl: invalid field "COLOUR"; allowed fields: NAME,UUID,TYPE,DEVICE,AUTOCONNECT,AUTOCONNECT-PRIORITY,INTERFACE-NAME,ACTIVE,STATE,DBUS-PATH,ACTIVE-PATH');
  });
});

describe('connection modify', () => {
  it('sets, appends (+), removes (-) and clears ("") properties', async () => {
    const r = await ctl(['connection', 'modify', 'lan0', '+ipv4.addresses', '203.0.113.9/24', '-ipv4.addresses', '192.0.2.1/24', '-ipv4.dns', '0', 'ipv4.routes', '', 'ethernet.mtu', '1500', 'connection.autoconnect', 'yes']);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const lan0 = await byName('lan0');
    expect(lan0.settings['ipv4']!['address-data']).toEqual([{ address: '198.51.100.2', prefix: 24 }, { address: '203.0.113.9', prefix: 24 }]);
    expect(lan0.settings['ipv4']!['dns']).toEqual([dnsU32('192.0.2.54')]);
    expect(lan0.settings['ipv4']).not.toHaveProperty('route-data');
    expect(lan0.settings['802-3-ethernet']!['mtu']).toBe(1500);
    expect(lan0.settings['connection']!['autoconnect']).toBe(true);
  });

  it('exits 2 for a bad boolean, and for + on a property that is no list; 10 for an unknown profile', async () => {
    expect((await ctl(['connection', 'modify', 'lan0', 'connection.autoconnect', 'maybe'])).stderr).toBe('Error: invalid value "maybe" for connection.autoconnect: accepted: yes, no (true, false, on, off)\n');
    expect(await ctl(['connection', 'modify', 'lan0', '+ethernet.mtu', '1'])).toMatchObject({ code: 2 });
    expect(await ctl(['connection', 'modify', 'nope', 'ethernet.mtu', '1400'])).toMatchObject({ code: 10, stderr: "Error: unknown connection 'nope'.\n" });
  });

  it('keeps a wifi profile\'s psk hidden, shows it with --show-secrets, and keeps it across a modify', async () => {
    const add = await ctl(['connection', 'add', 'type', 'wifi', 'ifname', 'w0', 'con-name', 'wl', 'ssid', 'net', 'wifi-sec.key-mgmt', 'wpa-psk', 'wifi-sec.psk', 'secret-psk-123']);
    expect(add.code).toBe(0);
    expect((await ctl(['-t', '-f', '802-11-wireless-security.psk', 'connection', 'show', 'wl'])).stdout).toBe('802-11-wireless-security.psk:<hidden>\n');
    expect((await ctl(['-t', '-f', '802-11-wireless-security.psk', 'connection', 'show', '-s', 'wl'])).stdout).toBe('802-11-wireless-security.psk:secret-psk-123\n');
    expect(await ctl(['connection', 'modify', 'wl', '802-11-wireless.hidden', 'yes'])).toMatchObject({ code: 0 });
    expect((await ctl(['-g', '802-11-wireless-security.psk,802-11-wireless.hidden', 'connection', 'show', '--show-secrets', 'wl'])).stdout).toBe('secret-psk-123\nyes\n');
    const denied = await ctl(['connection', 'show', '-s', 'wl'], { uid: 'nauser' });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^Error: Getting the secrets of 'wl' failed: .+\n$/);
    expect(denied.stdout).not.toContain('secret-psk-123');
  });
});

describe('a hostile profile name', () => {
  // The daemon refuses control characters in an id; what it takes ( ':' '\' and the bidi and line
  // separators) must still not fake a field, a row or reorder a line. An SSID is any bytes.
  const name = 'a:b\\c\u202efake\u2028row';
  const ssid = 'a:b\x1b[2J\nfake:row';

  beforeAll(async () => {
    await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [{
      connection: { id: variant('s', name), type: variant('s', '802-11-wireless') },
      '802-11-wireless': { ssid: variant('ay', Buffer.from(ssid)) },
    }]);
  });

  it('stays on its row escaped in tabular, terse, -g and JSON output', async () => {
    const p = await byName(name);
    const uuid = p.settings['connection']!['uuid'] as string;
    const table = await ctl(['-f', 'NAME,UUID', 'connection', 'list']);
    const row = table.stdout.split('\n').find((l) => l.includes(uuid))!;
    expect(row).toMatch(/^a:b\\c\\u202efake\\u2028row +[0-9a-f-]{36}$/);
    expect(table.stdout).not.toMatch(/[\u2028\u202e\x1b]/);
    expect(table.stdout.split('\n')).toHaveLength((await profiles()).length + 2);
    const terse = await ctl(['-t', '-f', 'NAME,UUID', 'connection', 'list']);
    expect(terse.stdout.split('\n')).toContain(`a\\:b\\\\c\\u202efake\\u2028row:${uuid}`);
    const values = await ctl(['-g', 'connection.id', 'connection', 'show', 'uuid', uuid]);
    expect(values.stdout).toBe('a\\:b\\\\c\\u202efake\\u2028row\n');
    const json = await ctl(['--json', '-f', 'name,uuid', 'connection', 'list']);
    const line = json.stdout.split('\n').find((l) => l.includes(uuid))!;
    expect(line).toBe(`{"name":"a:b\\\\c\\u202efake\\u2028row","uuid":"${uuid}"}`);
    expect(JSON.parse(line).name).toBe(name);
  });

  it('shows an SSID holding ESC and a newline escaped, on one line', async () => {
    const shown = await ctl(['-f', '802-11-wireless.ssid', 'connection', 'show', 'id', name]);
    expect(shown.stdout).toMatch(/^802-11-wireless\.ssid: +a:b\\x1b\[2J\\nfake:row\n$/);
    const terse = await ctl(['-t', '-f', '802-11-wireless.ssid', 'connection', 'show', 'id', name]);
    expect(terse.stdout).toBe('802-11-wireless.ssid:a\\:b\\x1b[2J\\nfake\\:row\n');
    const json = await ctl(['--json', '-f', '802-11-wireless.ssid', 'connection', 'show', 'id', name]);
    expect(json.stdout).toBe('{"802-11-wireless.ssid":"a:b\\u001b[2J\\nfake:row"}\n');
  });
});

describe('connection up, down and delete', () => {
  beforeAll(async () => {
    await ip('-n', harness.daemon.netns, 'link', 'add', 'ctl0', 'type', 'veth', 'peer', 'name', 'ctl1');
    const add = await ctl(['connection', 'add', 'type', 'ethernet', 'ifname', 'ctl0', 'con-name', 'c0', 'autoconnect', 'no', 'ipv4.method', 'disabled', 'ipv6.method', 'ignore']);
    expect(add.code).toBe(0);
  });

  it('up activates on the profile\'s interface; list shows it first with its device; down deactivates', async () => {
    const c0 = await byName('c0');
    const up = await ctl(['--json', 'connection', 'up', 'c0']);
    expect(up).toMatchObject({ code: 0, stderr: '' });
    const { 'active-path': active } = JSON.parse(up.stdout) as { 'active-path': string };
    expect(up.stdout).toBe(`${JSON.stringify({ name: 'c0', uuid: c0.settings['connection']!['uuid'], 'active-path': active })}\n`);
    const list = await ctl(['-t', '-f', 'NAME,DEVICE,STATE,ACTIVE-PATH', 'connection', 'list']);
    expect(list.stdout.split('\n')[0]).toBe(`c0:ctl0:activated:${active}`);
    const down = await ctl(['connection', 'down', 'c0']);
    expect(down).toMatchObject({ code: 0, stderr: '', stdout: `Connection 'c0' successfully deactivated (D-Bus active path: ${active})\n` });
    expect(await ctl(['connection', 'down', 'c0'])).toMatchObject({ code: 10, stderr: "Error: 'c0' is not an active connection.\n" });
    const again = await ctl(['connection', 'up', 'id', 'c0', 'ifname', 'ctl0']);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toMatch(/^Connection successfully activated \(D-Bus active path: \/org\/netaudit1\/ActiveConnection\/\d+\)\n$/);
    expect(await ctl(['connection', 'down', 'apath', again.stdout.match(/\((?:D-Bus active path: )(\S+)\)/)![1]!])).toMatchObject({ code: 0 });
  });

  it('exits 4 when the activation fails (no such interface), 10 for an unknown profile or device', async () => {
    expect((await ctl(['connection', 'add', 'type', 'ethernet', 'ifname', 'nope0', 'con-name', 'ghost', 'autoconnect', 'no', 'ipv4.method', 'disabled', 'ipv6.method', 'ignore'])).code).toBe(0);
    const r = await ctl(['connection', 'up', 'ghost']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^Error: Connection activation failed: No device is called "nope0".*\n$/);
    expect(await ctl(['connection', 'up', 'nobody'])).toMatchObject({ code: 10, stderr: "Error: unknown connection 'nobody'.\n" });
    expect(await ctl(['connection', 'up', 'c0', 'ifname', 'nope1'])).toMatchObject({ code: 10, stderr: "Error: Device 'nope1' not found.\n" });
  });

  it('refuses a user without the right: add exits 1, up exits 4 (nmcli: activation failed), with the daemon\'s reason', async () => {
    const add = await ctl(['connection', 'add', 'type', 'ethernet', 'con-name', 'by-nauser'], { uid: 'nauser' });
    expect(add.code).toBe(1);
    expect(add.stderr).toMatch(/^Error: Failed to add 'by-nauser' connection: .+\n$/);
    const up = await ctl(['connection', 'up', 'c0'], { uid: 'nauser' });
    expect(up.code).toBe(4);
    expect(up.stderr).toMatch(/^Error: Connection activation failed: .+\n$/);
    expect((await profiles()).some((p) => p.settings['connection']!['id'] === 'by-nauser')).toBe(false);
  });

  it('delete removes the profiles named, reports an unknown one with exit 10', async () => {
    const lan0 = await byName('lan0');
    const r = await ctl(['connection', 'delete', 'lan0', 'nosuch']);
    expect(r.code).toBe(10);
    expect(r.stdout).toBe(`Connection 'lan0' (${lan0.settings['connection']!['uuid']}) successfully deleted.\n`);
    expect(r.stderr).toBe("Error: unknown connection 'nosuch'.\n");
    expect((await profiles()).some((p) => p.path === lan0.path)).toBe(false);
    const json = await ctl(['--json', 'connection', 'delete', 'ghost']);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: 'ghost' });
    const denied = await ctl(['connection', 'delete', 'c0'], { uid: 'nauser' });
    expect(denied.code).toBe(7);
    expect(denied.stderr).toMatch(/^Error: Connection deletion failed: .+\n$/);
  });
});
