// org.netaudit1.Manager at /org/netaudit1: translation between the bus and
// the core Manager.
import dbus from 'dbus-next';
import type { Manager } from '../core/manager.js';
import { devicePath } from './device-iface.js';
import type { BusObject } from './object-tree.js';

const { Variant } = dbus;

export const MANAGER_PATH = '/org/netaudit1';
export const MANAGER_IFACE = 'org.netaudit1.Manager';

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
