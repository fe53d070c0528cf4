// netauditctl device: list, show, set, reapply, disconnect, delete through
// the real daemon, on veth links made in the daemon's own network namespace.
// Terse and JSON output are checked against the Device objects' properties;
// exit codes 6 (nothing to reapply or disconnect), 7 (not a software link),
// 10 (no device).
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { deviceGone, deviceOnBus, DEVICE_IFACE, devicePaths, pathOf } from '../helpers/devices.js';
import { run, type RunResult } from '../helpers/exec.js';
import { ip, linkNames } from '../helpers/netns.js';
import { repoPath } from '../helpers/repo.js';
import { useDaemon } from '../helpers/use-daemon.js';

const cliMain = repoPath('dist', 'cli', 'main.js');
const harness = useDaemon();

function ctl(args: string[], options: { uid?: string } = {}): Promise<RunResult> {
  return run(process.execPath, [cliMain, '--bus-address', harness.bus.address, ...args], { ...options, env: { NO_COLOR: '' } });
}

const STATES: Record<number, string> = { 10: 'unmanaged', 20: 'unavailable', 30: 'disconnected', 100: 'connected' };

async function device(path: string): Promise<Record<string, unknown>> {
  return harness.client.getAllProperties(path, DEVICE_IFACE);
}

let dv0: number;

beforeAll(async () => {
  if (!existsSync(cliMain)) throw new Error(`${cliMain} is missing: run "npm run build" first`);
  await ip('-n', harness.daemon.netns, 'link', 'add', 'dv0', 'type', 'veth', 'peer', 'name', 'dv1');
  dv0 = await deviceOnBus(harness.client, harness.daemon.netns, 'dv0');
  await deviceOnBus(harness.client, harness.daemon.netns, 'dv1');
});

describe('device list and show', () => {
  it('lists every device as the daemon has it, terse and JSON, in ifindex order', async () => {
    const paths = await devicePaths(harness.client);
    const devices = (await Promise.all(paths.map(device))).sort((a, b) => (a['Ifindex'] as number) - (b['Ifindex'] as number));
    const terse = await ctl(['-t', '-f', 'DEVICE,TYPE,STATE,CONNECTION,MTU,MANAGED', 'device', 'status']);
    expect(terse).toMatchObject({ code: 0, stderr: '' });
    expect(terse.stdout).toBe(devices.map((d) => `${d['Interface']}:${d['DeviceType']}:${STATES[d['State'] as number]}::${d['Mtu']}:${d['Managed'] ? 'yes' : 'no'}\n`).join(''));
    const json = await ctl(['--json', '-f', 'device,ifindex,hwaddr,dbus-path', 'd', 'l']);
    expect(json.stdout).toBe(devices.map((d) => `${JSON.stringify({ device: d['Interface'], ifindex: d['Ifindex'], hwaddr: d['HwAddress'] || null, 'dbus-path': pathOf(d['Ifindex'] as number) })}\n`).join(''));
    expect((await ctl(['device'])).stdout.split('\n')[0]).toMatch(/^DEVICE +TYPE +STATE +CONNECTION$/);
  });

  it('shows one device field by field; an unknown one exits 10', async () => {
    const d = await device(pathOf(dv0));
    const r = await ctl(['-t', 'device', 'show', 'dv0']);
    expect(r.stdout).toBe([
      'GENERAL.DEVICE:dv0', 'GENERAL.TYPE:veth', `GENERAL.STATE:${STATES[d['State'] as number]}`, 'GENERAL.CONNECTION:', `GENERAL.IFINDEX:${dv0}`,
      `GENERAL.MTU:${d['Mtu']}`, `GENERAL.HWADDR:${String(d['HwAddress']).replaceAll(':', '\\:')}`, 'GENERAL.MANAGED:yes', `GENERAL.AUTOCONNECT:${d['Autoconnect'] ? 'yes' : 'no'}`,
      'GENERAL.CON-UUID:', 'GENERAL.CON-PATH:', `GENERAL.DBUS-PATH:${pathOf(dv0)}`, '',
    ].join('\n'));
    expect((await ctl(['-g', 'MTU', 'device', 'show', 'dv0'])).stdout).toBe(`${d['Mtu']}\n`);
    expect(await ctl(['device', 'show', 'nope0'])).toMatchObject({ code: 10, stdout: '', stderr: "Error: Device 'nope0' not found.\n" });
  });
});

describe('device set', () => {
  it('writes Managed and Autoconnect', async () => {
    expect(await ctl(['device', 'set', 'dv1', 'managed', 'no', 'autoconnect', 'no'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(await device(pathOf(await deviceOnBus(harness.client, harness.daemon.netns, 'dv1')))).toMatchObject({ Managed: false, Autoconnect: false });
    expect((await ctl(['-t', '-f', 'DEVICE,STATE,MANAGED', 'device', 'show', 'dv1'])).stdout).toBe('GENERAL.DEVICE:dv1\nGENERAL.STATE:unmanaged\nGENERAL.MANAGED:no\n');
    expect(await ctl(['device', 'set', 'dv1', 'managed', 'yes'])).toMatchObject({ code: 0 });
    expect(await ctl(['device', 'set', 'dv1', 'managed', 'perhaps'])).toMatchObject({ code: 2 });
    expect(await ctl(['device', 'set', 'dv1', 'colour', 'red'])).toMatchObject({ code: 2 });
    const denied = await ctl(['device', 'set', 'dv1', 'managed', 'no'], { uid: 'nauser' });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^Error: Setting managed of 'dv1' failed: .+\n$/);
  });
});

describe('device reapply', () => {
  it("applies a modified profile's address in place as nmcli does; exits 6 when nothing runs on the device, 10 for no device, 2 for an extra argument", async () => {
    const ns = harness.daemon.netns;
    const add = await ctl(['connection', 'add', 'type', 'ethernet', 'ifname', 'dv0', 'con-name', 'rcon', 'autoconnect', 'no', 'ipv4.method', 'manual', 'ipv4.addresses', '192.0.2.41/24', 'ipv6.method', 'ignore']);
    expect(add.code).toBe(0);
    expect((await ctl(['connection', 'up', 'rcon'])).code).toBe(0);
    expect((await ctl(['connection', 'modify', 'rcon', 'ipv4.addresses', '192.0.2.42/24'])).code).toBe(0);
    expect(await ip('-n', ns, '-br', 'addr', 'show', 'dev', 'dv0')).toContain('192.0.2.41/24');
    expect(await ctl(['device', 'reapply', 'dv0'])).toMatchObject({ code: 0, stderr: '', stdout: "Connection successfully reapplied to device 'dv0'.\n" });
    const addrs = await ip('-n', ns, '-br', 'addr', 'show', 'dev', 'dv0');
    expect(addrs).toContain('192.0.2.42/24');
    expect(addrs).not.toContain('192.0.2.41/24');
    expect((await ctl(['-t', '-f', 'DEVICE,STATE,CONNECTION', 'device', 'list'])).stdout).toContain('dv0:connected:rcon\n');
    expect((await ctl(['device', 'reapply', 'dv0', 'more'])).code).toBe(2);
    expect((await ctl(['device', 'disconnect', 'dv0'])).code).toBe(0);
    const idle = await ctl(['device', 'reapply', 'dv0']);
    expect(idle.code).toBe(6);
    expect(idle.stderr).toMatch(/^Error: Reapplying connection to device 'dv0' failed: Nothing is activated on "dv0".*\n$/);
    expect((await ctl(['device', 'reapply', 'nope0'])).code).toBe(10);
    expect((await ctl(['connection', 'delete', 'rcon'])).code).toBe(0);
  });
});

describe('device disconnect and delete', () => {
  it('disconnects an active device (the profile shows no device after); exits 6 when nothing runs on it', async () => {
    const add = await ctl(['connection', 'add', 'type', 'ethernet', 'ifname', 'dv0', 'con-name', 'dcon', 'autoconnect', 'no', 'ipv4.method', 'disabled', 'ipv6.method', 'ignore']);
    expect(add.code).toBe(0);
    expect((await ctl(['connection', 'up', 'dcon'])).code).toBe(0);
    expect((await ctl(['-t', '-f', 'DEVICE,STATE,CONNECTION', 'device', 'list'])).stdout).toContain('dv0:connected:dcon\n');
    expect(await ctl(['device', 'disconnect', 'dv0'])).toMatchObject({ code: 0, stderr: '', stdout: "Device 'dv0' successfully disconnected.\n" });
    expect((await ctl(['-t', '-f', 'NAME,DEVICE', 'connection', 'list'])).stdout).toContain('dcon:\n');
    const again = await ctl(['device', 'disconnect', 'dv0']);
    expect(again.code).toBe(6);
    expect(again.stderr).toMatch(/^Error: Disconnecting of 'dv0' failed: Nothing is active on "dv0".*\n$/);
  });

  it('deletes a software link (gone from the kernel), exits 7 for the loopback, 10 for no device', async () => {
    const r = await ctl(['--json', 'device', 'delete', 'dv0']);
    expect(r).toMatchObject({ code: 0, stderr: '', stdout: `${JSON.stringify({ device: 'dv0', path: pathOf(dv0) })}\n` });
    await deviceGone(harness.client, pathOf(dv0), 'dv0');
    expect(await linkNames(harness.daemon.netns)).not.toContain('dv0');
    const lo = await ctl(['device', 'delete', 'lo']);
    expect(lo.code).toBe(7);
    expect(lo.stderr).toMatch(/^Error: Deleting of 'lo' failed: .+\n$/);
    expect(await ctl(['device', 'delete', 'dv0'])).toMatchObject({ code: 10, stderr: "Error: Device 'dv0' not found.\n" });
  });
});
