// libsystemd through koffi: sd_journal_sendv(3), which writes one journal
// entry from length-delimited fields. It blocks while journald's socket
// queue is full, so only a worker thread calls it (journal-worker.ts).
import koffi from 'koffi';

type SendV = (iov: Array<{ iov_base: Buffer; iov_len: number }>, n: number) => number;

// struct iovec of <sys/uio.h>
const iovec = koffi.struct('netaudit_iovec', { iov_base: 'void *', iov_len: 'size_t' });

let sendvFn: SendV | undefined;

function load(): SendV {
  sendvFn ??= koffi.load('libsystemd.so.0').func('sd_journal_sendv', 'int', [koffi.pointer(iovec), 'int']) as SendV;
  return sendvFn;
}

/**
 * Sends one entry whose fields are `NAME=value` byte strings, each passed
 * with its length (a value may hold newlines). Returns 0 or a negative errno.
 * Throws when libsystemd.so.0 cannot be loaded.
 */
export function journalSendv(fields: readonly Buffer[]): number {
  return load()(fields.map((b) => ({ iov_base: b, iov_len: b.length })), fields.length);
}
