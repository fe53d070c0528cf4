// The fuzzer's own expectation of the trail: which calls are attempted
// changes (one record each, whatever their arguments) and which are reads
// (none). Kept here rather than read from the daemon, so that a member the
// daemon forgets to mark shows as a mismatch; a member introspection shows
// that is in neither table fails the campaign until it is classified here.
//
// How the daemon routes a call (src/bus/dispatcher.ts, object-tree.ts):
// - exact objects /org/netaudit1 and /org/netaudit1/Settings, and numbered
//   families /org/netaudit1/Settings/N, /org/netaudit1/Devices/N (N matching
//   [1-9][0-9]{0,9}): a family member that does not exist still answers with
//   its interface, so a change sent to it reaches the core, which refuses
//   it as UnknownConnection/UnknownDevice and records the attempt;
// - /org/netaudit1/ActiveConnection/N has no changing member;
// - any other path is UnknownObject: no object, no attempt, no record (as
//   NetworkManager, whose unknown paths never reach its handlers);
// - a call without an interface field is looked up in the object's
//   interfaces (only Introspect is also answered by name alone);
// - Properties.Set records when it names a writable property of the
//   object's interface, with any value type; a Set of a read-only or
//   unknown property or interface is refused unrecorded.

export const CHANGING_METHODS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'org.netaudit1.Manager': {
    ActivateConnection: 'connection-activate',
    AddAndActivateConnection: 'connection-add-activate',
    DeactivateConnection: 'connection-deactivate',
    Reload: 'reload',
    Enable: 'networking-control',
    Sleep: 'sleep-control',
    SetLogging: 'logging-control',
  },
  'org.netaudit1.Settings': {
    AddConnection: 'connection-add',
    AddConnectionUnsaved: 'connection-add',
    ReloadConnections: 'reload',
  },
  'org.netaudit1.Settings.Connection': {
    GetSecrets: 'connection-get-secrets',
    Update: 'connection-update',
    UpdateUnsaved: 'connection-update',
    Save: 'connection-update',
    Delete: 'connection-delete',
    ClearSecrets: 'connection-clear-secrets',
  },
  'org.netaudit1.Device': {
    Disconnect: 'device-disconnect',
    Delete: 'device-delete',
    Reapply: 'device-reapply',
  },
};

export const READ_METHODS: Readonly<Record<string, readonly string[]>> = {
  'org.netaudit1.Manager': ['GetDevices', 'GetDeviceByIpIface', 'GetLogging'],
  'org.netaudit1.Settings': ['ListConnections', 'GetConnectionByUuid'],
  'org.netaudit1.Settings.Connection': ['GetSettings'],
  'org.netaudit1.Device': ['GetAppliedConnection'],
  'org.netaudit1.Connection.Active': [],
  'org.freedesktop.DBus.Introspectable': ['Introspect'],
  'org.freedesktop.DBus.Peer': ['Ping', 'GetMachineId'],
  'org.freedesktop.DBus.Properties': ['Get', 'GetAll', 'Set'],
};

export const WRITABLE_PROPERTIES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'org.netaudit1.Manager': { WirelessEnabled: 'radio-control' },
  'org.netaudit1.Device': { Managed: 'device-managed', Autoconnect: 'device-autoconnect' },
};

const EXACT: Readonly<Record<string, readonly string[]>> = {
  '/org/netaudit1': ['org.netaudit1.Manager'],
  '/org/netaudit1/Settings': ['org.netaudit1.Settings'],
};

const FAMILIES: ReadonlyArray<readonly [string, string]> = [
  ['/org/netaudit1/Settings/', 'org.netaudit1.Settings.Connection'],
  ['/org/netaudit1/Devices/', 'org.netaudit1.Device'],
];

/** The interfaces with changing members that a call to `path` reaches (none for an unknown path). */
export function interfacesAt(path: string): readonly string[] {
  const exact = EXACT[path];
  if (exact) return exact;
  for (const [prefix, iface] of FAMILIES) {
    if (path.startsWith(prefix) && /^[1-9][0-9]{0,9}$/.test(path.slice(prefix.length))) return [iface];
  }
  return [];
}

export interface SentCall {
  readonly path: string;
  /** '' when the message carries no interface field */
  readonly interface: string;
  readonly member: string;
  readonly signature: string;
  readonly body: readonly unknown[];
}

/** The audit op one call must record, or null for a call that must record nothing. */
export function expectedOp(call: SentCall): string | null {
  const reached = interfacesAt(call.path);
  if (call.interface === 'org.freedesktop.DBus.Properties') {
    if (call.member !== 'Set' || !call.signature.startsWith('ss')) return null;
    const [iface, prop] = call.body as [unknown, unknown];
    if (typeof iface !== 'string' || typeof prop !== 'string' || !reached.includes(iface)) return null;
    return Object.hasOwn(WRITABLE_PROPERTIES[iface] ?? {}, prop) ? WRITABLE_PROPERTIES[iface]![prop]! : null;
  }
  if (call.interface === '' && call.member === 'Introspect') return null;
  const candidates = call.interface === '' ? reached : reached.filter((i) => i === call.interface);
  for (const iface of candidates) {
    const ops = CHANGING_METHODS[iface] ?? {};
    if (Object.hasOwn(ops, call.member)) return ops[call.member]!;
    if ((READ_METHODS[iface] ?? []).includes(call.member)) return null;
  }
  return null;
}

/** The members that introspection shows and neither table classifies. */
export function unclassified(objects: ReadonlyArray<{ interfaces: ReadonlyArray<{ name: string; methods: ReadonlyArray<{ name: string }>; properties: ReadonlyArray<{ name: string; writable: boolean }> }> }>): string[] {
  const out = new Set<string>();
  for (const o of objects) {
    for (const i of o.interfaces) {
      for (const m of i.methods) {
        if (!Object.hasOwn(CHANGING_METHODS[i.name] ?? {}, m.name) && !(READ_METHODS[i.name] ?? []).includes(m.name)) out.add(`${i.name}.${m.name}`);
      }
      for (const p of i.properties) {
        if (p.writable !== Object.hasOwn(WRITABLE_PROPERTIES[i.name] ?? {}, p.name)) out.add(`${i.name}.${p.name} (${p.writable ? 'writable' : 'read-only'})`);
      }
    }
  }
  return [...out].sort();
}
