// The daemon's own switches as they are kept across restarts: each device's
// Managed and Autoconnect, keyed by interface name (an ifindex changes across
// reboots; a new link with a known name inherits its settings), and the
// networking and wireless switches in state-dir; sleep in run-dir, which a
// restart keeps and a reboot clears.

export interface DeviceSettings {
  readonly managed?: boolean;
  readonly autoconnect?: boolean;
}

export interface PersistentState {
  readonly networking: boolean;
  readonly wireless: boolean;
  readonly devices: Readonly<Record<string, DeviceSettings>>;
}

export interface RuntimeState {
  readonly sleeping: boolean;
}

export const PERSISTENT_DEFAULTS: PersistentState = Object.freeze({ networking: true, wireless: true, devices: Object.freeze({}) });

export const RUNTIME_DEFAULTS: RuntimeState = Object.freeze({ sleeping: false });

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} is not an object`);
  return value as Record<string, unknown>;
}

function flag(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new Error(`${what} is not true or false`);
  return value;
}

export function parsePersistentState(value: unknown): PersistentState {
  const o = object(value, 'the state');
  const devices: Record<string, DeviceSettings> = {};
  for (const [name, raw] of Object.entries(object(o.devices ?? {}, 'devices'))) {
    const d = object(raw, `device ${JSON.stringify(name)}`);
    devices[name] = {
      ...(d.managed !== undefined ? { managed: flag(d.managed, 'managed') } : {}),
      ...(d.autoconnect !== undefined ? { autoconnect: flag(d.autoconnect, 'autoconnect') } : {}),
    };
  }
  return { networking: flag(o.networking ?? true, 'networking'), wireless: flag(o.wireless ?? true, 'wireless'), devices };
}

export function parseRuntimeState(value: unknown): RuntimeState {
  return { sleeping: flag(object(value, 'the state').sleeping ?? false, 'sleeping') };
}

/** `state` with device `name`'s setting changed. */
export function withDeviceSetting(state: PersistentState, name: string, setting: DeviceSettings): PersistentState {
  return { ...state, devices: { ...state.devices, [name]: { ...state.devices[name], ...setting } } };
}
