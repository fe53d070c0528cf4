// org.netaudit1.Device at /org/netaudit1/Devices/IFINDEX: translation
// between the bus and the core Device. Managed and Autoconnect are
// writable, Disconnect ends what runs on it, Delete deletes a software
// link and Reapply applies changed settings to what runs on it: each an
// audited change made by the core Manager. GetAppliedConnection reads.
import type { DeviceList } from '../core/devices/device-list.js';
import type { Manager } from '../core/manager.js';
import type { DeviceProperty } from '../core/devices/device.js';
import { activePath } from './active-iface.js';
import { dhcpConfigPath, ipConfigPath } from './ip-config-iface.js';
import type { InterfaceSpec } from './object-tree.js';
import { settingsInput, settingsToWire } from './variant.js';

export const DEVICES_PREFIX = '/org/netaudit1/Devices/';
export const DEVICE_IFACE = 'org.netaudit1.Device';

export function devicePath(ifindex: number): string {
  return `${DEVICES_PREFIX}${ifindex}`;
}

/** The bus name of each core property, for PropertiesChanged. */
export const DEVICE_PROPERTY_NAMES: Record<DeviceProperty, string> = {
  name: 'Interface',
  type: 'DeviceType',
  state: 'State',
  mtu: 'Mtu',
  hwAddress: 'HwAddress',
  managed: 'Managed',
  autoconnect: 'Autoconnect',
  activeConnection: 'ActiveConnection',
};

/** The ifindex a device path names (a vanished device's path too). */
function ifindexOf(path: string): number {
  return Number(path.slice(DEVICES_PREFIX.length));
}

/**
 * The interface of the device with `ifindex`; null for a vanished one (its
 * reads are refused as the object does not exist; its writes reach the
 * core, which refuses them with UnknownDevice and records the attempt).
 */
export function deviceInterface(devices: DeviceList, manager: Manager, ifindex: number | null): InterfaceSpec {
  const device = () => (ifindex === null ? undefined : devices.byIfindex(ifindex));
  return {
    name: DEVICE_IFACE,
    methods: [
      {
        name: 'Disconnect',
        in: [],
        out: [],
        operation: 'Device.Disconnect',
        handler: async (ctx) => {
          await manager.disconnectDevice(ctx.caller, ifindexOf(ctx.path));
          return [];
        },
      },
      {
        name: 'Delete',
        in: [],
        out: [],
        operation: 'Device.Delete',
        handler: async (ctx) => {
          await manager.deleteDevice(ctx.caller, ifindexOf(ctx.path));
          return [];
        },
      },
      {
        name: 'Reapply',
        in: [['connection', 'a{sa{sv}}'], ['version_id', 't'], ['flags', 'u']],
        out: [],
        operation: 'Device.Reapply',
        handler: async (ctx, [dict, versionId, flags]) => {
          await manager.reapplyDevice(ctx.caller, ifindexOf(ctx.path), settingsInput(dict), BigInt(versionId as bigint), flags as number);
          return [];
        },
      },
      {
        name: 'GetAppliedConnection',
        in: [['flags', 'u']],
        out: [['connection', 'a{sa{sv}}'], ['version_id', 't']],
        handler: async (ctx, [flags]) => {
          const { settings, versionId } = manager.appliedConnection(ifindexOf(ctx.path), flags as number);
          return [settingsToWire(settings), versionId];
        },
      },
    ],
    properties: [
      { name: 'Interface', signature: 's', get: () => device()?.name ?? '' },
      { name: 'Ifindex', signature: 'i', get: () => ifindex ?? 0 },
      { name: 'DeviceType', signature: 's', get: () => device()?.type ?? '' },
      { name: 'State', signature: 'u', get: () => device()?.state ?? 0 },
      { name: 'Mtu', signature: 'u', get: () => device()?.mtu ?? 0 },
      { name: 'HwAddress', signature: 's', get: () => device()?.hwAddress ?? '' },
      {
        name: 'ActiveConnection',
        signature: 'o',
        get: () => {
          const active = device()?.activeConnection;
          return active == null ? '/' : activePath(active);
        },
      },
      { name: 'Ip4Config', signature: 'o', get: () => (ifindex === null ? '/' : ipConfigPath(manager, ifindex, 4)) },
      { name: 'Ip6Config', signature: 'o', get: () => (ifindex === null ? '/' : ipConfigPath(manager, ifindex, 6)) },
      { name: 'Dhcp4Config', signature: 'o', get: () => (ifindex === null ? '/' : dhcpConfigPath(manager, ifindex, 4)) },
      { name: 'Dhcp6Config', signature: 'o', get: () => (ifindex === null ? '/' : dhcpConfigPath(manager, ifindex, 6)) },
      {
        name: 'Managed',
        signature: 'b',
        get: () => device()?.managed ?? false,
        set: { operation: 'Device.Managed', handler: (ctx, value, sig) => manager.setDeviceManaged(ctx.caller, ifindexOf(ctx.path), sig, value) },
      },
      {
        name: 'Autoconnect',
        signature: 'b',
        get: () => device()?.autoconnect ?? false,
        set: { operation: 'Device.Autoconnect', handler: (ctx, value, sig) => manager.setDeviceAutoconnect(ctx.caller, ifindexOf(ctx.path), sig, value) },
      },
    ],
    // NetworkManager's Device.StateChanged(u new_state, u old_state, u reason)
    signals: [{ name: 'StateChanged', args: [['new_state', 'u'], ['old_state', 'u'], ['reason', 'u']] }],
  };
}
