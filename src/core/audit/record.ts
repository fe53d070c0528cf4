// AuditRecord: one attempted change and its outcome, the unit that every
// backend receives; docs/record-format.md describes each field and its form
// in each backend.
import type { Reason } from '../errors.js';

/**
 * Every op a record can have (docs/record-format.md), in the order
 * `netauditctl audit list --op` names them. Which D-Bus member makes which
 * op, and which ops no member makes, is src/core/operations.ts's table.
 */
export const AUDIT_OPS = [
  'connection-add',
  'connection-add-activate',
  'connection-update',
  'connection-delete',
  'connection-activate',
  'connection-deactivate',
  'connection-clear-secrets',
  'connection-get-secrets',
  'device-disconnect',
  'device-delete',
  'device-managed',
  'device-autoconnect',
  'networking-control',
  'radio-control',
  'sleep-control',
  'reload',
  'logging-control',
  'connection-adopt',
  'connection-snapshot',
  'device-reapply',
  // a DHCP lease, a SLAAC address or the DNS of router advertisements the daemon applied, changed
  // or lost (origin daemon, cause lease)
  'dhcp4-lease',
  'dhcp6-lease',
  'slaac',
  // kernel changes the daemon did not make (origin external)
  'link-add',
  'link-delete',
  'link-change',
  'address-add',
  'address-delete',
  'route-add',
  'route-delete',
  'rule-add',
  'rule-delete',
] as const;

export type AuditOp = (typeof AUDIT_OPS)[number];

/** Who acted (docs/record-format.md): a bus caller, the daemon on its own, or someone outside it. */
export type AuditOrigin = 'caller' | 'daemon' | 'external';

/** Why the daemon acted on its own, or when an external change was found (docs/record-format.md). */
export type AuditCause =
  | 'autoconnect'
  | 'restart'
  | 'while-stopped'
  | 'device-removed'
  | 'connection-removed'
  | 'master-deactivated'
  | 'networking-off'
  | 'sleep'
  | 'lease'
  /** a connection ended to make way for another on its device, or for its profile elsewhere */
  | 'new-activation';

/**
 * What a change touched, before or after it. For profiles the keyfile's own
 * form, {GROUP: {KEY: "value as the keyfile writes it"}}; for kernel objects
 * the attributes as `ip -j` names them. Never a secret value.
 */
export type AuditValues = { readonly [key: string]: unknown };

export type AuditResult = 'success' | 'fail';

export type BackendName = 'libaudit' | 'journal' | 'log' | 'file';

/** The record fields whose values come from callers. */
export type CallerField = 'uuid' | 'name' | 'iface' | 'args';

/** Characters of a caller value that a record keeps (an id may hold 1024 bytes; see validate.ts). */
export const MAX_VALUE_LENGTH = 4096;

export interface AuditRecord {
  /** milliseconds since the epoch */
  readonly ts: number;
  readonly boot: string;
  readonly seq: number;
  readonly op: AuditOp;
  /** absent only in records made before origins existed; the AuditManager always sets it */
  readonly origin?: AuditOrigin;
  readonly cause?: AuditCause;
  readonly uuid?: string;
  readonly name?: string;
  readonly ifindex?: number;
  readonly iface?: string;
  readonly args?: string;
  /** setting keys whose values changed, e.g. ["ipv4.address-data", "connection.id"] */
  readonly changed?: readonly string[];
  readonly before?: AuditValues;
  readonly after?: AuditValues;
  readonly pid?: number;
  readonly uid?: number;
  readonly result: AuditResult;
  readonly reason?: Reason;
  /**
   * Caller values longer than MAX_VALUE_LENGTH, cut to it before any backend
   * saw them (an attempt is recorded whatever a caller sends, but not a
   * megabyte of it in every backend): the names of the fields cut.
   */
  readonly cut?: readonly CallerField[];
  /**
   * Who acted, beyond pid and uid: a caller's unique bus name, executable
   * and how it was authorized; for an external change, how it was
   * attributed ('none' when it could not be) and the profile file it touched.
   */
  readonly actor?: AuditActor;
  /**
   * Trail only: the commit id of a change. A profile change's line in the
   * write-ahead log names it (docs/commit.md), so recovery at start can tell
   * a committed change (replayed) from an uncommitted one (passed over).
   */
  readonly tx?: number;
}

export interface AuditActor {
  readonly busName?: string;
  readonly exe?: string;
  /** uid0: allowed for being root; polkit: polkit said yes */
  readonly auth?: 'uid0' | 'polkit';
  /** external records: how pid/uid were established, or 'none' */
  readonly attribution?: string;
  /** external records: the acting process's command name, login uid and session, as read */
  readonly comm?: string;
  readonly auid?: number;
  readonly ses?: number;
  /** external records attributed by netlink: the sender's port id */
  readonly portid?: number;
  /** external records about a profile file: its file name */
  readonly file?: string;
}

/** What a backend has lost or failed since start, for the Manager's AuditBackends property. */
export interface BackendStats {
  /** records dropped because its queue was full */
  readonly dropped: number;
  /** records it could not write (the call failed) */
  readonly failed: number;
  /** records waiting for it now */
  readonly queued: number;
}

export interface AuditBackend {
  readonly name: BackendName;
  /**
   * True for a backend whose write is the commit point of a change (the
   * trail): the AuditManager waits for it and refuses the change when it fails.
   */
  readonly commits: boolean;
  write(record: AuditRecord): Promise<void>;
  close(): Promise<void>;
  /** for backends that can lose records on their way (queues, failing calls) */
  stats?(): BackendStats;
  /**
   * For a backend that can tell before any record whether its records
   * would reach their destination: null when they would, else why not. It
   * must be cheap and must not block; the AuditManager calls it when the
   * backend becomes active.
   */
  probe?(): string | null;
}

/**
 * The process a record names as the actor, pid and uid: a bus caller's, or
 * for an external change the one it was attributed to. A change the daemon
 * made on its own names none, whatever the record holds, so that no backend
 * shows the daemon as somebody's caller (docs/record-format.md).
 */
export function actingProcess(record: AuditRecord): { readonly pid?: number; readonly uid?: number } {
  if (record.origin === 'daemon') return {};
  return { ...(record.pid !== undefined ? { pid: record.pid } : {}), ...(record.uid !== undefined ? { uid: record.uid } : {}) };
}
