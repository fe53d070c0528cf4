// libc through koffi: flock(2), which Node does not offer. The lock is the
// kernel's, so it is released when the process dies, however it dies.
import koffi from 'koffi';

const LOCK_EX = 2;
const LOCK_NB = 4;

let flockFn: ((fd: number, op: number) => number) | undefined;

function load(): (fd: number, op: number) => number {
  flockFn ??= koffi.load('libc.so.6').func('int flock(int fd, int op)') as (fd: number, op: number) => number;
  return flockFn;
}

/** Takes an exclusive lock without waiting; returns the errno on failure (EWOULDBLOCK when held). */
export function tryLockExclusive(fd: number): { ok: true } | { ok: false; errno: number } {
  const rc = load()(fd, LOCK_EX | LOCK_NB);
  return rc === 0 ? { ok: true } : { ok: false, errno: koffi.errno() };
}
