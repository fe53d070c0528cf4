// libaudit and libc through koffi: the kernel audit log (audit_open,
// audit_log_user_message), the caller's user name (getpwuid_r, which asks
// NSS and may block) and errno texts. Every libaudit call may block, so only
// the libaudit worker thread makes them; probeAudit() is the exception, a
// check cheap enough for the main thread that needs libc alone.
import { readFileSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import koffi from 'koffi';
import { libcLibrary } from './libc.js';

/** linux/audit.h: a user-space program changed its configuration. */
export const AUDIT_USYS_CONFIG = 1111;

const ERANGE = 34;
const PASSWD_BUFFER_MAX = 1 << 20;

// socket(2) for the audit netlink family, as libaudit's audit_open opens it.
const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_AUDIT = 9;
const EPERM = 1;
const EACCES = 13;
const EPROTONOSUPPORT = 93;
const EAFNOSUPPORT = 97;

/** linux/capability.h: the right to send user records to the kernel audit log. */
const CAP_AUDIT_WRITE = 29;

interface AuditBindings {
  auditOpen: () => number;
  auditClose: (fd: number) => void;
  auditLogUserMessage: (fd: number, type: number, message: string, hostname: null, addr: null, tty: null, result: number) => number;
}

interface LibcBindings {
  strerrorR: (errnum: number, buf: Buffer, buflen: number) => string;
  socket: (domain: number, type: number, protocol: number) => number;
  close: (fd: number) => number;
}

type GetpwuidR = (uid: number, pwd: { pw_name?: string }, buf: Buffer, buflen: number, result: [unknown]) => number;

let auditBindings: AuditBindings | undefined;
let libcBindings: LibcBindings | undefined;
let getpwuidRFn: GetpwuidR | undefined;


/** libc's calls that the probe and the errno texts need; loaded once. */
function libc(): LibcBindings {
  if (libcBindings) return libcBindings;
  const lib = libcLibrary();
  libcBindings = {
    // glibc's strerror_r is the GNU one: it returns the text.
    strerrorR: lib.func('const char *strerror_r(int errnum, char *buf, size_t buflen)') as LibcBindings['strerrorR'],
    socket: lib.func('int socket(int domain, int type, int protocol)') as LibcBindings['socket'],
    close: lib.func('int close(int fd)') as LibcBindings['close'],
  };
  return libcBindings;
}

/** getpwuid_r with its struct type, declared once (the worker's alone). */
function getpwuidR(): GetpwuidR {
  if (getpwuidRFn) return getpwuidRFn;
  koffi.struct('netaudit_passwd', {
    pw_name: 'char *',
    pw_passwd: 'char *',
    pw_uid: 'uint32_t',
    pw_gid: 'uint32_t',
    pw_gecos: 'char *',
    pw_dir: 'char *',
    pw_shell: 'char *',
  });
  getpwuidRFn = libcLibrary().func(
    'int getpwuid_r(uint32_t uid, _Out_ netaudit_passwd *pwd, uint8_t *buf, size_t buflen, _Out_ netaudit_passwd **result)',
  ) as GetpwuidR;
  return getpwuidRFn;
}

/** Loads libaudit once; throws when libaudit.so.1 is missing. */
function load(): AuditBindings {
  if (auditBindings) return auditBindings;
  const audit = koffi.load('libaudit.so.1');
  auditBindings = {
    auditOpen: audit.func('int audit_open(void)') as AuditBindings['auditOpen'],
    auditClose: audit.func('void audit_close(int fd)') as AuditBindings['auditClose'],
    auditLogUserMessage: audit.func(
      'int audit_log_user_message(int audit_fd, int type, const char *message, const char *hostname, const char *addr, const char *tty, int result)',
    ) as AuditBindings['auditLogUserMessage'],
  };
  return auditBindings;
}

export type Outcome<T> = ({ ok: true } & T) | { ok: false; errno: number };

/** audit_open(3): a netlink socket to the kernel's audit system. */
export function auditOpen(): Outcome<{ fd: number }> {
  const fd = load().auditOpen();
  return fd >= 0 ? { ok: true, fd } : { ok: false, errno: koffi.errno() };
}

/** audit_close(3): closes the socket audit_open gave. */
export function auditClose(fd: number): void {
  load().auditClose(fd);
}

/**
 * audit_log_user_message(3) with hostname, addr and tty NULL (a hostname
 * would cost a DNS lookup). It returns ≤ 0 on failure, and 0 without
 * errno where libaudit hides an error (EPERM for a sender without
 * CAP_AUDIT_WRITE sets errno all the same).
 */
export function auditLogUserMessage(fd: number, type: number, message: string, success: boolean): Outcome<{ sequence: number }> {
  const rc = load().auditLogUserMessage(fd, type, message, null, null, null, success ? 1 : 0);
  return rc > 0 ? { ok: true, sequence: rc } : { ok: false, errno: koffi.errno() };
}

/** The user name of `uid` as NSS knows it; null when it has none. Throws on a lookup error. */
export function userName(uid: number): string | null {
  for (let size = 4096; size <= PASSWD_BUFFER_MAX; size *= 4) {
    const pwd: { pw_name?: string } = {};
    const result: [unknown] = [null];
    const rc = getpwuidR()(uid, pwd, Buffer.alloc(size), size, result);
    if (rc === ERANGE) continue;
    if (rc !== 0) throw new Error(`getpwuid_r(${uid}): ${errnoText(rc)}`);
    return result[0] === null || pwd.pw_name === undefined ? null : pwd.pw_name;
  }
  throw new Error(`getpwuid_r(${uid}): ${errnoText(ERANGE)}`);
}

/** "EPERM: Operation not permitted" */
export function errnoText(errno: number): string {
  return `${errnoName(errno)}: ${strerror(errno)}`;
}

function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

function strerror(errno: number): string {
  const buf = Buffer.alloc(256);
  return libc().strerrorR(errno, buf, buf.length);
}

/**
 * Whether the effective capabilities in a /proc/…/status text hold
 * CAP_AUDIT_WRITE; null when the text has no CapEff line.
 */
export function statusHasAuditWrite(status: string): boolean | null {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  if (!m) return null;
  return ((BigInt(`0x${m[1]}`) >> BigInt(CAP_AUDIT_WRITE)) & 1n) === 1n;
}

/**
 * Why the calling thread's records would be lost for want of
 * CAP_AUDIT_WRITE (the kernel refuses them, and libaudit hides that from a
 * sender without the capability); null when it has it, or when /proc does
 * not say (then the records themselves tell).
 */
export function auditWriteMissing(): string | null {
  for (const path of ['/proc/thread-self/status', '/proc/self/status']) {
    let status: string;
    try {
      status = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    const has = statusHasAuditWrite(status);
    if (has === null) continue;
    return has ? null : 'the daemon lacks CAP_AUDIT_WRITE, so the kernel would drop its records';
  }
  return null;
}

/** The reason a refused audit socket gives, with what most likely refused it. */
export function auditSocketFailure(errno: number): string {
  let hint = '';
  if (errno === EAFNOSUPPORT || errno === EPROTONOSUPPORT) hint = ': a seccomp filter or a kernel without audit refuses the audit socket';
  else if (errno === EPERM || errno === EACCES) hint = ': a seccomp filter or a security policy refuses the audit socket';
  const what = errno === 0 ? 'no errno' : `${strerror(errno)} (${errnoName(errno)})`;
  return `socket(AF_NETLINK, NETLINK_AUDIT) failed: ${what}${hint}`;
}

/**
 * Whether the kernel audit log can take this process's records: the audit
 * netlink socket opens (a seccomp filter, as systemd-nspawn installs, or a
 * kernel without audit refuses it) and the thread has CAP_AUDIT_WRITE. Null
 * when both hold, else why not. Cheap and without libaudit: for the main
 * thread, at start and when a reload adds the backend.
 */
export function probeAudit(): string | null {
  const { socket, close } = libc();
  const fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (fd < 0) return auditSocketFailure(koffi.errno());
  close(fd);
  return auditWriteMissing();
}
