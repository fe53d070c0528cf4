// AuditRecord: one attempted change and its outcome (SPEC §4), the unit that
// every backend receives.
import type { Reason } from '../errors.js';

export type AuditOp =
  | 'connection-add'
  | 'connection-add-activate'
  | 'connection-update'
  | 'connection-delete'
  | 'connection-activate'
  | 'connection-deactivate'
  | 'connection-clear-secrets'
  | 'connection-get-secrets'
  | 'device-disconnect'
  | 'device-delete'
  | 'device-managed'
  | 'device-autoconnect'
  | 'networking-control'
  | 'radio-control'
  | 'sleep-control'
  | 'reload'
  | 'logging-control';

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
  readonly uuid?: string;
  readonly name?: string;
  readonly ifindex?: number;
  readonly iface?: string;
  readonly args?: string;
  /** setting keys whose values changed, e.g. ["ipv4.address-data", "connection.id"] */
  readonly changed?: readonly string[];
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
  /** the caller's unique bus name and executable */
  readonly actor?: { readonly busName?: string; readonly exe?: string };
  /**
   * Trail only: the commit id of a profile change. The change's intent file
   * in the profiles directory names it, so recovery at start can tell a
   * committed change (roll forward) from an uncommitted one (roll back).
   */
  readonly tx?: number;
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
}
