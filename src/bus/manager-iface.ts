// org.netaudit1.Manager at /org/netaudit1: translation between the bus and
// the core Manager. WirelessEnabled is writable: a write is an audited change;
// NetworkingEnabled is read-only, changed by Enable(b). Paths passed in are
// turned into numbers here; one that names nothing reaches the core as -1,
// which refuses it with the attempt recorded.
import dbus from 'dbus-next';
import type { Manager, ManagerProperty } from '../core/manager.js';
import { ACTIVE_PREFIX, activePath } from './active-iface.js';
import { CONNECTIONS_PREFIX, connectionPath } from './connection-iface.js';
import { DEVICES_PREFIX, devicePath } from './device-iface.js';
import { settingsInput } from './variant.js';
import { objectNumber, type BusObject } from './object-tree.js';

const { Variant } = dbus;

export const MANAGER_PATH = '/org/netaudit1';
export const MANAGER_IFACE = 'org.netaudit1.Manager';

/** The bus name of each core property the Manager announces, for PropertiesChanged. */
export const MANAGER_PROPERTY_NAMES: Record<ManagerProperty, string> = {
  state: 'State',
  networkingEnabled: 'NetworkingEnabled',
  wirelessEnabled: 'WirelessEnabled',
  activeConnections: 'ActiveConnections',
};

/** A device argument: '/' is none (null); a path that names no device gives -1, which the core refuses (recorded). */
function deviceArgument(path: string): number | null {
  return path === '/' ? null : objectNumber(path, DEVICES_PREFIX);
}

export function managerObject(manager: Manager): BusObject {
  const devicePaths = (): string[] => manager.devices().map((d) => devicePath(d.ifindex));
  return {
    path: MANAGER_PATH,
    interfaces: [
      {
        name: MANAGER_IFACE,
        methods: [
          { name: 'GetDevices', in: [], out: [['devices', 'ao']], handler: async () => [devicePaths()] },
          {
            name: 'GetDeviceByIpIface',
            in: [['iface', 's']],
            out: [['device', 'o']],
            handler: async (_ctx, [iface]) => [devicePath(manager.deviceByIpIface(iface as string).ifindex)],
          },
          {
            name: 'ActivateConnection',
            in: [
              ['connection', 'o'],
              ['device', 'o'],
              ['specific_object', 'o'],
            ],
            out: [['active_connection', 'o']],
            operation: 'Manager.ActivateConnection',
            handler: async (ctx, [connection, device]) => {
              const active = await manager.activate(ctx.caller, objectNumber(connection as string, CONNECTIONS_PREFIX), deviceArgument(device as string));
              return [activePath(active.number)];
            },
          },
          {
            name: 'AddAndActivateConnection',
            in: [
              ['connection', 'a{sa{sv}}'],
              ['device', 'o'],
              ['specific_object', 'o'],
            ],
            out: [
              ['path', 'o'],
              ['active_connection', 'o'],
            ],
            operation: 'Manager.AddAndActivateConnection',
            handler: async (ctx, [dict, device]) => {
              const { conn, active } = await manager.addAndActivate(ctx.caller, settingsInput(dict), deviceArgument(device as string));
              return [connectionPath(conn.number), activePath(active.number)];
            },
          },
          {
            name: 'DeactivateConnection',
            in: [['active_connection', 'o']],
            out: [],
            operation: 'Manager.DeactivateConnection',
            handler: async (ctx, [active]) => {
              await manager.deactivate(ctx.caller, objectNumber(active as string, ACTIVE_PREFIX));
              return [];
            },
          },
          {
            name: 'Reload',
            in: [['flags', 'u']],
            out: [],
            operation: 'Manager.Reload',
            handler: async (ctx, [flags]) => {
              await manager.reload(ctx.caller, flags as number);
              return [];
            },
          },
          {
            name: 'Enable',
            in: [['enable', 'b']],
            out: [],
            operation: 'Manager.Enable',
            handler: async (ctx, [enable]) => {
              await manager.enable(ctx.caller, enable as boolean);
              return [];
            },
          },
          {
            name: 'Sleep',
            in: [['sleep', 'b']],
            out: [],
            operation: 'Manager.Sleep',
            handler: async (ctx, [sleep]) => {
              await manager.sleep(ctx.caller, sleep as boolean);
              return [];
            },
          },
          {
            name: 'SetLogging',
            in: [
              ['level', 's'],
              ['domains', 's'],
            ],
            out: [],
            operation: 'Manager.SetLogging',
            handler: async (ctx, [level, domains]) => {
              await manager.setLogging(ctx.caller, level as string, domains as string);
              return [];
            },
          },
          {
            name: 'GetLogging',
            in: [],
            out: [
              ['level', 's'],
              ['domains', 's'],
            ],
            handler: async () => {
              const { level, domains } = manager.getLogging();
              return [level, domains];
            },
          },
        ],
        properties: [
          { name: 'Version', signature: 's', get: () => manager.version },
          { name: 'State', signature: 'u', get: () => manager.state },
          { name: 'NetworkingEnabled', signature: 'b', get: () => manager.networkingEnabled },
          {
            name: 'WirelessEnabled',
            signature: 'b',
            get: () => manager.wirelessEnabled,
            set: { operation: 'Manager.WirelessEnabled', handler: (ctx, value, sig) => manager.setWirelessEnabled(ctx.caller, sig, value) },
          },
          { name: 'Devices', signature: 'ao', get: devicePaths, emitsChanged: 'invalidates' },
          { name: 'ActiveConnections', signature: 'ao', get: () => manager.activeConnections().map((a) => activePath(a.number)) },
          { name: 'AuditEnabled', signature: 'b', get: () => manager.auditEnabled },
          {
            // backend → failing (b), failed, dropped (t: records since start), queued (u)
            name: 'AuditBackends',
            signature: 'a{sa{sv}}',
            get: () =>
              Object.fromEntries(
                manager.auditBackends().map((b) => [
                  b.name,
                  {
                    failing: new Variant('b', b.failing),
                    failed: new Variant('t', BigInt(b.failed)),
                    dropped: new Variant('t', BigInt(b.dropped)),
                    queued: new Variant('u', b.queued),
                  },
                ]),
              ),
          },
        ],
        signals: [
          { name: 'StateChanged', args: [['state', 'u']] },
          { name: 'DeviceAdded', args: [['device_path', 'o']] },
          { name: 'DeviceRemoved', args: [['device_path', 'o']] },
        ],
      },
    ],
  };
}
