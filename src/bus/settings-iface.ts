// org.netaudit1.Settings at /org/netaudit1/Settings: translation between the
// bus and the core SettingsService.
import type { SettingsService } from '../core/settings/settings.js';
import { connectionPath } from './connection-iface.js';
import type { BusObject } from './object-tree.js';
import { settingsInput } from './variant.js';

export const SETTINGS_PATH = '/org/netaudit1/Settings';
export const SETTINGS_IFACE = 'org.netaudit1.Settings';

export function settingsObject(settings: SettingsService): BusObject {
  const paths = (): string[] => settings.list().map((c) => connectionPath(c.number));
  return {
    path: SETTINGS_PATH,
    interfaces: [
      {
        name: SETTINGS_IFACE,
        methods: [
          { name: 'ListConnections', in: [], out: [['connections', 'ao']], handler: async () => [paths()] },
          {
            name: 'GetConnectionByUuid',
            in: [['uuid', 's']],
            out: [['connection', 'o']],
            handler: async (_ctx, [uuid]) => [connectionPath(settings.getByUuid(uuid as string).number)],
          },
          {
            name: 'AddConnection',
            in: [['connection', 'a{sa{sv}}']],
            out: [['path', 'o']],
            operation: 'Settings.AddConnection',
            handler: async (ctx, [dict]) => {
              const input = settingsInput(dict);
              return [connectionPath((await settings.add(ctx.caller, input, true)).number)];
            },
          },
          {
            name: 'AddConnectionUnsaved',
            in: [['connection', 'a{sa{sv}}']],
            out: [['path', 'o']],
            operation: 'Settings.AddConnectionUnsaved',
            handler: async (ctx, [dict]) => {
              const input = settingsInput(dict);
              return [connectionPath((await settings.add(ctx.caller, input, false)).number)];
            },
          },
          {
            name: 'ReloadConnections',
            in: [],
            out: [['status', 'b']],
            operation: 'Settings.ReloadConnections',
            handler: async (ctx) => {
              await settings.reload(ctx.caller);
              return [true];
            },
          },
        ],
        properties: [{ name: 'Connections', signature: 'ao', get: paths, emitsChanged: 'invalidates' }],
        signals: [
          { name: 'NewConnection', args: [['connection', 'o']] },
          { name: 'ConnectionRemoved', args: [['connection', 'o']] },
        ],
      },
    ],
  };
}
