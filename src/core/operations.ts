// Operations: every D-Bus member and writable property that changes something
// (or discloses secrets), with the audit op its record has, the polkit
// actions it asks and what the record carries (docs/record-format.md). The
// bus layer names its members' rows by key; the core takes the op and the
// actions from the same rows, so the two cannot disagree. The ops no member
// makes (the daemon's own, the changes it finds made by others) are listed
// beside the table; record.ts's AUDIT_OPS stays the list of op names.
import type { AuditOp, AuditOrigin } from './audit/record.js';
import { Action, type Authorization, type Authorizer } from './auth/authorizer.js';
import type { Caller } from './caller.js';

/** What a record's `args` holds (docs/record-format.md). */
export type ArgsRule =
  | { readonly is: 'absent' }
  /** always this token */
  | { readonly is: 'fixed'; readonly value: string }
  /** a token the daemon makes from the call's arguments */
  | { readonly is: 'derived'; readonly form: string }
  /** the caller's own text, cut to MAX_VALUE_LENGTH (the record's `cut` then names `args`) */
  | { readonly is: 'caller-text'; readonly form: string };

export interface Operation {
  /** a method, or a writable property (a Properties.Set of it) */
  readonly is: 'method' | 'property';
  readonly op: AuditOp;
  /** the polkit actions asked, in this order; each must allow, and the first refusal is the answer */
  readonly actions: readonly [Action, ...Action[]];
  readonly args: ArgsRule;
  /** what the record identifies: the connection (uuid, name), the device (ifindex, iface) */
  readonly names: readonly ('connection' | 'device')[];
  /**
   * A request to the kernel, which can refuse it only once it is made: its
   * success record comes first and a refusal overturns it with a fail record
   * of the same tx (CommitOptions.kernelChange, docs/record-format.md).
   */
  readonly kernelChange: boolean;
}

const ABSENT = { is: 'absent' } as const;
const ON_OFF = { is: 'derived', form: 'on | off; absent when the value written is not a boolean' } as const;

/**
 * The audited members, keyed by interface (below org.netaudit1) and member.
 * A malformed call to one is recorded as a failed attempt with its op.
 */
export const OPERATIONS = {
  'Manager.ActivateConnection': {
    is: 'method',
    op: 'connection-activate',
    actions: [Action.NetworkControl],
    args: ABSENT,
    names: ['connection', 'device'],
    kernelChange: true,
  },
  'Manager.AddAndActivateConnection': {
    is: 'method',
    op: 'connection-add-activate',
    // the profile's add first, as AddConnection asks, then its activation
    actions: [Action.ModifySystem, Action.NetworkControl],
    args: ABSENT,
    names: ['connection', 'device'],
    kernelChange: true,
  },
  'Manager.DeactivateConnection': {
    is: 'method',
    op: 'connection-deactivate',
    actions: [Action.NetworkControl],
    args: ABSENT,
    names: ['connection', 'device'],
    kernelChange: true,
  },
  'Manager.Reload': {
    is: 'method',
    op: 'reload',
    actions: [Action.Reload],
    args: { is: 'derived', form: 'all | conf | connections; flags not known, in decimal' },
    names: [],
    kernelChange: false,
  },
  'Manager.Enable': {
    is: 'method',
    op: 'networking-control',
    actions: [Action.EnableDisableNetwork],
    args: { is: 'derived', form: 'on | off' },
    names: [],
    kernelChange: false,
  },
  'Manager.Sleep': {
    is: 'method',
    op: 'sleep-control',
    actions: [Action.SleepWake],
    args: { is: 'derived', form: 'sleep | wake' },
    names: [],
    kernelChange: false,
  },
  'Manager.SetLogging': {
    is: 'method',
    op: 'logging-control',
    actions: [Action.Logging],
    args: { is: 'caller-text', form: 'LEVEL:DOMAINS' },
    names: [],
    kernelChange: false,
  },
  'Manager.WirelessEnabled': {
    is: 'property',
    op: 'radio-control',
    actions: [Action.EnableDisableWifi],
    args: ON_OFF,
    names: [],
    kernelChange: false,
  },
  'Settings.AddConnection': {
    is: 'method',
    op: 'connection-add',
    actions: [Action.ModifySystem],
    args: ABSENT,
    names: ['connection'],
    kernelChange: false,
  },
  'Settings.AddConnectionUnsaved': {
    is: 'method',
    op: 'connection-add',
    actions: [Action.ModifySystem],
    args: { is: 'fixed', value: 'unsaved' },
    names: ['connection'],
    kernelChange: false,
  },
  'Settings.ReloadConnections': {
    is: 'method',
    op: 'reload',
    actions: [Action.Reload],
    args: { is: 'fixed', value: 'connections' },
    names: [],
    kernelChange: false,
  },
  // Changes nothing, but hands out secrets: audited, and only once its record is durable.
  'Settings.Connection.GetSecrets': {
    is: 'method',
    op: 'connection-get-secrets',
    actions: [Action.Secrets],
    args: { is: 'caller-text', form: 'SETTING (the setting name asked for)' },
    names: ['connection'],
    kernelChange: false,
  },
  'Settings.Connection.Update': {
    is: 'method',
    op: 'connection-update',
    actions: [Action.ModifySystem],
    args: ABSENT,
    names: ['connection'],
    kernelChange: false,
  },
  'Settings.Connection.UpdateUnsaved': {
    is: 'method',
    op: 'connection-update',
    actions: [Action.ModifySystem],
    args: { is: 'fixed', value: 'unsaved' },
    names: ['connection'],
    kernelChange: false,
  },
  'Settings.Connection.Save': {
    is: 'method',
    op: 'connection-update',
    actions: [Action.ModifySystem],
    args: { is: 'fixed', value: 'save' },
    names: ['connection'],
    kernelChange: false,
  },
  'Settings.Connection.Delete': {
    is: 'method',
    op: 'connection-delete',
    actions: [Action.ModifySystem],
    args: ABSENT,
    names: ['connection'],
    kernelChange: false,
  },
  'Settings.Connection.ClearSecrets': {
    is: 'method',
    op: 'connection-clear-secrets',
    actions: [Action.ModifySystem],
    args: ABSENT,
    names: ['connection'],
    kernelChange: false,
  },
  'Device.Disconnect': {
    is: 'method',
    op: 'device-disconnect',
    actions: [Action.NetworkControl],
    args: ABSENT,
    names: ['device', 'connection'],
    kernelChange: true,
  },
  'Device.Delete': {
    is: 'method',
    op: 'device-delete',
    actions: [Action.NetworkControl],
    args: ABSENT,
    names: ['device'],
    kernelChange: true,
  },
  'Device.Reapply': {
    is: 'method',
    op: 'device-reapply',
    actions: [Action.NetworkControl],
    args: ABSENT,
    names: ['device', 'connection'],
    kernelChange: true,
  },
  'Device.Managed': {
    is: 'property',
    op: 'device-managed',
    actions: [Action.NetworkControl],
    args: ON_OFF,
    names: ['device'],
    kernelChange: false,
  },
  'Device.Autoconnect': {
    is: 'property',
    op: 'device-autoconnect',
    actions: [Action.NetworkControl],
    args: ON_OFF,
    names: ['device'],
    kernelChange: false,
  },
} as const satisfies Record<string, Operation>;

export type OperationKey = keyof typeof OPERATIONS;

/** The ops of the bus members. */
type MemberOp = (typeof OPERATIONS)[OperationKey]['op'];

/**
 * The members that change nothing and disclose no secret: not audited. Every
 * method the bus serves is either a row of OPERATIONS or listed here.
 */
export const UNAUDITED = [
  'Manager.GetDevices',
  'Manager.GetDeviceByIpIface',
  'Manager.GetLogging',
  'Settings.ListConnections',
  'Settings.GetConnectionByUuid',
  'Settings.Connection.GetSettings',
  'Device.GetAppliedConnection',
] as const;

/**
 * The ops no bus member makes, with who makes them (docs/record-format.md).
 * The compiler holds this list and OPERATIONS to every op of AUDIT_OPS,
 * each in exactly one of them. (The daemon also makes ops of the members on
 * its own: autoconnect activates, a removed device ends what ran on it.)
 */
export const UNREQUESTED_OPS = {
  // an active connection found at start, taken over or torn down
  'connection-adopt': ['daemon'],
  // a profile the trail has never seen
  'connection-snapshot': ['daemon'],
  // a lease bound, changed, expired, refused (nak, declined) or released; a SLAAC address bound
  // or expired, or the DNS of router advertisements changed
  'dhcp4-lease': ['daemon'],
  'dhcp6-lease': ['daemon'],
  slaac: ['daemon'],
  'link-add': ['external'],
  'link-delete': ['external'],
  'link-change': ['external'],
  'address-add': ['external'],
  'address-delete': ['external'],
  'route-add': ['external'],
  'route-delete': ['external'],
  'rule-add': ['external'],
  'rule-delete': ['external'],
} as const satisfies Record<Exclude<AuditOp, MemberOp>, readonly AuditOrigin[]>;

/** The attempt being authorized: its caller, and where to note how it was allowed (the record's actor.auth). */
export interface Authorizing {
  readonly caller: Caller;
  authorizedBy(how: Authorization): void;
}

/**
 * Asks `auth` for each action of `operation`, in order: resolves when all
 * allow, else rejects with the first refusal. The attempt notes how it was
 * allowed: `polkit` when polkit allowed any of the actions, else `uid0`.
 */
export async function authorize(auth: Authorizer, attempt: Authorizing, operation: Operation): Promise<void> {
  let how: Authorization | undefined;
  for (const action of operation.actions) {
    const answer = await auth.require(attempt.caller, action);
    if (how !== 'polkit') how = answer;
  }
  if (how !== undefined) attempt.authorizedBy(how);
}

/** The record's args of an operation whose args are fixed; nothing for any other. */
export function fixedArgs(operation: Operation): { args?: string } {
  return operation.args.is === 'fixed' ? { args: operation.args.value } : {};
}
