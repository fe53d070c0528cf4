// The bytes of an outgoing message, written straight into one Buffer: the same bytes
// dbus-next's marshaller makes (test/unit/bus/wire.test.ts compares them), at a fraction
// of its cost. dbus-next converts each body to an intermediate form, then builds the header
// fields and the body through a chain of small buffers (@nornagon/put), about 12 µs for a
// reply carrying one object path and 17 µs for a PropertiesChanged; every audited
// AddConnection sends three such messages. Only what dbus-next would marshal without
// complaint, with no room for reading a value two ways, is written here: anything else
// (64-bit integers, unix fds, a value of an unexpected JS type, …) returns undefined and
// goes to dbus-next as before, which marshals it or throws its own error.
import { createRequire } from 'node:module';
import dbus from 'dbus-next';

type Msg = InstanceType<typeof dbus.Message>;
interface Tree {
  readonly type: string;
  readonly child: readonly Tree[];
}

const { Variant } = dbus;
const lib = createRequire(import.meta.url);
const { parseSignature } = lib('dbus-next/lib/signature.js') as { parseSignature: (s: string) => Tree[] };

/** Thrown inside the writer for what it leaves to dbus-next; never escapes this module. */
class Unsupported extends Error {}
const unsupported = new Unsupported('left to dbus-next');

const METHOD_CALL = 1;
/** dbus-next's header field order (constants.headerTypeName) and signatures (constants.fieldSignature) */
const STRING_FIELDS = [
  ['path', 1],
  ['interface', 2],
  ['member', 3],
  ['errorName', 4],
] as const;
const STRING_FIELDS_AFTER = [
  ['destination', 6],
  ['sender', 7],
] as const;

const trees = new Map<string, Tree[]>();

/** A signature's parse (dbus-next's own parser), when every type in it is one this writer handles. */
function parsed(signature: string): Tree[] {
  let t = trees.get(signature);
  if (t) return t;
  // dbus-next's checks for a `g`: at most 255 characters, nesting of at most 32 structs; ASCII
  // (it writes the string's length and its ASCII bytes)
  if (signature.length > 0xff || !/^[ybnqiudsogva{}()]*$/.test(signature) || (signature.match(/\(/g)?.length ?? 0) > 32) throw unsupported;
  try {
    t = parseSignature(signature);
  } catch {
    throw unsupported;
  }
  if (trees.size < 1024) trees.set(signature, t);
  return t;
}

class Writer {
  buf = Buffer.allocUnsafe(512);
  off = 0;

  private room(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(bigger, 0, 0, this.off);
    this.buf = bigger;
  }

  align(n: number): void {
    const pad = (n - (this.off % n)) % n;
    if (pad === 0) return;
    this.room(pad);
    this.buf.fill(0, this.off, this.off + pad);
    this.off += pad;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.off++] = v;
  }

  u16(v: number): void {
    this.align(2);
    this.room(2);
    this.off = this.buf.writeUInt16LE(v, this.off);
  }

  i16(v: number): void {
    this.align(2);
    this.room(2);
    this.off = this.buf.writeInt16LE(v, this.off);
  }

  u32(v: number): void {
    this.align(4);
    this.room(4);
    this.off = this.buf.writeUInt32LE(v, this.off);
  }

  i32(v: number): void {
    this.align(4);
    this.room(4);
    this.off = this.buf.writeInt32LE(v, this.off);
  }

  f64(v: number): void {
    this.align(8);
    this.room(8);
    this.off = this.buf.writeDoubleLE(v, this.off);
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.off);
    this.off += b.length;
  }

  /** s or o: length, UTF-8 bytes, NUL */
  string(v: unknown): void {
    if (typeof v !== 'string' || v.includes('\0')) throw unsupported;
    const len = Buffer.byteLength(v, 'utf8');
    this.align(4);
    this.room(len + 5);
    this.buf.writeUInt32LE(len, this.off);
    this.buf.write(v, this.off + 4, len, 'utf8');
    this.buf[this.off + 4 + len] = 0;
    this.off += len + 5;
  }

  /** g: length byte, ASCII bytes, NUL */
  signature(v: unknown): void {
    if (typeof v !== 'string' || v.includes('\0')) throw unsupported;
    parsed(v);
    this.room(v.length + 2);
    this.buf[this.off] = v.length;
    this.buf.write(v, this.off + 1, v.length, 'latin1');
    this.buf[this.off + 1 + v.length] = 0;
    this.off += v.length + 2;
  }
}

function integer(v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw unsupported;
  return v;
}

const ALIGN8 = new Set(['x', 't', 'd', '{', '(']);

/** One value of type `tree` as dbus-next's jsToMarshalFmt + write would take it. */
function write(w: Writer, tree: Tree, v: unknown): void {
  switch (tree.type) {
    case 'y':
      w.u8(integer(v, 0, 0xff));
      return;
    case 'b':
      if (!(typeof v === 'boolean' || v === 0 || v === 1)) throw unsupported;
      w.u32(v ? 1 : 0);
      return;
    case 'n':
      w.i16(integer(v, -0x8000, 0x7fff));
      return;
    case 'q':
      w.u16(integer(v, 0, 0xffff));
      return;
    case 'i':
      w.i32(integer(v, -0x80000000, 0x7fffffff));
      return;
    case 'u':
      w.u32(integer(v, 0, 0xffffffff));
      return;
    case 'd':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw unsupported;
      w.f64(v);
      return;
    case 's':
    case 'o':
      w.string(v);
      return;
    case 'g':
      w.signature(v);
      return;
    case 'v': {
      if (v === null || v === undefined || (v as object).constructor !== Variant) throw unsupported;
      const { signature, value } = v as InstanceType<typeof Variant>;
      if (typeof signature !== 'string') throw unsupported;
      const inner = parsed(signature);
      if (inner.length !== 1) throw unsupported;
      w.signature(signature);
      write(w, inner[0]!, value);
      return;
    }
    case '(': {
      if (!Array.isArray(v) || v.length !== tree.child.length) throw unsupported;
      w.align(8);
      tree.child.forEach((c, i) => write(w, c, v[i]));
      return;
    }
    case 'a':
      writeArray(w, tree.child[0]!, v);
      return;
    default:
      // x, t (64-bit), h (unix fd), a bare dict entry
      throw unsupported;
  }
}

function writeArray(w: Writer, elem: Tree, v: unknown): void {
  if (v === null || v === undefined) throw unsupported;
  w.align(4);
  const lengthAt = w.off;
  w.u32(0);
  if (ALIGN8.has(elem.type)) w.align(8);
  const start = w.off;
  if (elem.type === 'y' && (v as object).constructor === Buffer) {
    w.bytes(v as Buffer);
  } else if (elem.type === '{') {
    // dbus-next takes a plain object, its own enumerable string keys in order
    if ((v as object).constructor !== Object) throw unsupported;
    const [key, valueType] = elem.child as [Tree, Tree];
    if (key.type !== 's' && key.type !== 'o') throw unsupported;
    for (const k of Object.keys(v)) {
      const x = (v as Record<string, unknown>)[k];
      if (x === null || x === undefined || (valueType.type !== 'v' && (x as object).constructor === Variant)) throw unsupported;
      w.align(8);
      w.string(k);
      write(w, valueType, x);
    }
  } else {
    if (!Array.isArray(v)) throw unsupported;
    for (const x of v) {
      if (x === null || x === undefined || (elem.type !== 'v' && (x as object).constructor === Variant)) throw unsupported;
      write(w, elem, x);
    }
  }
  w.buf.writeUInt32LE(w.off - start, lengthAt);
}

function headerField(w: Writer, code: number, sig: 's' | 'o' | 'g' | 'u', v: unknown): void {
  w.align(8);
  w.u8(code);
  w.u8(1);
  w.u8(sig.charCodeAt(0));
  w.u8(0);
  if (sig === 'u') w.u32(integer(v, 0, 0xffffffff));
  else if (sig === 'g') w.signature(v);
  else w.string(v);
}

/**
 * The message's bytes as dbus-next would write them (little-endian, protocol 1), or undefined
 * when it holds anything this writer leaves to dbus-next.
 */
export function marshallMessage(msg: Msg): Buffer | undefined {
  try {
    return marshall(msg);
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}

function marshall(msg: Msg): Buffer {
  const m = msg as Msg & { unixFd?: unknown };
  const serial = integer(m.serial, 1, 0xffffffff);
  if (m.unixFd) throw unsupported;
  const signature = m.signature ?? '';
  const body = (m.body ?? []) as unknown[];
  if (typeof signature !== 'string' || !Array.isArray(body)) throw unsupported;
  const types = parsed(signature);
  if (types.length !== body.length) throw unsupported;

  const w = new Writer();
  w.u8(0x6c); // 'l'
  w.u8(integer(m.type || METHOD_CALL, 0, 0xff));
  w.u8(integer(m.flags || 0, 0, 0xff));
  w.u8(1);
  w.u32(0); // body length, below
  w.u32(serial);
  w.u32(0); // header fields' length, below
  const fieldsStart = w.off;
  for (const [name, code] of STRING_FIELDS) {
    const v = m[name];
    if (v) headerField(w, code, code === 1 ? 'o' : 's', v);
  }
  if (m.replySerial) headerField(w, 5, 'u', m.replySerial);
  for (const [name, code] of STRING_FIELDS_AFTER) {
    const v = m[name];
    if (v) headerField(w, code, 's', v);
  }
  // dbus-next marshals a body only with a signature, and then adds unixFd = 0 (left out: falsy)
  if (signature && m.body) headerField(w, 8, 'g', signature);
  w.buf.writeUInt32LE(w.off - fieldsStart, 12);
  w.align(8);
  const bodyStart = w.off;
  if (signature && m.body) types.forEach((t, i) => write(w, t, body[i]));
  w.buf.writeUInt32LE(w.off - bodyStart, 4);
  return w.buf.subarray(0, w.off);
}
