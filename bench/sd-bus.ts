// libsystemd's sd-bus through koffi, as much as the bus-layer bench needs: a bus connection
// driven from Node's event loop, an object whose method calls reach JS, a reader of message
// bodies into the core's Settings (Maps of signature-tagged values, what src/bus/variant.ts
// makes of dbus-next's objects), replies and asynchronous calls.
//
// Event loop: Node has no API to watch a raw fd for readability. A net.Socket on the fd
// would have libuv read(2) the bytes itself, so sd-bus would never see them. What works is
// poll(2) called through koffi's `.async`, which runs it on a libuv thread-pool thread and
// calls back on the main thread: one pool thread stays blocked in poll while idle, and each
// wake-up costs a hop through the pool; sd_bus_process is then called until it has nothing
// left. A send outside sd_bus_process is written at once by sd-bus when the socket takes it;
// when it does not (the poll armed without POLLOUT would not wake), the bench flushes.
import koffi from 'koffi';
import type { Settings, Value } from '../src/core/settings/value.js';

const lib = koffi.load('libsystemd.so.0');
const libc = koffi.load('libc.so.6');

koffi.opaque('sd_bus');
koffi.opaque('sd_bus_message');
koffi.opaque('sd_bus_slot');
const handlerType = koffi.proto('int sd_bus_message_handler_t(sd_bus_message *m, void *userdata, void *ret_error)');

type Ptr = unknown;
type Out<T> = [T];

/* eslint-disable @typescript-eslint/no-explicit-any */
const f = {
  newBus: lib.func('int sd_bus_new(_Out_ sd_bus **ret)') as (out: Out<Ptr>) => number,
  setAddress: lib.func('int sd_bus_set_address(sd_bus *bus, const char *address)') as (bus: Ptr, a: string) => number,
  setBusClient: lib.func('int sd_bus_set_bus_client(sd_bus *bus, int b)') as (bus: Ptr, b: number) => number,
  start: lib.func('int sd_bus_start(sd_bus *bus)') as (bus: Ptr) => number,
  requestName: lib.func('int sd_bus_request_name(sd_bus *bus, const char *name, uint64_t flags)') as (bus: Ptr, n: string, f: number) => number,
  uniqueName: lib.func('int sd_bus_get_unique_name(sd_bus *bus, _Out_ const char **name)') as (bus: Ptr, out: Out<string | null>) => number,
  addObject: lib.func('int sd_bus_add_object(sd_bus *bus, void *slot, const char *path, sd_bus_message_handler_t *cb, void *userdata)') as (
    bus: Ptr, slot: null, path: string, cb: unknown, ud: null) => number,
  process: lib.func('int sd_bus_process(sd_bus *bus, void *r)') as (bus: Ptr, r: null) => number,
  getFd: lib.func('int sd_bus_get_fd(sd_bus *bus)') as (bus: Ptr) => number,
  getEvents: lib.func('int sd_bus_get_events(sd_bus *bus)') as (bus: Ptr) => number,
  flush: lib.func('int sd_bus_flush(sd_bus *bus)') as (bus: Ptr) => number,
  send: lib.func('int sd_bus_send(sd_bus *bus, sd_bus_message *m, void *cookie)') as (bus: Ptr, m: Ptr, c: null) => number,
  callAsync: lib.func('int sd_bus_call_async(sd_bus *bus, void *slot, sd_bus_message *m, sd_bus_message_handler_t *cb, void *userdata, uint64_t usec)') as (
    bus: Ptr, slot: null, m: Ptr, cb: unknown, ud: null, usec: number) => number,
  // message
  ref: lib.func('sd_bus_message *sd_bus_message_ref(sd_bus_message *m)') as (m: Ptr) => Ptr,
  unref: lib.func('sd_bus_message *sd_bus_message_unref(sd_bus_message *m)') as (m: Ptr) => Ptr,
  getInterface: lib.func('const char *sd_bus_message_get_interface(sd_bus_message *m)') as (m: Ptr) => string | null,
  getMember: lib.func('const char *sd_bus_message_get_member(sd_bus_message *m)') as (m: Ptr) => string | null,
  getSender: lib.func('const char *sd_bus_message_get_sender(sd_bus_message *m)') as (m: Ptr) => string | null,
  getSignature: lib.func('const char *sd_bus_message_get_signature(sd_bus_message *m, int complete)') as (m: Ptr, c: number) => string,
  getCookie: lib.func('int sd_bus_message_get_cookie(sd_bus_message *m, _Out_ uint64_t *cookie)') as (m: Ptr, out: Out<number>) => number,
  getReplyCookie: lib.func('int sd_bus_message_get_reply_cookie(sd_bus_message *m, _Out_ uint64_t *cookie)') as (m: Ptr, out: Out<number>) => number,
  isError: lib.func('int sd_bus_message_is_method_error(sd_bus_message *m, const char *name)') as (m: Ptr, n: null) => number,
  rewind: lib.func('int sd_bus_message_rewind(sd_bus_message *m, int complete)') as (m: Ptr, c: number) => number,
  enter: lib.func('int sd_bus_message_enter_container(sd_bus_message *m, char type, const char *contents)') as (m: Ptr, t: number, c: string | null) => number,
  exit: lib.func('int sd_bus_message_exit_container(sd_bus_message *m)') as (m: Ptr) => number,
  peek: lib.func('int sd_bus_message_peek_type(sd_bus_message *m, _Out_ char *type, _Out_ const char **contents)') as (m: Ptr, t: Out<number>, c: Out<string | null>) => number,
  readStr: lib.func('int sd_bus_message_read_basic(sd_bus_message *m, char type, _Out_ const char **p)') as (m: Ptr, t: number, out: Out<string>) => number,
  readU8: lib.func('int sd_bus_message_read_basic(sd_bus_message *m, char type, _Out_ uint8_t *p)') as (m: Ptr, t: number, out: Out<number>) => number,
  readI16: lib.func('int sd_bus_message_read_basic(sd_bus_message *m, char type, _Out_ int16_t *p)') as (m: Ptr, t: number, out: Out<number>) => number,
  readU16: lib.func('int sd_bus_message_read_basic(sd_bus_message *m, char type, _Out_ uint16_t *p)') as (m: Ptr, t: number, out: Out<number>) => number,
  readI32: lib.func('int sd_bus_message_read_basic(sd_bus_message *m, char type, _Out_ int32_t *p)') as (m: Ptr, t: number, out: Out<number>) => number,
  readU32: lib.func('int sd_bus_message_read_basic(sd_bus_message *m, char type, _Out_ uint32_t *p)') as (m: Ptr, t: number, out: Out<number>) => number,
  readI64: lib.func('int sd_bus_message_read_basic(sd_bus_message *m, char type, _Out_ int64_t *p)') as (m: Ptr, t: number, out: Out<bigint | number>) => number,
  readU64: lib.func('int sd_bus_message_read_basic(sd_bus_message *m, char type, _Out_ uint64_t *p)') as (m: Ptr, t: number, out: Out<bigint | number>) => number,
  readF64: lib.func('int sd_bus_message_read_basic(sd_bus_message *m, char type, _Out_ double *p)') as (m: Ptr, t: number, out: Out<number>) => number,
  readArray: lib.func('int sd_bus_message_read_array(sd_bus_message *m, char type, _Out_ void **ptr, _Out_ size_t *size)') as (
    m: Ptr, t: number, ptr: Out<unknown>, size: Out<number>) => number,
  newReturn: lib.func('int sd_bus_message_new_method_return(sd_bus_message *call, _Out_ sd_bus_message **m)') as (call: Ptr, out: Out<Ptr>) => number,
  newCall: lib.func('int sd_bus_message_new_method_call(sd_bus *bus, _Out_ sd_bus_message **m, const char *dest, const char *path, const char *iface, const char *member)') as (
    bus: Ptr, out: Out<Ptr>, d: string, p: string, i: string, m: string) => number,
  newError: lib.func('int sd_bus_message_new_method_errorf(sd_bus_message *call, _Out_ sd_bus_message **m, const char *name, const char *format, ...)') as (
    ...args: unknown[]) => number,
  peekRaw: lib.func('int sd_bus_message_peek_type(sd_bus_message *m, void *type, void *contents)') as (m: Ptr, t: Uint8Array, c: Uint8Array) => number,
  appendStr: lib.func('int sd_bus_message_append_basic(sd_bus_message *m, char type, const char *p)') as (m: Ptr, t: number, s: string) => number,
};
/* eslint-enable @typescript-eslint/no-explicit-any */
const poll = libc.func('int poll(_Inout_ uint8_t *fds, unsigned long nfds, int timeout)') as unknown as {
  async: (fds: Uint8Array, n: number, timeout: number, cb: (err: unknown, res: number) => void) => void;
};
const abs = libc.func('int abs(int j)') as (j: number) => number;

const C = (s: string): number => s.charCodeAt(0);
const POLLIN = 0x1;
const POLLOUT = 0x4;

/** FFI calls made by the readers and repliers below, for the per-message count. */
export const ffi = { calls: 0 };

function check(rc: number, what: string): number {
  if (rc < 0) throw new Error(`${what}: ${-rc} (negative errno)`);
  return rc;
}

/** The first complete type of a signature: 'a{sv}u' → 'a{sv}'. */
function firstType(sig: string, at = 0): string {
  let i = at;
  while (sig[i] === 'a') i++;
  const c = sig[i];
  if (c === '{' || c === '(') {
    const close = c === '{' ? '}' : ')';
    let depth = 0;
    for (; i < sig.length; i++) {
      if (sig[i] === c) depth++;
      else if (sig[i] === close && --depth === 0) break;
    }
  }
  return sig.slice(at, i + 1);
}

const u8 = [0] as Out<number>;
const num = [0] as Out<number>;
const big = [0] as Out<bigint | number>;
const str = [''] as Out<string>;
const ptr = [null] as Out<unknown>;
const size = [0] as Out<number>;
const ptype = [0] as Out<number>;
const pcontents = [null] as Out<string | null>;

/** One value of complete type `sig` at the read position, in the form fromWire of src/bus/variant.ts gives. */
function readValue(m: Ptr, sig: string): unknown {
  const t = sig[0]!;
  ffi.calls++;
  switch (t) {
    case 's':
    case 'o':
    case 'g':
      check(f.readStr(m, C(t), str), 'read');
      return str[0];
    case 'b':
      check(f.readI32(m, C(t), num), 'read');
      return num[0] !== 0;
    case 'y':
      check(f.readU8(m, C(t), u8), 'read');
      return u8[0];
    case 'n':
      check(f.readI16(m, C(t), num), 'read');
      return num[0];
    case 'q':
      check(f.readU16(m, C(t), num), 'read');
      return num[0];
    case 'i':
    case 'h':
      check(f.readI32(m, C(t), num), 'read');
      return num[0];
    case 'u':
      check(f.readU32(m, C(t), num), 'read');
      return num[0];
    case 'x':
      check(f.readI64(m, C(t), big), 'read');
      return BigInt(big[0]);
    case 't':
      check(f.readU64(m, C(t), big), 'read');
      return BigInt(big[0]);
    case 'd':
      check(f.readF64(m, C(t), num), 'read');
      return num[0];
    case 'a':
      break;
    default:
      throw new Error(`type ${JSON.stringify(sig)} is not read by this bench`);
  }
  ffi.calls--;
  const elem = sig.slice(1);
  if (elem === 'y') {
    ffi.calls++;
    check(f.readArray(m, C('y'), ptr, size), 'read array');
    return size[0] === 0 ? new Uint8Array(0) : Uint8Array.from(koffi.decode(ptr[0], 'uint8_t', size[0]) as number[]);
  }
  if (elem === '{sv}') return readDict(m);
  if (elem === '{ss}') {
    const out: Record<string, string> = {};
    ffi.calls++;
    check(f.enter(m, C('a'), elem), 'enter');
    for (;;) {
      ffi.calls++;
      if (check(f.enter(m, C('e'), 'ss'), 'enter') === 0) break;
      const k = readValue(m, 's') as string;
      out[k] = readValue(m, 's') as string;
      ffi.calls++;
      f.exit(m);
    }
    ffi.calls++;
    f.exit(m);
    return Object.freeze(out);
  }
  const out: unknown[] = [];
  ffi.calls++;
  check(f.enter(m, C('a'), elem), 'enter');
  for (;;) {
    ffi.calls++;
    if (check(f.peek(m, ptype, pcontents), 'peek') === 0) break;
    out.push(readValue(m, elem));
  }
  ffi.calls++;
  f.exit(m);
  return out;
}

/** An a{sv} as a Map of signature-tagged values; a nested variant is refused, as variantToValue does. */
function readDict(m: Ptr): Map<string, Value> {
  const out = new Map<string, Value>();
  ffi.calls++;
  check(f.enter(m, C('a'), '{sv}'), 'enter');
  for (;;) {
    ffi.calls++;
    if (check(f.enter(m, C('e'), 'sv'), 'enter') === 0) break;
    const key = readValue(m, 's') as string;
    ffi.calls++;
    check(f.peek(m, ptype, pcontents), 'peek');
    const sig = pcontents[0]!;
    if (sig === 'v') throw new Error(`${key}: nested variants are not accepted.`);
    ffi.calls++;
    check(f.enter(m, C('v'), sig), 'enter');
    out.set(key, { signature: sig, value: readValue(m, firstType(sig)) });
    ffi.calls += 2;
    f.exit(m);
    f.exit(m);
  }
  ffi.calls++;
  f.exit(m);
  return out;
}

/** The body a{sa{sv}} of a call as the core's Settings. */
export function readSettings(m: Ptr): Settings {
  const settings: Settings = new Map();
  ffi.calls++;
  check(f.enter(m, C('a'), '{sa{sv}}'), 'enter');
  for (;;) {
    ffi.calls++;
    if (check(f.enter(m, C('e'), 'sa{sv}'), 'enter') === 0) break;
    const name = readValue(m, 's') as string;
    settings.set(name, readDict(m));
    ffi.calls++;
    f.exit(m);
  }
  ffi.calls++;
  f.exit(m);
  return settings;
}

export interface IncomingCall {
  readonly message: Ptr;
  readonly interface: string | null;
  readonly member: string | null;
  readonly sender: string;
  readonly signature: string;
}

/** One connection to a bus, driven by Node's event loop through a thread-pool poll(2). */
export class SdBus {
  private readonly bus: Ptr;
  private readonly pending = new Map<number, (reply: Ptr) => void>();
  private readonly callbacks: unknown[] = [];
  private flushQueued = false;
  private closed = false;
  /** poll(2) wake-ups so far */
  wakeups = 0;

  constructor(address: string) {
    const out = [null] as Out<Ptr>;
    check(f.newBus(out), 'sd_bus_new');
    this.bus = out[0];
    check(f.setAddress(this.bus, address), 'sd_bus_set_address');
    check(f.setBusClient(this.bus, 1), 'sd_bus_set_bus_client');
    check(f.start(this.bus), 'sd_bus_start');
    // the replies of sd_bus_call_async, matched to their calls by cookie
    const onReply = koffi.register((m: Ptr) => {
      const cookie = [0] as Out<number>;
      f.getReplyCookie(m, cookie);
      const resolve = this.pending.get(Number(cookie[0]));
      this.pending.delete(Number(cookie[0]));
      resolve?.(m);
      return 1;
    }, koffi.pointer(handlerType));
    this.callbacks.push(onReply);
    this.onReply = onReply;
  }

  private readonly onReply: unknown;

  get uniqueName(): string {
    const out = [null] as Out<string | null>;
    check(f.uniqueName(this.bus, out), 'sd_bus_get_unique_name');
    return out[0]!;
  }

  requestName(name: string): void {
    check(f.requestName(this.bus, name, 0), `sd_bus_request_name ${name}`);
  }

  /** Every method call on `path` goes to `handler`, inside sd_bus_process. */
  addObject(path: string, handler: (call: IncomingCall) => void): void {
    const cb = koffi.register((m: Ptr) => {
      ffi.calls += 4;
      handler({ message: m, interface: f.getInterface(m), member: f.getMember(m), sender: f.getSender(m) ?? '', signature: f.getSignature(m, 1) });
      return 1;
    }, koffi.pointer(handlerType));
    this.callbacks.push(cb);
    check(f.addObject(this.bus, null, path, cb, null), 'sd_bus_add_object');
  }

  /** Keeps a message beyond its handler (an asynchronous reply). */
  ref(m: Ptr): Ptr {
    ffi.calls++;
    return f.ref(m);
  }

  unref(m: Ptr): void {
    ffi.calls++;
    f.unref(m);
  }

  /** The method return of `call` with one string-like value (signature `sig`: s, o or g). */
  replyString(call: Ptr, sig: 's' | 'o' | 'g', value: string): void {
    const out = [null] as Out<Ptr>;
    ffi.calls += 4;
    check(f.newReturn(call, out), 'new return');
    check(f.appendStr(out[0], C(sig), value), 'append');
    check(f.send(this.bus, out[0], null), 'send');
    f.unref(out[0]);
    this.queueFlush();
  }

  replyError(call: Ptr, name: string, text: string): void {
    const out = [null] as Out<Ptr>;
    check(f.newError(call, out, name, '%s', 'const char *', text), 'new error');
    check(f.send(this.bus, out[0], null), 'send');
    f.unref(out[0]);
    this.queueFlush();
  }

  /** A method call with one string argument; resolves with the reply message (valid until the callback returns: read it at once). */
  callString<T>(dest: string, path: string, iface: string, member: string, arg: string, read: (reply: Ptr, isError: boolean) => T): Promise<T> {
    const out = [null] as Out<Ptr>;
    ffi.calls += 5;
    check(f.newCall(this.bus, out, dest, path, iface, member), 'new call');
    check(f.appendStr(out[0], C('s'), arg), 'append');
    return new Promise<T>((resolve, reject) => {
      check(f.callAsync(this.bus, null, out[0], this.onReply, null, 0), 'call async');
      const cookie = [0] as Out<number>;
      f.getCookie(out[0], cookie);
      f.unref(out[0]);
      this.pending.set(Number(cookie[0]), (reply) => {
        try {
          ffi.calls++;
          resolve(read(reply, f.isError(reply, null) > 0));
        } catch (e) {
          reject(e);
        }
      });
      this.queueFlush();
    });
  }

  /** A send outside sd_bus_process that the socket did not take whole is written before the next turn. */
  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      if (!this.closed && f.getEvents(this.bus) & POLLOUT) f.flush(this.bus);
    });
  }

  /** Processes what has arrived, then waits (in the thread pool) for the fd to become readable again. */
  run(): void {
    const fd = check(f.getFd(this.bus), 'sd_bus_get_fd');
    const pfd = new Uint8Array(8);
    const view = new DataView(pfd.buffer);
    view.setInt32(0, fd, true);
    const loop = (): void => {
      if (this.closed) return;
      let r: number;
      while ((r = f.process(this.bus, null)) > 0);
      if (r < 0) throw new Error(`sd_bus_process: ${-r}`);
      const events = f.getEvents(this.bus);
      if (events & POLLOUT) f.flush(this.bus);
      view.setInt16(4, POLLIN, true);
      view.setInt16(6, 0, true);
      poll.async(pfd, 1, -1, () => {
        this.wakeups++;
        loop();
      });
    };
    loop();
  }

  close(): void {
    this.closed = true;
  }
}

/** Reads a reply's a{sv} (GetConnectionCredentials) into a Map. */
export function readDictReply(m: Ptr): Map<string, Value> {
  return readDict(m);
}

/** Rewinds a message to the start of its body, to read it again. */
export function rewind(m: Ptr): void {
  check(f.rewind(m, 1), 'rewind');
}

/** ns per FFI call of abs(3) through koffi (a C function that does nothing worth timing), against a JS function. */
export function koffiCallCost(n: number): { koffiNs: number; jsNs: number } {
  const jsAbs = (j: number): number => (j < 0 ? -j : j);
  let x = 0;
  for (let i = 0; i < 10_000; i++) x += abs(-i) + jsAbs(-i);
  let t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) x += abs(-i);
  const koffiNs = Number(process.hrtime.bigint() - t) / n;
  t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) x += jsAbs(-i);
  const jsNs = Number(process.hrtime.bigint() - t) / n;
  if (x === 0.5) throw new Error('unreachable');
  return { koffiNs, jsNs };
}

/** ns per call of a few kinds of FFI call on message `m` (left rewound). */
export function ffiKinds(m: Ptr, n: number): Record<string, number> {
  const time = (what: () => void): number => {
    for (let i = 0; i < 1000; i++) what();
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) what();
    return Number(process.hrtime.bigint() - t) / n;
  };
  const typeBuf = new Uint8Array(1);
  const contentsBuf = new Uint8Array(8);
  const out = {
    'rewind (pointer, int → int)': time(() => f.rewind(m, 1)),
    'get_signature (→ string)': time(() => f.getSignature(m, 1)),
    'peek_type (2 _Out_ params, one a string)': time(() => {
      f.rewind(m, 1);
      f.peek(m, ptype, pcontents);
    }),
    'peek_type into preallocated buffers, string decoded': time(() => {
      f.rewind(m, 1);
      f.peekRaw(m, typeBuf, contentsBuf);
      koffi.decode(contentsBuf, 'const char *');
    }),
    'enter_container + exit_container (a string in)': time(() => {
      f.rewind(m, 1);
      f.enter(m, C('a'), '{sa{sv}}');
      f.exit(m);
    }),
  };
  rewind(m);
  // the rewind each of the last three makes is counted in theirs: take it out
  const r = out['rewind (pointer, int → int)'];
  out['peek_type (2 _Out_ params, one a string)'] -= r;
  out['peek_type into preallocated buffers, string decoded'] -= r;
  out['enter_container + exit_container (a string in)'] -= r;
  return out;
}
