// DeviceList and Device over a fake Platform: identity by ifindex, NetworkManager's types and states, changed property names.
import { describe, expect, it } from 'vitest';
import { DeviceList } from '../../../../src/core/devices/device-list.js';
import { Device, deviceType } from '../../../../src/core/devices/device.js';
import { Logger } from '../../../../src/log/logger.js';
import { FakePlatform, fakeLink as link } from './fake-platform.js';

function list(platform: FakePlatform): { devices: DeviceList; log: string[] } {
  const log: string[] = [];
  const logger = new Logger({ write: (l) => log.push(l) }, { now: () => 0 });
  return { devices: new DeviceList({ platform, log: logger.domain('CORE') }), log };
}

describe('Device', () => {
  it('takes NetworkManager\'s type names from the link kind, loopback and ethernet', () => {
    expect(deviceType(link())).toBe('veth');
    expect(deviceType(link({ kind: 'bridge' }))).toBe('bridge');
    expect(deviceType(link({ kind: null }))).toBe('ethernet');
    expect(deviceType(link({ kind: null, arphrd: 772 }))).toBe('loopback');
    expect(deviceType(link({ kind: null, arphrd: 65534 }))).toBe('generic');
  });

  it('is unmanaged (10) as the loopback, unavailable (20) without carrier, disconnected (30) with it', () => {
    expect(new Device(link({ kind: null, arphrd: 772, up: true, lowerUp: true })).state).toBe(10);
    expect(new Device(link({ kind: null, arphrd: 772 })).managed).toBe(false);
    expect(new Device(link({ up: true })).state).toBe(20);
    expect(new Device(link({ up: true, lowerUp: true })).state).toBe(30);
  });

  it('shows its hardware address upper-case and names the properties an update changed', () => {
    const d = new Device(link());
    expect(d.hwAddress).toBe('02:00:5E:00:00:01');
    expect(d.update(link({ up: true }))).toEqual([]);
    expect(d.update(link({ name: 'lan', mtu: 1400, up: true, lowerUp: true }))).toEqual(['name', 'state', 'mtu']);
    expect(d.update(link({ name: 'lan', mtu: 1400, hwAddress: '02:00:5e:00:00:02', up: true, lowerUp: true }))).toEqual(['hwAddress']);
  });
});

describe('DeviceList', () => {
  it('loads the platform\'s links, keyed and listed by ifindex, found by name', async () => {
    const platform = new FakePlatform([link({ ifindex: 3, name: 'br0', kind: 'bridge' }), link({ ifindex: 1, name: 'lo', kind: null, arphrd: 772 })]);
    const { devices } = list(platform);
    await devices.load();
    expect(devices.list().map((d) => [d.ifindex, d.name, d.type])).toEqual([[1, 'lo', 'loopback'], [3, 'br0', 'bridge']]);
    expect(devices.byName('br0')?.ifindex).toBe(3);
    expect(devices.byIfindex(1)?.name).toBe('lo');
    expect(devices.byName('eth0')).toBeUndefined();
  });

  it('keeps a renamed link as the same device, and says which properties changed', async () => {
    const platform = new FakePlatform([link()]);
    const { devices, log } = list(platform);
    await devices.load();
    const before = devices.byIfindex(2);
    const changes: Array<[number, string[]]> = [];
    devices.on('changed', (d, props) => changes.push([d.ifindex, props]));
    platform.emit('link-changed', link({ name: 'wan0' }));
    platform.emit('link-changed', link({ name: 'wan0' }));
    expect(devices.byIfindex(2)).toBe(before);
    expect(devices.byName('wan0')).toBe(before);
    expect(devices.byName('v0')).toBeUndefined();
    expect(changes).toEqual([[2, ['name']]]);
    expect(log.join('')).toContain('device "v0" (ifindex 2) is now "wan0"');
  });

  it('announces added and removed devices, and takes an unknown changed link as added', async () => {
    const platform = new FakePlatform();
    const { devices } = list(platform);
    await devices.load();
    const seen: string[] = [];
    devices.on('added', (d) => seen.push(`+${d.name}`));
    devices.on('removed', (d) => seen.push(`-${d.name}`));
    platform.emit('link-added', link({ ifindex: 7, name: 'mv0', kind: 'macvlan' }));
    platform.emit('link-changed', link({ ifindex: 8, name: 'vx0', kind: 'vxlan' }));
    platform.emit('link-removed', link({ ifindex: 7, name: 'mv0' }));
    platform.emit('link-removed', link({ ifindex: 99, name: 'ghost' }));
    expect(seen).toEqual(['+mv0', '+vx0', '-mv0']);
    expect(devices.list().map((d) => d.name)).toEqual(['vx0']);
  });

  it('follows events that come while it loads, and none after close', async () => {
    const platform = new FakePlatform([link()]);
    const { devices } = list(platform);
    const loading = devices.load();
    platform.emit('link-added', link({ ifindex: 5, name: 'early' }));
    await loading;
    expect(devices.list().map((d) => d.name)).toEqual(['v0', 'early']);
    devices.close();
    platform.emit('link-added', link({ ifindex: 6, name: 'late' }));
    expect(devices.byIfindex(6)).toBeUndefined();
    expect(platform.listenerCount('link-added')).toBe(0);
  });
});
