// RawConnection: a bus connection that puts hand-built bytes on the wire,
// for the messages dbus-next will not produce (a signature naming a unix fd
// with none attached, a string that is not UTF-8, a body that lies about its
// length). It speaks just enough of the protocol for that: AUTH EXTERNAL,
// Hello, sending a method call with a caller-supplied body, and reading the
// header of what comes back (type, reply serial, error name).
//
// What dbus-daemon lets through to the daemon, found by sending each case:
// it validates every message it receives against the wire format (libdbus's
// _dbus_validate_body_with_reason) and disconnects a sender whose message
// fails: strings (`s`, `o`, `g`) must be valid UTF-8 without NUL, booleans 0
// or 1, object paths and signatures well formed, containers nested at most
// 32 deep (64 in total), arrays at most 64 MiB, a message at most its
// max_message_size (32 MiB by default). So invalid UTF-8 in an `s` never
// reaches us: it is a test of the bus, not of the daemon. Byte arrays (`ay`)
// carry any bytes, and an `h` (unix fd index) whose message carries no fd is
// valid on the wire for the bus (it does not check the index against the fds
// attached): both reach the daemon.
import { createConnection, type Socket } from 'node:net';

const LE = 0x6c;
export const MESSAGE_TYPE = { call: 1, return: 2, error: 3, signal: 4 } as const;
const FIELD = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, sender: 7, signature: 8 } as const;

export interface RawCall {
  path: string;
  interface?: string;
  member: string;
  destination: string;
  /** the body's signature as the header states it */
  signature?: string;
  /** the body's bytes, little-endian, aligned as if it started at offset 0 */
  body?: Buffer;
  flags?: number;
}

export interface RawReply {
  type: number;
  replySerial: number;
  errorName?: string;
  /** the first string of the body (an error's message), when the body starts with one */
  text?: string;
}

/** Writes values with D-Bus alignment, little-endian, from offset 0. */
export class WireWriter {
  private chunks: Buffer[] = [];
  private length = 0;

  get offset(): number {
    return this.length;
  }

  align(n: number): this {
    const pad = (n - (this.length % n)) % n;
    if (pad > 0) this.raw(Buffer.alloc(pad));
    return this;
  }

  raw(b: Buffer): this {
    this.chunks.push(b);
    this.length += b.length;
    return this;
  }

  byte(v: number): this {
    return this.raw(Buffer.from([v & 0xff]));
  }

  uint32(v: number): this {
    this.align(4);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return this.raw(b);
  }

  /** An `s` or `o`: length, bytes (not checked: that is the point), NUL. */
  stringBytes(bytes: Buffer): this {
    this.uint32(bytes.length);
    return this.raw(bytes).byte(0);
  }

  string(s: string): this {
    return this.stringBytes(Buffer.from(s, 'utf8'));
  }

  signature(s: string): this {
    const b = Buffer.from(s, 'ascii');
    return this.byte(b.length).raw(b).byte(0);
  }

  /** A length-prefixed array whose elements `fill` writes; `elementAlign` is the element type's alignment. */
  array(elementAlign: number, fill: (w: WireWriter) => void): this {
    this.uint32(0);
    const lengthAt = this.length - 4;
    this.align(elementAlign);
    const start = this.length;
    fill(this);
    const buf = this.toBuffer();
    buf.writeUInt32LE(this.length - start, lengthAt);
    this.chunks = [buf];
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

function headerField(w: WireWriter, code: number, sig: string, write: (w: WireWriter) => void): void {
  w.align(8).byte(code).signature(sig);
  write(w);
}

export function encodeCall(call: RawCall, serial: number): Buffer {
  const body = call.body ?? Buffer.alloc(0);
  const w = new WireWriter();
  w.byte(LE).byte(MESSAGE_TYPE.call).byte(call.flags ?? 0).byte(1).uint32(body.length).uint32(serial);
  w.array(8, (f) => {
    headerField(f, FIELD.path, 'o', (x) => x.string(call.path));
    if (call.interface !== undefined) headerField(f, FIELD.interface, 's', (x) => x.string(call.interface!));
    headerField(f, FIELD.member, 's', (x) => x.string(call.member));
    headerField(f, FIELD.destination, 's', (x) => x.string(call.destination));
    if (call.signature) headerField(f, FIELD.signature, 'g', (x) => x.signature(call.signature!));
  });
  w.align(8);
  return Buffer.concat([w.toBuffer(), body]);
}

/** Reads the header fields of one whole little- or big-endian message. */
function decodeHeader(msg: Buffer): RawReply & { serial: number } {
  const le = msg[0] === LE;
  const u32 = (at: number): number => (le ? msg.readUInt32LE(at) : msg.readUInt32BE(at));
  const reply: RawReply & { serial: number } = { type: msg[1]!, replySerial: 0, serial: u32(8) };
  const fieldsEnd = 16 + u32(12);
  let pos = 16;
  let signature = '';
  const str = (): string => {
    pos = (pos + 3) & ~3;
    const len = u32(pos);
    const s = msg.toString('utf8', pos + 4, pos + 4 + len);
    pos += 4 + len + 1;
    return s;
  };
  while (pos < fieldsEnd) {
    pos = (pos + 7) & ~7;
    const code = msg[pos]!;
    const sigLen = msg[pos + 1]!;
    const sig = msg.toString('ascii', pos + 2, pos + 2 + sigLen);
    pos += 2 + sigLen + 1;
    if (sig === 'u') {
      pos = (pos + 3) & ~3;
      if (code === FIELD.replySerial) reply.replySerial = u32(pos);
      pos += 4;
    } else if (sig === 'g') {
      const len = msg[pos]!;
      const g = msg.toString('ascii', pos + 1, pos + 1 + len);
      pos += len + 2;
      if (code === FIELD.signature) signature = g;
    } else {
      const s = str();
      if (code === FIELD.errorName) reply.errorName = s;
    }
  }
  const bodyAt = (fieldsEnd + 7) & ~7;
  if (signature.startsWith('s') && msg.length >= bodyAt + 4) {
    pos = bodyAt;
    reply.text = str();
  }
  return reply;
}

export class RawConnection {
  private buffered = Buffer.alloc(0);
  private serial = 1;
  private readonly waiting = new Map<number, (r: RawReply) => void>();
  private closedWaiters: Array<() => void> = [];
  closed = false;
  uniqueName = '';

  private constructor(private readonly socket: Socket) {}

  /** Connects to a `unix:path=…` address, authenticates as our uid and says Hello. */
  static async open(address: string): Promise<RawConnection> {
    const path = /^unix:path=([^,;]+)/.exec(address)?.[1];
    if (!path) throw new Error(`not a unix:path address: ${address}`);
    const socket = createConnection(path);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const uid = Buffer.from(String(process.getuid?.() ?? 0)).toString('hex');
    socket.write(`\0AUTH EXTERNAL ${uid}\r\n`);
    const line = await new Promise<string>((resolve, reject) => {
      let text = '';
      const onData = (d: Buffer): void => {
        text += d.toString('latin1');
        if (text.includes('\r\n')) {
          socket.off('data', onData);
          resolve(text);
        }
      };
      socket.on('data', onData);
      socket.once('error', reject);
    });
    if (!line.startsWith('OK ')) throw new Error(`the bus refused AUTH EXTERNAL: ${line.trim()}`);
    socket.write('BEGIN\r\n');
    const conn = new RawConnection(socket);
    socket.on('data', (d: Buffer) => conn.receive(d));
    socket.on('error', () => undefined);
    socket.on('close', () => conn.onClose());
    const hello = await conn.call({ path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello', destination: 'org.freedesktop.DBus' }, 10_000);
    if (hello.type !== MESSAGE_TYPE.return) throw new Error(`Hello failed: ${hello.errorName ?? '?'}`);
    conn.uniqueName = hello.text ?? '';
    return conn;
  }

  /**
   * Sends `call` and resolves with the reply; with {type: 0} when the bus
   * closed the connection first (its answer to a message it finds invalid),
   * or when `timeoutMs` passes (type -1).
   */
  call(call: RawCall, timeoutMs: number): Promise<RawReply> {
    const serial = this.serial++;
    return new Promise((resolve) => {
      if (this.closed) {
        resolve({ type: 0, replySerial: serial });
        return;
      }
      const timer = setTimeout(() => {
        this.waiting.delete(serial);
        resolve({ type: -1, replySerial: serial });
      }, timeoutMs);
      this.waiting.set(serial, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.socket.write(encodeCall(call, serial));
    });
  }

  /** Resolves once the connection is closed (by the bus or by close()). */
  whenClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(data: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, data]);
    while (this.buffered.length >= 16) {
      const le = this.buffered[0] === LE;
      const fields = le ? this.buffered.readUInt32LE(12) : this.buffered.readUInt32BE(12);
      const bodyLength = le ? this.buffered.readUInt32LE(4) : this.buffered.readUInt32BE(4);
      const total = ((16 + fields + 7) & ~7) + bodyLength;
      if (this.buffered.length < total) return;
      const msg = this.buffered.subarray(0, total);
      this.buffered = this.buffered.subarray(total);
      const reply = decodeHeader(msg);
      if (reply.type === MESSAGE_TYPE.return || reply.type === MESSAGE_TYPE.error) {
        const waiter = this.waiting.get(reply.replySerial);
        this.waiting.delete(reply.replySerial);
        waiter?.({ type: reply.type, replySerial: reply.replySerial, ...(reply.errorName !== undefined ? { errorName: reply.errorName } : {}), ...(reply.text !== undefined ? { text: reply.text } : {}) });
      }
    }
  }

  private onClose(): void {
    this.closed = true;
    for (const [serial, waiter] of this.waiting) waiter({ type: 0, replySerial: serial });
    this.waiting.clear();
    for (const w of this.closedWaiters) w();
    this.closedWaiters = [];
  }
}
