// The text of an audit record as libaudit sends it to the kernel
// (docs/record-format.md): `op=… origin=… uuid=… name=… … result=… reason=…`,
// to which audit_log_user_message appends `exe=… hostname=? addr=? terminal=? res=…`.
//
// The caller is `caller_pid`/`caller_uid`/`acct`, present only when a
// process acted: a bus caller, or the process an external change was
// attributed to (with `attribution=`). A change the daemon made on its own
// has none of them, so no reader takes the daemon for somebody's caller.
// `before` and `after` stay in the trail and the journal: this record stays
// small, and `changed` names the keys.
//
// Readers parse this text with plain string searches: `ausearch --success`
// and `aureport` take the first `res=` they find, `ausearch -ui` the next
// `uid=`. So no caller-controlled value may hold a space, a quote or `=`:
// a value made only of [A-Za-z0-9._:/@+,-] is written quoted, anything else
// as the uppercase hex of its UTF-8 bytes, unquoted. This is stricter than
// libaudit's audit_encode_nv_string, which lets `=` and `'` through (a
// connection named `ares=success` would turn a failure into a success).
//
// auparse decodes hex only in fields it knows (`name`, `device`, `acct`, …),
// so caller text whose ordinary values need encoding (a profile's id, the
// caller's user name, a device name) goes in those fields. `uuid`, `args`
// and `changed` hold tokens when legitimate (a UUID, `unsaved`, a setting
// name, `ipv4.address-data`); hostile input there is written as hex and
// `ausearch -i` shows it as hex, which is safe, only less readable.
import { actingProcess, type AuditRecord } from './record.js';

/** Bytes that may appear in a caller-controlled value as they are. */
const SAFE = /^[A-Za-z0-9._:/@+,-]*$/;

export type CappedField = 'origin' | 'cause' | 'uuid' | 'name' | 'device' | 'args' | 'changed' | 'acct' | 'attribution';

export interface MessageLimits {
  /** per field, bytes of the value's UTF-8 (twice that many characters once hex-encoded) */
  readonly fields: Readonly<Record<CappedField, number>>;
  /** the whole message, which libaudit and the kernel extend by ~100 + the exe path */
  readonly message: number;
}

/**
 * libaudit refuses messages over ~8.9 KB and the kernel cuts its record at
 * 8,560 bytes (after the header and libaudit's `exe=… res=` tail, so the
 * cut would take `res=` with it). With these caps a record whose every
 * value is hostile and at its cap encodes to ~5,500 bytes; `message` is the
 * hard stop should the fields ever grow.
 */
export const DEFAULT_LIMITS: MessageLimits = {
  fields: { origin: 16, cause: 32, uuid: 64, name: 1024, device: 64, args: 256, changed: 1024, acct: 64, attribution: 32 },
  message: 6000,
};

/**
 * The bytes of `value`, at most `cap` of them, never ending inside a
 * UTF-8 sequence (so the decoded text stays valid).
 */
function capBytes(value: string, cap: number): { bytes: Buffer; cut: boolean } {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length <= cap) return { bytes, cut: false };
  let end = cap;
  // 0b10xxxxxx continues a sequence: back off to the byte that starts it.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return { bytes: bytes.subarray(0, end), cut: true };
}

/** A caller-controlled value: `"lan0"` when every byte is safe, else uppercase hex, unquoted. */
export function encodeCallerValue(bytes: Buffer): string {
  const ascii = bytes.toString('latin1');
  if (SAFE.test(ascii)) return `"${ascii}"`;
  return bytes.toString('hex').toUpperCase();
}

// A token of ours (origin, cause) as op and result are written: bare, as
// `ausearch -i` then shows it. It starts with a lowercase letter, so no bare
// token reads as hex (digits and A-F only); anything else is encoded as a
// caller value would be.
const TOKEN = /^[a-z][a-z0-9-]*$/;

function encodeToken(bytes: Buffer): string {
  const ascii = bytes.toString('latin1');
  return TOKEN.test(ascii) ? ascii : encodeCallerValue(bytes);
}

const TOKEN_FIELDS: ReadonlySet<CappedField> = new Set(['origin', 'cause']);

interface CallerField {
  readonly key: CappedField;
  readonly value: string;
  cap: number;
}

/**
 * The message for `record`. `acct` is the caller's user name when it
 * resolves (the worker looks it up); values over their cap are cut, never
 * the record, and `cut=` names the fields that were.
 */
export function formatAuditMessage(record: AuditRecord, acct?: string, limits: MessageLimits = DEFAULT_LIMITS): string {
  const callerFields: CallerField[] = [];
  const caller = (key: CappedField, value: string | undefined): void => {
    if (value !== undefined) callerFields.push({ key, value, cap: limits.fields[key] });
  };
  const acting = actingProcess(record);
  caller('origin', record.origin);
  caller('cause', record.cause);
  caller('uuid', record.uuid);
  caller('name', record.name);
  caller('device', record.iface);
  caller('args', record.args);
  caller('changed', record.changed?.join(','));
  // The user name belongs to the uid it was looked up for: none without one.
  caller('acct', acting.uid !== undefined ? acct : undefined);
  caller('attribution', record.actor?.attribution);

  const build = (): string => {
    const encoded = new Map<CappedField, string>();
    // Cut before the record reached us (record.cut, iface shown as device) or here.
    const cut: CappedField[] = (record.cut ?? []).map((f) => (f === 'iface' ? 'device' : f));
    for (const f of callerFields) {
      const capped = capBytes(f.value, f.cap);
      encoded.set(f.key, TOKEN_FIELDS.has(f.key) ? encodeToken(capped.bytes) : encodeCallerValue(capped.bytes));
      if (capped.cut && !cut.includes(f.key)) cut.push(f.key);
    }
    const parts = [`op=${record.op}`];
    const add = (key: CappedField): void => {
      const value = encoded.get(key);
      if (value !== undefined) parts.push(`${key}=${value}`);
    };
    add('origin');
    add('cause');
    add('uuid');
    add('name');
    add('device');
    if (record.ifindex !== undefined) parts.push(`ifindex=${record.ifindex}`);
    add('args');
    add('changed');
    if (acting.pid !== undefined) parts.push(`caller_pid=${acting.pid}`);
    if (acting.uid !== undefined) parts.push(`caller_uid=${acting.uid}`);
    add('acct');
    add('attribution');
    parts.push(`result=${record.result}`);
    if (record.reason !== undefined) parts.push(`reason=${record.reason}`);
    if (cut.length > 0) parts.push(`cut=${cut.join(',')}`);
    if (record.tx !== undefined) parts.push(`tx=${record.tx}`);
    parts.push(`boot=${record.boot}`, `seq=${record.seq}`);
    return parts.join(' ');
  };

  // The hard stop: halve the largest field (the first of equals) until the message fits.
  const size = (f: CallerField): number => Math.min(f.cap, Buffer.byteLength(f.value));
  let message = build();
  while (Buffer.byteLength(message) > limits.message) {
    let largest: CallerField | undefined;
    for (const f of callerFields) if (size(f) > 0 && (largest === undefined || size(f) > size(largest))) largest = f;
    if (largest === undefined) break;
    largest.cap = size(largest) >> 1;
    message = build();
  }
  return message;
}
