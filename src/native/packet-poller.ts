// PacketPoller: one poll(2) on libuv's thread pool for every packet socket
// of the process (packet-socket.ts), however many links run a DHCP client.
// A thread blocked per socket would take the pool's four threads with four
// links and stall every fs call behind them. An eventfd wakes the poll when
// the set of sockets changes; a socket is closed only once no poll holds its
// descriptor, so that its number cannot be reused under a waiting poll.
import { closeSync, readSync, writeSync } from 'node:fs';
import koffi from 'koffi';
import { libcLibrary } from './libc.js';

const POLLIN = 0x1;
const POLLNVAL = 0x20;
const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
/** struct pollfd: int fd; short events; short revents */
const POLLFD_SIZE = 8;
/** failed polls in a row before the members are told and the poller pauses */
const POLL_FAILURES = 3;

export interface PollMember {
  /** The descriptor is readable or has an error pending: read it without blocking. */
  readonly ready: () => void;
  /** The poll itself failed for this descriptor (POLLNVAL, or poll(2) returned an error). */
  readonly failed: (reason: string) => void;
}

interface PollBindings {
  eventfd(initval: number, flags: number): number;
  poll: { async: (fds: unknown, nfds: number, timeout: number, cb: (err: unknown, n: number) => void) => void };
}

let bindings: PollBindings | undefined;

function lib(): PollBindings {
  if (bindings) return bindings;
  const l = libcLibrary();
  bindings = {
    eventfd: l.func('int eventfd(unsigned int, int)'),
    poll: l.func('int poll(void *, unsigned long, int)'),
  } as unknown as PollBindings;
  return bindings;
}

const ONE = (() => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(1n, 0);
  return b;
})();

export class PacketPoller {
  private readonly members = new Map<number, PollMember>();
  /** descriptors removed while a poll held them: closed when it returns */
  private closeLater: number[] = [];
  /** the descriptors of the poll in flight */
  private inFlight = new Set<number>();
  private wake = -1;
  private polling = false;
  /** while the results of a poll are handed out: a poll starts again after them */
  private dispatching = false;
  private retry: NodeJS.Timeout | null = null;
  private failures = 0;
  /** the pollfd array, in memory that does not move while the pool thread reads it */
  private pollfds: unknown = null;
  private pollView: Buffer = Buffer.alloc(0);
  private capacity = 0;

  /** Watches `fd` from now on; starts the poll when it is the first. */
  add(fd: number, member: PollMember): void {
    if (this.wake < 0) {
      const wake = lib().eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (wake < 0) throw new Error(`eventfd: errno ${koffi.errno()}; packet sockets cannot be watched`);
      this.wake = wake;
    }
    this.members.set(fd, member);
    this.changed();
  }

  /**
   * Stops watching `fd` (when it was watched); with `close`, closes it as
   * soon as no poll holds it. Every packet socket is closed through here,
   * watched or not: it may have left the set while a poll still holds it.
   */
  remove(fd: number, close: boolean): void {
    const watched = this.members.delete(fd);
    const held = this.polling && this.inFlight.has(fd);
    if (close) {
      if (held) this.closeLater.push(fd);
      else closeSync(fd);
    }
    if (watched || (close && held)) this.changed();
  }

  /** How many descriptors are watched (for tests and the benchmark). */
  get size(): number {
    return this.members.size;
  }

  private changed(): void {
    if (this.polling) writeSync(this.wake, ONE);
    else if (!this.dispatching && this.retry === null && this.members.size > 0) this.poll();
  }

  private poll(): void {
    const fds = [...this.members.keys()];
    const n = fds.length + 1;
    if (n > this.capacity) {
      // The old array is no longer read by anyone: no poll is in flight here.
      if (this.pollfds !== null) koffi.free(this.pollfds);
      this.capacity = Math.max(n, this.capacity * 2, 16);
      this.pollfds = koffi.alloc('uint8_t', this.capacity * POLLFD_SIZE);
      this.pollView = Buffer.from(koffi.view(this.pollfds, this.capacity * POLLFD_SIZE));
    }
    const v = this.pollView;
    [this.wake, ...fds].forEach((fd, i) => {
      v.writeInt32LE(fd, i * POLLFD_SIZE);
      v.writeInt16LE(POLLIN, i * POLLFD_SIZE + 4);
      v.writeInt16LE(0, i * POLLFD_SIZE + 6);
    });
    this.polling = true;
    this.inFlight = new Set(fds);
    lib().poll.async(this.pollfds, n, -1, (err, count) => {
      this.polling = false;
      if (err === null || err === undefined) {
        // -1 is EINTR when a signal lands on the pool thread; its errno stays on that thread, so
        // only a failure that repeats is taken for one.
        this.failures = count < 0 ? this.failures + 1 : 0;
        return this.returned(n, this.failures >= POLL_FAILURES ? `poll(2) failed ${this.failures} times in a row` : null);
      }
      this.failures++;
      this.returned(n, String(err));
    });
  }

  private returned(n: number, error: string | null): void {
    const v = this.pollView;
    if (v.readInt16LE(6) !== 0) {
      try {
        readSync(this.wake, Buffer.alloc(8));
      } catch {
        // EAGAIN: nothing left to take
      }
    }
    for (const fd of this.closeLater) closeSync(fd);
    this.closeLater = [];
    // Copied out first: a member's handler may add or remove sockets.
    const results: Array<[number, number]> = [];
    for (let i = 1; i < n; i++) results.push([v.readInt32LE(i * POLLFD_SIZE), v.readInt16LE(i * POLLFD_SIZE + 6)]);
    this.dispatching = true;
    try {
      for (const [fd, revents] of results) {
        const member = this.members.get(fd);
        if (!member) continue;
        if (error !== null) member.failed(error);
        else if (revents & POLLNVAL) {
          // Closed behind the poller's back: watching it again would spin.
          this.members.delete(fd);
          member.failed('the descriptor was closed while it was watched');
        } else if (revents !== 0) {
          try {
            member.ready();
          } catch (e) {
            // One socket's reader failing must not stop the others' poll.
            member.failed(e instanceof Error ? e.message : String(e));
          }
        }
      }
    } finally {
      this.dispatching = false;
    }
    if (this.members.size === 0) return;
    if (error === null) return this.poll();
    // A failing poll(2) is tried again after a pause rather than in a tight loop.
    this.retry = setTimeout(() => {
      this.retry = null;
      if (this.members.size > 0) this.poll();
    }, 1000);
    this.retry.unref();
  }
}

let shared: PacketPoller | undefined;

/** The process's one poller. */
export function packetPoller(): PacketPoller {
  shared ??= new PacketPoller();
  return shared;
}
