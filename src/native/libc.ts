// libc through koffi: what Node does not offer — flock(2), whose lock the
// kernel releases when the process dies however it dies, _exit(2), and
// prctl(2) to keep the process's memory out of core dumps.
import koffi from 'koffi';

const LOCK_EX = 2;
const LOCK_NB = 4;

let libc: koffi.IKoffiLib | undefined;
let flockFn: ((fd: number, op: number) => number) | undefined;
let exitFn: ((code: number) => void) | undefined;
type Prctl = (option: number, arg2: number, arg3: number, arg4: number, arg5: number) => number;
let prctlFn: Prctl | undefined;

const PR_SET_DUMPABLE = 4;

/** libc.so.6, loaded once per thread, for every module here that declares a libc function. */
export function libcLibrary(): koffi.IKoffiLib {
  libc ??= koffi.load('libc.so.6');
  return libc;
}

const lib = libcLibrary;

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
  // Started with node's --cpu-prof or --heap-prof (to find where time or memory goes): those
  // write their file in node's exit handling, which _exit skips. Then node's exit it is, with
  // the risk the comment above names.
  if (process.execArgv.some((a) => a.startsWith('--cpu-prof') || a.startsWith('--heap-prof'))) process.exit(code);
  exitFn ??= lib().func('void _exit(int status)') as (code: number) => void;
  exitFn(code);
  throw new Error('_exit returned');
}

/**
 * Makes the process not dumpable: no core dump is written when it crashes,
 * and only a process with CAP_SYS_PTRACE may read its memory through /proc.
 * Its memory holds the profiles' secrets. Returns the errno on failure.
 */
export function forbidCoreDumps(): { ok: true } | { ok: false; errno: number } {
  prctlFn ??= lib().func('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)') as Prctl;
  const rc = prctlFn(PR_SET_DUMPABLE, 0, 0, 0, 0);
  return rc === 0 ? { ok: true } : { ok: false, errno: koffi.errno() };
}
