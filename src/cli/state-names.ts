// NetworkManager's state numbers as nmcli words them, and their colors:
// the daemon's State (NMState), a device's (NMDeviceState) and an active
// connection's (NMActiveConnectionState).
import type { Color } from './format/color.js';

const MANAGER: Readonly<Record<number, string>> = {
  10: 'asleep',
  20: 'disconnected',
  30: 'disconnecting',
  40: 'connecting',
  50: 'connected (local only)',
  60: 'connected (site only)',
  70: 'connected',
};

const DEVICE: Readonly<Record<number, string>> = {
  10: 'unmanaged',
  20: 'unavailable',
  30: 'disconnected',
  40: 'connecting (prepare)',
  50: 'connecting (configuring)',
  60: 'connecting (need authentication)',
  70: 'connecting (getting IP configuration)',
  80: 'connecting (checking IP connectivity)',
  90: 'connecting (starting secondary connections)',
  100: 'connected',
  110: 'deactivating',
  120: 'connection failed',
};

const ACTIVE: Readonly<Record<number, string>> = { 1: 'activating', 2: 'activated', 3: 'deactivating', 4: 'deactivated' };

export function managerStateName(state: number): string {
  return MANAGER[state] ?? 'unknown';
}

export function deviceStateName(state: number): string {
  return DEVICE[state] ?? 'unknown';
}

export function activeStateName(state: number): string {
  return ACTIVE[state] ?? 'unknown';
}

/**
 * The color of a state word: connected green, connecting yellow, failed or
 * disconnected red, unmanaged dim; auditing with failing backends
 * (`enabled (failing: …)`) yellow.
 */
export function stateColor(value: unknown): Color | null {
  if (typeof value !== 'string') return null;
  if (value === 'connected' || value === 'activated' || value === 'enabled') return 'green';
  if (value.startsWith('connecting') || value === 'activating' || value === 'deactivating' || value.startsWith('connected (')) return 'yellow';
  if (value.startsWith('enabled (')) return 'yellow';
  if (value === 'disconnected' || value === 'connection failed' || value === 'asleep' || value === 'disabled') return 'red';
  if (value === 'unmanaged' || value === 'unavailable' || value === 'unknown') return 'dim';
  return null;
}
