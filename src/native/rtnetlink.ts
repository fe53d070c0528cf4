// rtnetlink: the kernel's routing socket spoken directly (socket(AF_NETLINK,
// NETLINK_ROUTE) through koffi); the messages themselves are encoded and
// decoded in rtnetlink-codec.ts. Requests and event reads wait on libuv's
// thread pool, never on the event loop.
import { read, write, closeSync, writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import koffi from 'koffi';
import { libcLibrary } from './libc.js';
import { decodeError, NLM_F_DUMP_INTR, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR, splitMessages, type NetlinkMessage } from './rtnetlink-codec.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const POLLIN = 0x1;
const EFD_CLOEXEC = 0o2000000;

/** A request the kernel refused (NLMSG_ERROR), or a socket call that failed. */
export class NetlinkError extends Error {
  readonly errno: number;
  readonly code: string;
  /** the kernel's extended ack message, when it gave one */
  readonly extAck: string | null;

  constructor(operation: string, errno: number, extAck: string | null = null) {
    const code = errnoName(errno);
    super(`${operation}: ${code}${extAck ? ` (${extAck})` : ''}`);
    this.name = 'NetlinkError';
    this.errno = errno;
    this.code = code;
    this.extAck = extAck;
  }
}

function errnoName(errno: number): string {
  if (errno === 95) return 'EOPNOTSUPP'; // ENOTSUP shares the number; the kernel means this one
  const found = Object.entries(osConstants.errno).find(([, v]) => v === errno);
  return found ? found[0] : `errno ${errno}`;
}

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  getsockname(fd: number, addr: Buffer, len: Buffer): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  eventfd(initval: number, flags: number): number;
  poll: ((fds: Buffer, nfds: number, timeout: number) => number) & { async: (fds: Buffer, nfds: number, timeout: number, cb: (err: unknown, n: number) => void) => void };
}

let libc: Libc | undefined;

function lib(): Libc {
  if (libc) return libc;
  const l = libcLibrary();
  libc = {
    socket: l.func('int socket(int, int, int)'),
    bind: l.func('int bind(int, const void *, uint32_t)'),
    getsockname: l.func('int getsockname(int, _Out_ void *, _Inout_ uint32_t *)'),
    setsockopt: l.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    recv: l.func('intptr_t recv(int, _Out_ void *, size_t, int)'),
    eventfd: l.func('int eventfd(unsigned int, int)'),
    poll: l.func('int poll(void *, unsigned long, int)'),
  } as unknown as Libc;
  return libc;
}

function setIntOption(fd: number, level: number, name: number, value: number): boolean {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value, 0);
  return lib().setsockopt(fd, level, name, b, 4) === 0;
}

function openSocket(groups: number): number {
  const fd = lib().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw new NetlinkError('socket(AF_NETLINK)', koffi.errno());
  // Extended acks carry the kernel's reason; capped acks do not echo the request back.
  setIntOption(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
  setIntOption(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
  const sa = Buffer.alloc(12);
  sa.writeUInt16LE(AF_NETLINK, 0);
  sa.writeUInt32LE(groups, 8);
  if (lib().bind(fd, sa, sa.length) < 0) {
    const errno = koffi.errno();
    closeSync(fd);
    throw new NetlinkError('bind(AF_NETLINK)', errno);
  }
  return fd;
}

const RECV_BUFFER = 64 * 1024;

/**
 * The request socket: one request at a time, its write and reads on the
 * thread pool (the kernel does a request's work inside the write).
 */
export class RtnetlinkSocket {
  private seq = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly buffer = Buffer.alloc(RECV_BUFFER);
  private closed = false;

  private constructor(private readonly fd: number) {}

  static open(): RtnetlinkSocket {
    return new RtnetlinkSocket(openSocket(0));
  }

  /**
   * The port id the kernel gave the socket (nl_pid): the events that answer its requests carry
   * it, which tells them from everyone else's (docs/external-changes.md).
   */
  get portId(): number {
    const sa = Buffer.alloc(12);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(sa.length, 0);
    if (lib().getsockname(this.fd, sa, len) < 0) throw new NetlinkError('getsockname(AF_NETLINK)', koffi.errno());
    return sa.readUInt32LE(4);
  }

  /** The messages of a dump; an interrupted dump (the table changed meanwhile) is asked again. */
  async dump(operation: string, request: (seq: number) => Buffer): Promise<NetlinkMessage[]> {
    for (let attempt = 0; ; attempt++) {
      const { messages, interrupted } = await this.serialized(() => this.exchange(operation, request));
      if (!interrupted || attempt >= 4) return messages;
    }
  }

  /**
   * The reply to a request that is not a dump (a GET of one object): the kernel answers with one
   * message (without NLM_F_MULTI), or with an error, which rejects.
   */
  async query(operation: string, request: (seq: number) => Buffer): Promise<NetlinkMessage[]> {
    const { messages } = await this.serialized(() => this.exchange(operation, request));
    return messages;
  }

  /** A change request: resolves on the kernel's ack, rejects with its errno and extended-ack text. */
  async request(operation: string, request: (seq: number) => Buffer): Promise<void> {
    await this.serialized(() => this.exchange(operation, request));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // After the requests in flight: their reads hold the descriptor.
    void this.chain.finally(() => closeSync(this.fd));
  }

  private serialized<T>(run: () => Promise<T>): Promise<T> {
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async exchange(operation: string, request: (seq: number) => Buffer): Promise<{ messages: NetlinkMessage[]; interrupted: boolean }> {
    if (this.closed) throw new NetlinkError(operation, 9 /* EBADF */);
    const seq = (this.seq = (this.seq % 0x7fffffff) + 1);
    const message = request(seq);
    await new Promise<void>((resolve, reject) =>
      write(this.fd, message, 0, message.length, null, (e) => (e ? reject(new NetlinkError(operation, -(e.errno ?? -5))) : resolve())),
    );
    const messages: NetlinkMessage[] = [];
    let interrupted = false;
    for (;;) {
      const n = await new Promise<number>((resolve, reject) =>
        read(this.fd, this.buffer, 0, this.buffer.length, null, (e, bytes) => (e ? reject(new NetlinkError(operation, -(e.errno ?? -5))) : resolve(bytes))),
      );
      for (const m of splitMessages(this.buffer.subarray(0, n))) {
        if (m.seq !== seq) continue;
        if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (m.type === NLMSG_DONE) return { messages, interrupted };
        if (m.type === NLMSG_ERROR) {
          const { errno, extAck } = decodeError(m);
          if (errno !== 0) throw new NetlinkError(operation, errno, extAck);
          return { messages, interrupted };
        }
        // copied: the buffer is reused by the next read
        messages.push({ ...m, body: Buffer.from(m.body) });
        if (!(m.flags & NLM_F_MULTI)) return { messages, interrupted };
      }
    }
  }
}

export interface MonitorHandlers {
  readonly message: (message: NetlinkMessage) => void;
  /** the socket's queue overflowed (ENOBUFS) or a datagram was cut: events were lost */
  readonly overrun: () => void;
  readonly error: (error: NetlinkError) => void;
}

/** Datagrams read per turn of the event loop before waiting again, so a burst does not starve it. */
const DRAIN_BATCH = 64;

/**
 * The event socket, subscribed to multicast groups. A thread-pool thread
 * waits in poll(2) on it and on an eventfd that close() signals; the
 * datagrams are then read without blocking on the event loop.
 */
export class RtnetlinkMonitor {
  private readonly pollfds = Buffer.alloc(16);
  private readonly buffer = Buffer.alloc(RECV_BUFFER);
  private stopping = false;
  private polling = false;

  private constructor(
    private readonly fd: number,
    private readonly wake: number,
  ) {
    this.pollfds.writeInt32LE(fd, 0);
    this.pollfds.writeInt16LE(POLLIN, 4);
    this.pollfds.writeInt32LE(wake, 8);
    this.pollfds.writeInt16LE(POLLIN, 12);
  }

  /** Subscribes to `groups` now: what happens from here on is queued (up to `receiveBuffer` bytes) until start(). */
  static open(groups: number, receiveBuffer: number): RtnetlinkMonitor {
    const fd = openSocket(groups);
    // SO_RCVBUFFORCE passes net.core.rmem_max (CAP_NET_ADMIN); without it the kernel caps SO_RCVBUF.
    if (!setIntOption(fd, SOL_SOCKET, SO_RCVBUFFORCE, receiveBuffer)) setIntOption(fd, SOL_SOCKET, SO_RCVBUF, receiveBuffer);
    const wake = lib().eventfd(0, EFD_CLOEXEC);
    if (wake < 0) {
      const errno = koffi.errno();
      closeSync(fd);
      throw new NetlinkError('eventfd', errno);
    }
    return new RtnetlinkMonitor(fd, wake);
  }

  start(handlers: MonitorHandlers): void {
    this.wait(handlers);
  }

  close(): void {
    if (this.stopping) return;
    this.stopping = true;
    if (this.polling) writeSync(this.wake, u64One());
    else this.release();
  }

  private release(): void {
    closeSync(this.fd);
    closeSync(this.wake);
  }

  private wait(handlers: MonitorHandlers): void {
    this.polling = true;
    lib().poll.async(this.pollfds, 2, -1, () => {
      this.polling = false;
      if (this.stopping) return this.release();
      this.drain(handlers);
      this.wait(handlers);
    });
  }

  private drain(handlers: MonitorHandlers): void {
    for (let i = 0; i < DRAIN_BATCH; i++) {
      const n = Number(lib().recv(this.fd, this.buffer, this.buffer.length, MSG_DONTWAIT | MSG_TRUNC));
      if (n < 0) {
        const errno = koffi.errno();
        if (errno === osConstants.errno.EAGAIN) return;
        if (errno === osConstants.errno.EINTR) continue;
        if (errno === osConstants.errno.ENOBUFS) handlers.overrun();
        else handlers.error(new NetlinkError('recv(rtnetlink events)', errno));
        continue;
      }
      if (n > this.buffer.length) {
        handlers.overrun();
        continue;
      }
      for (const m of splitMessages(this.buffer.subarray(0, n))) handlers.message(m);
    }
  }
}

function u64One(): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(1n, 0);
  return b;
}
