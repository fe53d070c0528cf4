// org.netaudit1.Manager at /org/netaudit1: translation between the bus and
// the core Manager. WirelessEnabled is writable: a write is an audited change;
// NetworkingEnabled is read-only, changed by Enable(b).
import dbus from 'dbus-next';
import type { Manager, ManagerProperty } from '../core/manager.js';
import { devicePath } from './device-iface.js';
import type { BusObject } from './object-tree.js';

const { Variant } = dbus;

export const MANAGER_PATH = '/org/netaudit1';
export const MANAGER_IFACE = 'org.netaudit1.Manager';

/** The bus name of each core property the Manager announces, for PropertiesChanged. */
export const MANAGER_PROPERTY_NAMES: Record<ManagerProperty, string> = {
  state: 'State',
  networkingEnabled: 'NetworkingEnabled',
  wirelessEnabled: 'WirelessEnabled',
};

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
            name: 'Reload',
            in: [['flags', 'u']],
            out: [],
            op: 'reload',
            handler: async (ctx, [flags]) => {
              await manager.reload(ctx.caller, flags as number);
              return [];
            },
          },
          {
            name: 'Enable',
            in: [['enable', 'b']],
            out: [],
            op: 'networking-control',
            handler: async (ctx, [enable]) => {
              await manager.enable(ctx.caller, enable as boolean);
              return [];
            },
          },
          {
            name: 'Sleep',
            in: [['sleep', 'b']],
            out: [],
            op: 'sleep-control',
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
            op: 'logging-control',
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
            set: { op: 'radio-control', handler: (ctx, value, sig) => manager.setWirelessEnabled(ctx.caller, sig, value) },
          },
          { name: 'Devices', signature: 'ao', get: devicePaths, emitsChanged: 'invalidates' },
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
