// The journal backend's worker thread (WorkerQueue): sd_journal_sendv blocks
// while journald's socket queue is full, so it runs here, never on the event
// loop and never in the thread pool that file I/O shares: a stalled journald
// must hold neither up.
// Requests carry the fields as [name, value][] (see worker-protocol.ts).
import { getSystemErrorMap } from 'node:util';
import { journalSendv } from './libsystemd.js';
import { serveBatches } from './worker-protocol.js';

type Fields = ReadonlyArray<readonly [string, string]>;

// journald's rule for field names: A-Z, 0-9 and _, not first, at most 64 characters. A name
// it rejects would be dropped silently, so it is refused here, loudly.
const FIELD_NAME = /^[A-Z0-9][A-Z0-9_]{0,63}$/;

/** `NAME=` and the value's UTF-8 bytes: the iovec carries the length, so any byte may follow. */
function encode([name, value]: readonly [string, string]): Buffer {
  return Buffer.concat([Buffer.from(`${name}=`, 'latin1'), Buffer.from(value, 'utf8')]);
}

/** "ENAME: message" for a negative errno. */
function errnoText(rc: number): string {
  const [name, message] = getSystemErrorMap().get(rc) ?? [`E${-rc}`, 'unknown error'];
  return `${name}: ${message}`;
}

/** null when the entry was sent; otherwise "<errno name>: <message>". */
function send(payload: Fields): string | null {
  const bad = payload.find(([name]) => !FIELD_NAME.test(name));
  if (bad) return `EINVAL: ${JSON.stringify(bad[0])} is not a journal field name`;
  let rc: number;
  try {
    rc = journalSendv(payload.map(encode));
  } catch (e) {
    return `ELIBACC: cannot call sd_journal_sendv in libsystemd.so.0 (${e instanceof Error ? e.message : String(e)})`;
  }
  return rc < 0 ? errnoText(rc) : null;
}

serveBatches('journal-worker.js', send);
