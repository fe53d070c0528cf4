// fanotify(7) on one directory, through koffi: which file of it was created,
// written, renamed or removed, and by which process. Only a holder of
// CAP_SYS_ADMIN is told the pid of another process's event (an unprivileged
// listener gets 0), so it is used only with it (docs/profile-edits.md). The
// descriptor is polled with the packet sockets (packet-poller.ts): no pool
// thread blocks on it.
import { closeSync, readFileSync, readSync } from 'node:fs';
import koffi from 'koffi';
import { libcLibrary } from './libc.js';
import { packetPoller } from './packet-poller.js';

const FAN_CLOEXEC = 0x1;
const FAN_NONBLOCK = 0x2;
const FAN_REPORT_DFID_NAME = 0xc00;
const FAN_MARK_ADD = 0x1;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const AT_FDCWD = -100;

const FAN_ATTRIB = 0x4n;
const FAN_CLOSE_WRITE = 0x8n;
const FAN_MOVED_FROM = 0x40n;
const FAN_MOVED_TO = 0x80n;
const FAN_CREATE = 0x100n;
const FAN_DELETE = 0x200n;
const FAN_Q_OVERFLOW = 0x4000n;
const FAN_EVENT_ON_CHILD = 0x0800_0000n;
const FAN_ONDIR = 0x4000_0000n;
const WATCHED = FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_CLOSE_WRITE | FAN_ATTRIB | FAN_ONDIR | FAN_EVENT_ON_CHILD;

/** struct fanotify_event_metadata: event_len u32, vers u8, reserved u8, metadata_len u16, mask u64, fd s32, pid s32 */
const METADATA_SIZE = 24;
const FAN_EVENT_INFO_TYPE_DFID_NAME = 2;
/** fanotify_event_info_header (4), fsid (8), struct file_handle's handle_bytes and handle_type (8) */
const HANDLE_BYTES_AT = 12;
const HANDLE_AT = 20;
const CAP_SYS_ADMIN = 21n;

/** One event: the file's name in the directory (null: events were lost, any file may have changed) and the acting pid. */
export interface FanotifyEvent {
  readonly fileName: string | null;
  readonly pid: number;
}

interface Bindings {
  fanotify_init(flags: number, eventFlags: number): number;
  fanotify_mark(fd: number, flags: number, mask: bigint, dirfd: number, path: string): number;
}

let bindings: Bindings | undefined;

function lib(): Bindings {
  bindings ??= {
    fanotify_init: libcLibrary().func('int fanotify_init(unsigned int, unsigned int)'),
    fanotify_mark: libcLibrary().func('int fanotify_mark(int, unsigned int, uint64_t, int, const char *)'),
  } as unknown as Bindings;
  return bindings;
}

/** Whether this process holds CAP_SYS_ADMIN in its effective set (/proc/self/status). */
export function holdsSysAdmin(): boolean {
  const line = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return line !== null && ((BigInt(`0x${line[1]}`) >> CAP_SYS_ADMIN) & 1n) === 1n;
}

/** The events in `buf` (what one read returned). */
export function parseFanotifyEvents(buf: Buffer): FanotifyEvent[] {
  const out: FanotifyEvent[] = [];
  for (let at = 0; at + METADATA_SIZE <= buf.length;) {
    const length = buf.readUInt32LE(at);
    if (length < METADATA_SIZE || at + length > buf.length) break;
    const mask = buf.readBigUInt64LE(at + 8);
    const pid = buf.readInt32LE(at + 20);
    let fileName: string | null = null;
    for (let info = at + buf.readUInt16LE(at + 6); info + 4 <= at + length;) {
      const infoLength = buf.readUInt16LE(info + 2);
      if (infoLength < 4) break;
      if (buf[info] === FAN_EVENT_INFO_TYPE_DFID_NAME && infoLength >= HANDLE_AT) {
        const start = info + HANDLE_AT + buf.readUInt32LE(info + HANDLE_BYTES_AT);
        const end = buf.indexOf(0, start);
        if (end > start && end < info + infoLength) fileName = buf.subarray(start, end).toString('utf8');
      }
      info += infoLength;
    }
    // An event about the directory itself (its name is "."), or one whose name could not be read, is about any file.
    out.push({ fileName: (mask & FAN_Q_OVERFLOW) !== 0n || fileName === '.' ? null : fileName, pid });
    at += length;
  }
  return out;
}

/** A directory watched through fanotify until close(). */
export class FanotifyDir {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(64 * 1024);
  private closed = false;

  /** Throws when fanotify cannot watch `dir` (the errno named). */
  constructor(
    dir: string,
    private readonly onEvent: (event: FanotifyEvent) => void,
    private readonly onError: (reason: string) => void,
  ) {
    const fd = lib().fanotify_init(FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME, O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw new Error(`fanotify_init: errno ${koffi.errno()}`);
    if (lib().fanotify_mark(fd, FAN_MARK_ADD, WATCHED, AT_FDCWD, dir) < 0) {
      const errno = koffi.errno();
      closeSync(fd);
      throw new Error(`fanotify_mark: errno ${errno}`);
    }
    this.fd = fd;
    packetPoller().add(fd, { ready: () => this.read(), failed: (reason) => this.fail(reason) });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    packetPoller().remove(this.fd, true);
  }

  private read(): void {
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, this.buf);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return;
        throw e;
      }
      if (n <= 0) return;
      for (const event of parseFanotifyEvents(this.buf.subarray(0, n))) this.onEvent(event);
    }
  }

  private fail(reason: string): void {
    this.close();
    this.onError(reason);
  }
}
