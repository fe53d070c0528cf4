// org.netaudit1.Connection.Active at /org/netaudit1/ActiveConnection/N:
// translation between the bus and the core ActiveConnection (docs/api.md).
// Read-only: an active connection is ended with the Manager's
// DeactivateConnection or the Device's Disconnect.
import type { ActiveConnection } from '../core/activation/active-connection.js';
import type { Manager } from '../core/manager.js';
import { connectionPath } from './connection-iface.js';
import { devicePath } from './device-iface.js';
import type { InterfaceSpec } from './object-tree.js';

export const ACTIVE_PREFIX = '/org/netaudit1/ActiveConnection/';
export const ACTIVE_IFACE = 'org.netaudit1.Connection.Active';

export function activePath(number: number): string {
  return `${ACTIVE_PREFIX}${number}`;
}

export function activeInterface(manager: Manager, number: number): InterfaceSpec {
  const active = (): ActiveConnection | undefined => manager.activeConnection(number);
  return {
    name: ACTIVE_IFACE,
    methods: [],
    properties: [
      { name: 'Connection', signature: 'o', get: () => connectionPath(active()?.connection ?? 0) },
      { name: 'Id', signature: 's', get: () => active()?.id ?? '' },
      { name: 'Uuid', signature: 's', get: () => active()?.uuid ?? '' },
      { name: 'Devices', signature: 'ao', get: () => (active()?.devices ?? []).map(devicePath) },
      { name: 'State', signature: 'u', get: () => active()?.state ?? 4 },
    ],
    // NetworkManager's Connection.Active.StateChanged(u state, u reason)
    signals: [{ name: 'StateChanged', args: [['state', 'u'], ['reason', 'u']] }],
  };
}
