// org.netaudit1.Settings.Connection at /org/netaudit1/Settings/N: translation
// between the bus and the core SettingsService for one profile.
import type { SettingsService } from '../core/settings/settings.js';
import type { InterfaceSpec } from './object-tree.js';
import { settingsInput, settingsToWire } from './variant.js';

export const CONNECTIONS_PREFIX = '/org/netaudit1/Settings/';
export const CONNECTION_IFACE = 'org.netaudit1.Settings.Connection';

export function connectionPath(number: number): string {
  return `${CONNECTIONS_PREFIX}${number}`;
}

function numberOf(path: string): number {
  return Number(path.slice(CONNECTIONS_PREFIX.length));
}

/**
 * The interface of connection N. The methods take N from the called path,
 * so the same spec serves a connection that no longer exists: the core then
 * refuses the call (and records a changing one).
 */
export function connectionInterface(settings: SettingsService, number: number | null): InterfaceSpec {
  const n = (path: string): number => number ?? numberOf(path);
  const conn = () => (number === null ? undefined : settings.byObjectNumber(number));
  return {
    name: CONNECTION_IFACE,
    methods: [
      {
        name: 'GetSettings',
        in: [],
        out: [['settings', 'a{sa{sv}}']],
        handler: async (ctx) => [settingsToWire(settings.getSettings(n(ctx.path)))],
      },
      {
        name: 'GetSecrets',
        in: [['setting_name', 's']],
        out: [['secrets', 'a{sa{sv}}']],
        operation: 'Settings.Connection.GetSecrets',
        handler: async (ctx, [setting]) => [settingsToWire(await settings.getSecrets(ctx.caller, n(ctx.path), setting as string))],
      },
      {
        name: 'Update',
        in: [['properties', 'a{sa{sv}}']],
        out: [],
        operation: 'Settings.Connection.Update',
        handler: async (ctx, [dict]) => {
          await settings.update(ctx.caller, n(ctx.path), settingsInput(dict), true);
          return [];
        },
      },
      {
        name: 'UpdateUnsaved',
        in: [['properties', 'a{sa{sv}}']],
        out: [],
        operation: 'Settings.Connection.UpdateUnsaved',
        handler: async (ctx, [dict]) => {
          await settings.update(ctx.caller, n(ctx.path), settingsInput(dict), false);
          return [];
        },
      },
      {
        name: 'Delete',
        in: [],
        out: [],
        operation: 'Settings.Connection.Delete',
        handler: async (ctx) => {
          await settings.delete(ctx.caller, n(ctx.path));
          return [];
        },
      },
      {
        name: 'ClearSecrets',
        in: [],
        out: [],
        operation: 'Settings.Connection.ClearSecrets',
        handler: async (ctx) => {
          await settings.clearSecrets(ctx.caller, n(ctx.path));
          return [];
        },
      },
      {
        name: 'Save',
        in: [],
        out: [],
        operation: 'Settings.Connection.Save',
        handler: async (ctx) => {
          await settings.save(ctx.caller, n(ctx.path));
          return [];
        },
      },
    ],
    properties: [
      { name: 'Unsaved', signature: 'b', get: () => conn()?.unsaved ?? false },
      { name: 'Filename', signature: 's', get: () => (conn()?.fileName ? `${settings.profilesDir}/${conn()!.fileName}` : '') },
    ],
    signals: [
      { name: 'Updated', args: [] },
      { name: 'Removed', args: [] },
    ],
  };
}
