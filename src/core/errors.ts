// NetauditError: the one error type of the core. It carries the public error
// name (docs/api.md), a message a person can act on, and the audit reason token
// (docs/record-format.md) that goes into the record instead of any caller text.

export type ErrorCode =
  | 'PermissionDenied'
  | 'InvalidArgument'
  | 'UnknownConnection'
  | 'UnknownDevice'
  | 'UuidExists'
  | 'NotSupported'
  | 'AlreadyAsleepOrAwake'
  | 'AlreadyEnabledOrDisabled'
  | 'ConnectionNotActive'
  | 'NetworkingDisabled'
  | 'UnmanagedDevice'
  | 'IncompatibleConnection'
  /** Device.Reapply: the applied connection changed since the caller read its version id */
  | 'VersionIdMismatch'
  | 'Failed';

export type Reason =
  | 'not-authorized'
  | 'caller-unknown'
  | 'polkit-unavailable'
  | 'invalid-argument'
  | 'invalid-config'
  | 'uuid-exists'
  | 'unknown-connection'
  | 'unknown-device'
  | 'not-supported'
  | 'kernel-error'
  | 'already-asleep-or-awake'
  | 'already-enabled-or-disabled'
  | 'not-active'
  | 'networking-disabled'
  | 'asleep'
  | 'device-unmanaged'
  | 'device-removed'
  | 'incompatible-device'
  | 'version-id-mismatch'
  | 'no-wifi-device'
  | 'audit-trail-unavailable'
  | 'io-error'
  /** the daemon stopped before the change it had recorded was done */
  | 'interrupted'
  /** no DHCP server gave a lease within ipv4.dhcp-timeout (DHCPv6: ipv6.dhcp-timeout) */
  | 'dhcp-timeout'
  /** ipv6.may-fail false, and no router advertisement gave an address within ipv6.ra-timeout */
  | 'ra-timeout'
  /** deactivated (by a caller, or the daemon) before it finished activating */
  | 'deactivated'
  | 'failed';

const DEFAULT_REASON: Record<ErrorCode, Reason> = {
  PermissionDenied: 'not-authorized',
  InvalidArgument: 'invalid-argument',
  UnknownConnection: 'unknown-connection',
  UnknownDevice: 'unknown-device',
  UuidExists: 'uuid-exists',
  NotSupported: 'not-supported',
  AlreadyAsleepOrAwake: 'already-asleep-or-awake',
  AlreadyEnabledOrDisabled: 'already-enabled-or-disabled',
  ConnectionNotActive: 'not-active',
  NetworkingDisabled: 'networking-disabled',
  UnmanagedDevice: 'device-unmanaged',
  IncompatibleConnection: 'incompatible-device',
  VersionIdMismatch: 'version-id-mismatch',
  Failed: 'failed',
};

export class NetauditError extends Error {
  readonly code: ErrorCode;
  readonly reason: Reason;

  constructor(code: ErrorCode, message: string, reason: Reason = DEFAULT_REASON[code]) {
    super(message);
    this.name = 'NetauditError';
    this.code = code;
    this.reason = reason;
  }
}

/** Quotes a path or name of ours for a message, whole, on one line. */
export function quotePath(path: string): string {
  return json(path)!;
}

// What JSON.stringify leaves raw but a terminal acts on: DEL and C1 controls, format characters
// (bidi overrides among them), line and paragraph separators, unassigned code points.
const JSON_UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cn}]/gu;

/** JSON.stringify, with every character that could move a cursor or reorder a line as a \u escape. */
function json(value: unknown): string | undefined {
  return JSON.stringify(value)?.replace(JSON_UNSAFE, (c) => {
    const cp = c.codePointAt(0)!;
    return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  });
}

/** Quotes a caller-supplied value for an error message: JSON keeps it on one line, and long values are cut. */
export function quote(value: unknown): string {
  const text = json(typeof value === 'string' && value.length > 64 ? `${value.slice(0, 64)}…` : value);
  return text === undefined ? String(value) : text;
}

export function invalidArgument(message: string): NetauditError {
  return new NetauditError('InvalidArgument', message);
}
