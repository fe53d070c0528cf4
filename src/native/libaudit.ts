// libaudit and libc through koffi: the kernel audit log (audit_open,
// audit_log_user_message), the caller's user name (getpwuid_r, which asks
// NSS and may block) and errno texts. Every call here may block, so only
// the libaudit worker thread makes them.
import { getSystemErrorName } from 'node:util';
import koffi from 'koffi';

/** linux/audit.h: a user-space program changed its configuration. */
export const AUDIT_USYS_CONFIG = 1111;

const ERANGE = 34;
const PASSWD_BUFFER_MAX = 1 << 20;

interface Bindings {
  auditOpen: () => number;
  auditClose: (fd: number) => void;
  auditLogUserMessage: (fd: number, type: number, message: string, hostname: null, addr: null, tty: null, result: number) => number;
  getpwuidR: (uid: number, pwd: { pw_name?: string }, buf: Buffer, buflen: number, result: [unknown]) => number;
  strerrorR: (errnum: number, buf: Buffer, buflen: number) => string;
}

let bindings: Bindings | undefined;

/** Loads the libraries once; throws when libaudit.so.1 is missing. */
function load(): Bindings {
  if (bindings) return bindings;
  const audit = koffi.load('libaudit.so.1');
  const libc = koffi.load('libc.so.6');
  koffi.struct('netaudit_passwd', {
    pw_name: 'char *',
    pw_passwd: 'char *',
    pw_uid: 'uint32_t',
    pw_gid: 'uint32_t',
    pw_gecos: 'char *',
    pw_dir: 'char *',
    pw_shell: 'char *',
  });
  bindings = {
    auditOpen: audit.func('int audit_open(void)') as Bindings['auditOpen'],
    auditClose: audit.func('void audit_close(int fd)') as Bindings['auditClose'],
    auditLogUserMessage: audit.func(
      'int audit_log_user_message(int audit_fd, int type, const char *message, const char *hostname, const char *addr, const char *tty, int result)',
    ) as Bindings['auditLogUserMessage'],
    getpwuidR: libc.func(
      'int getpwuid_r(uint32_t uid, _Out_ netaudit_passwd *pwd, uint8_t *buf, size_t buflen, _Out_ netaudit_passwd **result)',
    ) as Bindings['getpwuidR'],
    // glibc's strerror_r is the GNU one: it returns the text.
    strerrorR: libc.func('const char *strerror_r(int errnum, char *buf, size_t buflen)') as Bindings['strerrorR'],
  };
  return bindings;
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
  const { getpwuidR } = load();
  for (let size = 4096; size <= PASSWD_BUFFER_MAX; size *= 4) {
    const pwd: { pw_name?: string } = {};
    const result: [unknown] = [null];
    const rc = getpwuidR(uid, pwd, Buffer.alloc(size), size, result);
    if (rc === ERANGE) continue;
    if (rc !== 0) throw new Error(`getpwuid_r(${uid}): ${errnoText(rc)}`);
    return result[0] === null || pwd.pw_name === undefined ? null : pwd.pw_name;
  }
  throw new Error(`getpwuid_r(${uid}): ${errnoText(ERANGE)}`);
}

/** "EPERM: Operation not permitted" */
export function errnoText(errno: number): string {
  const buf = Buffer.alloc(256);
  const text = load().strerrorR(errno, buf, buf.length);
  let name: string;
  try {
    name = getSystemErrorName(-errno);
  } catch {
    name = `errno ${errno}`;
  }
  return `${name}: ${text}`;
}
