// libc through koffi: what Node does not offer — flock(2), whose lock the
// kernel releases when the process dies however it dies, and _exit(2).
import koffi from 'koffi';

const LOCK_EX = 2;
const LOCK_NB = 4;

let libc: koffi.IKoffiLib | undefined;
let flockFn: ((fd: number, op: number) => number) | undefined;
let exitFn: ((code: number) => void) | undefined;

function lib(): koffi.IKoffiLib {
  libc ??= koffi.load('libc.so.6');
  return libc;
}

/** Takes an exclusive lock without waiting; returns the errno on failure (EWOULDBLOCK when held). */
export function tryLockExclusive(fd: number): { ok: true } | { ok: false; errno: number } {
  flockFn ??= lib().func('int flock(int fd, int op)') as (fd: number, op: number) => number;
  const rc = flockFn(fd, LOCK_EX | LOCK_NB);
  return rc === 0 ? { ok: true } : { ok: false, errno: koffi.errno() };
}

/**
 * Ends the process at once. process.exit() waits for every worker thread,
 * and a backend's worker can be stuck inside the kernel (libaudit while the
 * audit backlog is full, sd_journal_sendv while journald is stopped); the
 * daemon has already closed and flushed what matters when it calls this.
 */
export function exitNow(code: number): never {
  exitFn ??= lib().func('void _exit(int status)') as (code: number) => void;
  exitFn(code);
  throw new Error('_exit returned');
}
