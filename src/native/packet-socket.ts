// Packet sockets (AF_PACKET, SOCK_DGRAM) through koffi: how the DHCP client
// talks on one link before it has an address there — IPv4 and UDP built and
// read in JS (ipv4-udp.ts) — and how it sends and hears ARP to check that an
// address is free. Every socket of the process is watched by one poll on the
// thread pool (packet-poller.ts) and read on the event loop without blocking.
// docs/dhcp4.md describes the transport.
import { closeSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import koffi from 'koffi';
import { libcLibrary } from './libc.js';
import { decodeUdp4, encodeUdp4, type Udp4Datagram } from './ipv4-udp.js';
import { packetPoller } from './packet-poller.js';

const AF_PACKET = 17;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
const SOL_SOCKET = 1;
const SO_ATTACH_FILTER = 26;
const SOL_PACKET = 263;
const PACKET_AUXDATA = 8;
/** tpacket_auxdata.tp_status: the checksum is left to the hardware and not filled in yet */
const TP_STATUS_CSUMNOTREADY = 1 << 3;
const PACKET_OUTGOING = 4;
const MSG_TRUNC = 0x20;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const EINTR = 4;
const SOCKADDR_LL_SIZE = 20;
const BROADCAST_MAC = Buffer.alloc(6, 0xff);

/** A packet socket call that failed: the call, the link and the errno, with what to do when there is something. */
export class PacketSocketError extends Error {
  readonly errno: number;
  readonly code: string;

  constructor(operation: string, ifindex: number, errno: number) {
    const code = errnoName(errno);
    super(`${operation} on ifindex ${ifindex}: ${code}${hint(code)}`);
    this.name = 'PacketSocketError';
    this.errno = errno;
    this.code = code;
  }
}

function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

function hint(code: string): string {
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      return ' (packet sockets need CAP_NET_RAW)';
    case 'ENETDOWN':
      return ' (the link is down)';
    case 'ENODEV':
    case 'ENXIO':
      return ' (the link is gone)';
    default:
      return '';
  }
}

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  setsockopt(fd: number, level: number, name: number, value: unknown, len: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number | bigint;
  recvmsg(fd: number, msg: unknown, flags: number): number | bigint;
}

let libc: Libc | undefined;

function lib(): Libc {
  if (libc) return libc;
  const l = libcLibrary();
  libc = {
    socket: l.func('int socket(int, int, int)'),
    bind: l.func('int bind(int, const void *, uint32_t)'),
    setsockopt: l.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    sendto: l.func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)'),
    recvmsg: l.func('intptr_t recvmsg(int, void *, int)'),
  } as unknown as Libc;
  return libc;
}

/** struct sockaddr_ll for `ifindex` and `protocol` (host order), with a destination hardware address when sending. */
function sockaddrLl(ifindex: number, protocol: number, mac: Buffer | null = null): Buffer {
  const sa = Buffer.alloc(SOCKADDR_LL_SIZE);
  sa.writeUInt16LE(AF_PACKET, 0);
  sa.writeUInt16BE(protocol, 2);
  sa.writeInt32LE(ifindex, 4);
  if (mac) {
    sa[11] = mac.length;
    mac.copy(sa, 12, 0, 8);
  }
  return sa;
}

export function macText(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function macBytes(text: string): Buffer {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(text)) throw new Error(`not a hardware address: ${JSON.stringify(text)}`);
  return Buffer.from(text.replace(/:/g, ''), 'hex');
}

// --- classic BPF, so that only what the socket is for wakes the poller ---

const BPF_LD_B_ABS = 0x30;
const BPF_LD_H_ABS = 0x28;
const BPF_LDX_B_MSH = 0xb1;
const BPF_LD_H_IND = 0x48;
const BPF_ALU_RSH_K = 0x74;
const BPF_JEQ_K = 0x15;
const BPF_JSET_K = 0x45;
const BPF_RET_K = 0x06;

type Insn = [code: number, jt: number, jf: number, k: number];

/**
 * The filter of the DHCP socket: an IPv4 packet (the socket gets it from the
 * IP header on), UDP, not a fragment, to `port`. Everything else is dropped
 * in the kernel.
 */
export function udpPortFilter(port: number): Insn[] {
  const program: Insn[] = [
    [BPF_LD_B_ABS, 0, 0, 0], //    A = version and header length
    [BPF_ALU_RSH_K, 0, 0, 4], //   A >>= 4
    [BPF_JEQ_K, 0, 0, 4], //       IPv4? (jf patched to drop below)
    [BPF_LD_B_ABS, 0, 0, 9], //    A = protocol
    [BPF_JEQ_K, 0, 0, 17], //      UDP?
    [BPF_LD_H_ABS, 0, 0, 6], //    A = flags and fragment offset
    [BPF_JSET_K, 0, 0, 0x3fff], // MF or an offset: a fragment (jt patched to drop)
    [BPF_LDX_B_MSH, 0, 0, 0], //   X = IP header length
    [BPF_LD_H_IND, 0, 0, 2], //    A = UDP destination port
    [BPF_JEQ_K, 0, 0, port], //    ours?
    [BPF_RET_K, 0, 0, 0xffffffff], // accept whole
    [BPF_RET_K, 0, 0, 0], //       drop
  ];
  const drop = program.length - 1;
  const toDrop = (at: number): number => drop - at - 1;
  program[2]![2] = toDrop(2);
  program[4]![2] = toDrop(4);
  program[6]![1] = toDrop(6);
  program[9]![2] = toDrop(9);
  return program;
}

function attachFilter(fd: number, ifindex: number, program: Insn[]): void {
  // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k } in memory whose address goes into struct sock_fprog.
  const filter = koffi.alloc('uint8_t', program.length * 8);
  try {
    const f = Buffer.from(koffi.view(filter, program.length * 8));
    program.forEach(([code, jt, jf, k], i) => {
      f.writeUInt16LE(code, i * 8);
      f[i * 8 + 2] = jt;
      f[i * 8 + 3] = jf;
      f.writeUInt32LE(k >>> 0, i * 8 + 4);
    });
    const fprog = koffi.alloc(SOCK_FPROG(), 1);
    try {
      koffi.encode(fprog, SOCK_FPROG(), { len: program.length, filter });
      if (lib().setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, koffi.sizeof(SOCK_FPROG())) < 0) {
        throw new PacketSocketError('setsockopt(SO_ATTACH_FILTER)', ifindex, koffi.errno());
      }
    } finally {
      koffi.free(fprog);
    }
  } finally {
    koffi.free(filter);
  }
}

let sockFprog: koffi.IKoffiCType | undefined;
function SOCK_FPROG(): koffi.IKoffiCType {
  sockFprog ??= koffi.struct('netaudit_sock_fprog', { len: 'uint16_t', filter: 'void *' });
  return sockFprog;
}

// --- receiving: one recvmsg(2) buffer for every socket, read on the event loop only ---

const RECEIVE_SIZE = 64 * 1024;
const NAME_SIZE = 32;
const CONTROL_SIZE = 128;

interface ReceiveArea {
  readonly msghdr: unknown;
  readonly header: Buffer;
  readonly data: Buffer;
  readonly name: Buffer;
  readonly control: Buffer;
  readonly namelenOffset: number;
  readonly controllenOffset: number;
  readonly flagsOffset: number;
  readonly sizeT: number;
}

let area: ReceiveArea | undefined;

function receiveArea(): ReceiveArea {
  if (area) return area;
  const sizeT = koffi.sizeof('size_t');
  const msghdrType = koffi.struct('netaudit_msghdr', {
    msg_name: 'void *', msg_namelen: 'uint32_t', msg_iov: 'void *', msg_iovlen: 'size_t',
    msg_control: 'void *', msg_controllen: 'size_t', msg_flags: 'int',
  });
  const iovecType = koffi.struct('netaudit_iovec', { iov_base: 'void *', iov_len: 'size_t' });
  // Allocated once and never freed: the process's receive buffer for as long as it has packet sockets.
  const data = koffi.alloc('uint8_t', RECEIVE_SIZE);
  const name = koffi.alloc('uint8_t', NAME_SIZE);
  const control = koffi.alloc('uint8_t', CONTROL_SIZE);
  const iov = koffi.alloc(iovecType, 1);
  koffi.encode(iov, iovecType, { iov_base: data, iov_len: RECEIVE_SIZE });
  const msghdr = koffi.alloc(msghdrType, 1);
  koffi.encode(msghdr, msghdrType, {
    msg_name: name, msg_namelen: NAME_SIZE, msg_iov: iov, msg_iovlen: 1,
    msg_control: control, msg_controllen: CONTROL_SIZE, msg_flags: 0,
  });
  area = {
    msghdr,
    header: Buffer.from(koffi.view(msghdr, koffi.sizeof(msghdrType))),
    data: Buffer.from(koffi.view(data, RECEIVE_SIZE)),
    name: Buffer.from(koffi.view(name, NAME_SIZE)),
    control: Buffer.from(koffi.view(control, CONTROL_SIZE)),
    namelenOffset: koffi.offsetof(msghdrType, 'msg_namelen'),
    controllenOffset: koffi.offsetof(msghdrType, 'msg_controllen'),
    flagsOffset: koffi.offsetof(msghdrType, 'msg_flags'),
    sizeT,
  };
  return area;
}

function writeSizeT(b: Buffer, offset: number, size: number, value: number): void {
  if (size === 8) b.writeBigUInt64LE(BigInt(value), offset);
  else b.writeUInt32LE(value, offset);
}

function readSizeT(b: Buffer, offset: number, size: number): number {
  return size === 8 ? Number(b.readBigUInt64LE(offset)) : b.readUInt32LE(offset);
}

/** The tp_status of a PACKET_AUXDATA control message among `length` bytes of control data, or null. */
function auxStatus(control: Buffer, length: number, sizeT: number): number | null {
  const align = (n: number): number => (n + sizeT - 1) & ~(sizeT - 1);
  const headerSize = align(sizeT + 8);
  for (let at = 0; at + headerSize <= length; ) {
    const len = readSizeT(control, at, sizeT);
    if (len < sizeT + 8 || at + len > length) return null;
    if (control.readInt32LE(at + sizeT) === SOL_PACKET && control.readInt32LE(at + sizeT + 4) === PACKET_AUXDATA && len >= headerSize + 4) {
      return control.readUInt32LE(at + headerSize);
    }
    at += align(len);
  }
  return null;
}

export interface Frame {
  /**
   * The packet from the network header on: a view of the one receive
   * buffer, valid only until the handler returns (copy what is kept). A
   * broadcast reaches every link's socket, so the copy is left to those
   * that keep something.
   */
  readonly data: Buffer;
  readonly sourceMac: string;
  /** false when the kernel says the transport checksum is not filled in yet (sent by this host or through a veth) */
  readonly checksumReady: boolean;
}

export interface FrameHandlers {
  readonly frame: (f: Frame) => void;
  readonly error: (e: PacketSocketError | Error) => void;
}

/** Datagrams read per wake-up before polling again, so that a flood does not hold the event loop. */
const DRAIN_BATCH = 32;

/**
 * One packet socket on one link. It receives nothing until listen(): bound
 * with protocol 0 the kernel hands it no packet, so an idle socket costs no
 * wake-up.
 */
class PacketSocket {
  private handlers: FrameHandlers | null = null;
  private closed = false;

  private constructor(
    private readonly fd: number,
    readonly ifindex: number,
    private readonly protocol: number,
  ) {}

  static open(ifindex: number, protocol: number, filter: Insn[] | null): PacketSocket {
    // Protocol 0 until bound: a socket opened with a protocol hears every link's packets until its bind.
    const fd = lib().socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) throw new PacketSocketError('socket(AF_PACKET)', ifindex, koffi.errno());
    try {
      if (filter) attachFilter(fd, ifindex, filter);
      const one = Buffer.alloc(4);
      one.writeInt32LE(1, 0);
      if (lib().setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, one, 4) < 0) throw new PacketSocketError('setsockopt(PACKET_AUXDATA)', ifindex, koffi.errno());
      const socket = new PacketSocket(fd, ifindex, protocol);
      socket.bindTo(0);
      return socket;
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Sends `data` (from the network header on) to `mac` on the link. */
  send(data: Buffer, mac: Buffer): void {
    if (this.closed) throw new PacketSocketError('sendto', this.ifindex, 9 /* EBADF */);
    const sa = sockaddrLl(this.ifindex, this.protocol, mac);
    for (;;) {
      const n = Number(lib().sendto(this.fd, data, data.length, MSG_DONTWAIT, sa, sa.length));
      if (n >= 0) return;
      const errno = koffi.errno();
      if (errno !== EINTR) throw new PacketSocketError('sendto', this.ifindex, errno);
    }
  }

  /** Starts (handlers) or stops (null) receiving. */
  listen(handlers: FrameHandlers | null): void {
    if (this.closed) return;
    if (handlers && !this.handlers) {
      this.bindTo(this.protocol);
      packetPoller().add(this.fd, { ready: () => this.drain(), failed: (reason) => this.handlers?.error(new Error(`packet socket on ifindex ${this.ifindex}: ${reason}`)) });
    } else if (!handlers && this.handlers) {
      packetPoller().remove(this.fd, false);
      this.bindTo(0);
    }
    this.handlers = handlers;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers = null;
    packetPoller().remove(this.fd, true);
  }

  private bindTo(protocol: number): void {
    const sa = sockaddrLl(this.ifindex, protocol);
    if (lib().bind(this.fd, sa, sa.length) < 0) throw new PacketSocketError('bind(AF_PACKET)', this.ifindex, koffi.errno());
  }

  private drain(): void {
    const a = receiveArea();
    for (let i = 0; i < DRAIN_BATCH && this.handlers; i++) {
      a.header.writeUInt32LE(NAME_SIZE, a.namelenOffset);
      writeSizeT(a.header, a.controllenOffset, a.sizeT, CONTROL_SIZE);
      const n = Number(lib().recvmsg(this.fd, a.msghdr, MSG_DONTWAIT | MSG_TRUNC));
      if (n < 0) {
        const errno = koffi.errno();
        if (errno === EAGAIN) return;
        if (errno === EINTR) continue;
        // The socket's pending error (ENETDOWN when the link went down) is reported once and cleared.
        this.handlers.error(new PacketSocketError('recvmsg', this.ifindex, errno));
        return;
      }
      if (a.header.readInt32LE(a.flagsOffset) & MSG_TRUNC || n > RECEIVE_SIZE) continue;
      if (a.name[10] === PACKET_OUTGOING) continue; // our own packets, looped back to the socket
      const halen = Math.min(a.name[11]!, 8);
      const status = auxStatus(a.control, readSizeT(a.header, a.controllenOffset, a.sizeT), a.sizeT);
      this.handlers.frame({
        data: a.data.subarray(0, n),
        sourceMac: macText(a.name.subarray(12, 12 + halen)),
        checksumReady: status === null || (status & TP_STATUS_CSUMNOTREADY) === 0,
      });
    }
  }
}

export interface ReceivedUdp4 extends Udp4Datagram {
  readonly sourceMac: string;
}

export interface Udp4Handlers {
  readonly datagram: (d: ReceivedUdp4) => void;
  /** a packet that passed the kernel's filter but is not a valid IPv4 UDP datagram */
  readonly invalid: (reason: string) => void;
  readonly error: (e: Error) => void;
}

/** IPv4 UDP to one port on one link, sent and received with the headers made here. */
export class Udp4PacketSocket {
  private constructor(
    private readonly socket: PacketSocket,
    private readonly port: number,
  ) {}

  static open(ifindex: number, port: number): Udp4PacketSocket {
    return new Udp4PacketSocket(PacketSocket.open(ifindex, ETH_P_IP, udpPortFilter(port)), port);
  }

  /** Sends `d` in a frame to `mac` (lower-case colon hex), or to every host on the link when null. */
  send(d: Udp4Datagram, mac: string | null): void {
    this.socket.send(encodeUdp4(d), mac === null ? BROADCAST_MAC : macBytes(mac));
  }

  listen(handlers: Udp4Handlers | null): void {
    if (!handlers) return this.socket.listen(null);
    this.socket.listen({
      frame: (f) => {
        const decoded = decodeUdp4(f.data, f.checksumReady);
        if ('invalid' in decoded) return handlers.invalid(decoded.invalid);
        if (decoded.datagram.destinationPort !== this.port) return handlers.invalid(`to port ${decoded.datagram.destinationPort}`);
        handlers.datagram({ ...decoded.datagram, sourceMac: f.sourceMac });
      },
      error: handlers.error,
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** ARP on one link: frames sent to every host, and every ARP frame heard while listening. */
export class ArpPacketSocket {
  private constructor(private readonly socket: PacketSocket) {}

  static open(ifindex: number): ArpPacketSocket {
    return new ArpPacketSocket(PacketSocket.open(ifindex, ETH_P_ARP, null));
  }

  /** Sends the ARP packet `data` to the link's broadcast address. */
  send(data: Buffer): void {
    this.socket.send(data, BROADCAST_MAC);
  }

  listen(handlers: FrameHandlers | null): void {
    this.socket.listen(handlers);
  }

  close(): void {
    this.socket.close();
  }
}
