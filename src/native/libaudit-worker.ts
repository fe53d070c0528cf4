// The libaudit worker thread: sends each audit record to the kernel with
// audit_log_user_message, which blocks while the kernel's backlog is full
// (up to backlog_wait_time), so that neither the event loop nor the thread
// pool that file I/O uses ever waits for it (docs/record-format.md). It runs behind the
// bounded WorkerQueue of the libaudit backend: `{ id, payload }` in,
// `{ id, error }` out, one at a time; the audit socket is closed when the
// queue stops the worker for being idle.
import { formatAuditMessage } from '../core/audit/audit-message.js';
import type { AuditRecord } from '../core/audit/record.js';
import { serveBatches } from './worker-protocol.js';
import { AUDIT_USYS_CONFIG, auditClose, auditLogUserMessage, auditOpen, auditWriteMissing, errnoText, userName } from './libaudit.js';

/** A user name found (or not) is trusted this long; users come and go without a restart. */
const ACCT_TTL_MS = 60_000;
const ACCT_CACHE_MAX = 1024;

const acctCache = new Map<number, { name: string | null; at: number }>();
let fd: number | null = null;

/** The caller's user name, from NSS on this thread (it may ask a directory server). */
function acctOf(uid: number | undefined): string | undefined {
  if (uid === undefined) return undefined;
  const now = Date.now();
  const cached = acctCache.get(uid);
  if (cached && now - cached.at < ACCT_TTL_MS) return cached.name ?? undefined;
  let name: string | null;
  try {
    name = userName(uid);
  } catch {
    // A failing lookup leaves acct out of this record; caller_uid is there.
    return undefined;
  }
  if (acctCache.size >= ACCT_CACHE_MAX) acctCache.clear();
  acctCache.set(uid, { name, at: now });
  return name ?? undefined;
}

const EPERM = 1;

function describe(errno: number, call: string): string {
  if (errno === 0) return `${call} failed without an errno`;
  const hint = errno === EPERM ? '; the daemon needs CAP_AUDIT_WRITE' : '';
  return `${errnoText(errno)} (${call}${hint})`;
}

/** Sends one record; null when the kernel took it, else why not. */
function send(record: AuditRecord): string | null {
  if (fd === null) {
    // Opened once; a failed open is tried again at the next record. Without
    // CAP_AUDIT_WRITE the kernel drops the record and libaudit may still
    // answer as if it took it: a record is never counted as sent then.
    const missing = auditWriteMissing();
    if (missing !== null) return missing;
    const opened = auditOpen();
    if (!opened.ok) return describe(opened.errno, 'audit_open');
    fd = opened.fd;
  }
  const message = formatAuditMessage(record, acctOf(record.uid));
  const sent = auditLogUserMessage(fd, AUDIT_USYS_CONFIG, message, record.result === 'success');
  return sent.ok ? null : describe(sent.errno, 'audit_log_user_message');
}

/** The queue stops an idle worker: the audit socket is closed with it. */
function stop(): void {
  if (fd !== null) auditClose(fd);
  fd = null;
}

// libaudit.so.1 missing, most likely, makes every record fail with the reason.
serveBatches('libaudit-worker.js', send, stop);
