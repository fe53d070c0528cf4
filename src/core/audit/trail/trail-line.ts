// Trail line: one audit record as one line of JSON in the trail, with the
// hash chain: `hash` is the hex SHA-256 of the line's JSON text without its
// hash key, `prev` the hash of the record before it. docs/record-format.md
// fixes the keys and their order; a line written before a key existed lacks
// it and stays valid, since absent fields are left out anyway.
import { createHash } from 'node:crypto';
import { NetauditError, quote } from '../../errors.js';
import { actingProcess, type AuditActor, type AuditRecord, type AuditResult, type AuditValues } from '../record.js';

export const ZERO_HASH = '0'.repeat(64);

/**
 * A record as the trail holds it. `op` and `reason` stay plain strings: a
 * trail written by a newer daemon may hold tokens this one does not know, and
 * the CLI must still list and verify it.
 */
export interface TrailEntry {
  /** RFC 3339 UTC with milliseconds */
  readonly ts: string;
  readonly boot: string;
  readonly seq: number;
  readonly op: string;
  /** caller, daemon or external; absent in records older than the field */
  readonly origin?: string;
  readonly cause?: string;
  readonly uuid?: string;
  readonly name?: string;
  readonly ifindex?: number;
  readonly iface?: string;
  readonly args?: string;
  /** setting keys joined with "," */
  readonly changed?: string;
  /** what the change touched before and after it, e.g. {"ipv4":{"address1":"192.0.2.10/24"}} */
  readonly before?: AuditValues;
  readonly after?: AuditValues;
  readonly pid?: number;
  readonly uid?: number;
  readonly result: AuditResult;
  readonly reason?: string;
  /** caller fields cut to their limit, joined with "," */
  readonly cut?: string;
  readonly actor?: TrailActor;
  readonly tx?: number;
  readonly prev: string;
  readonly hash: string;
}

/** The record's actor as the trail spells it: `bus_name`, and `auth` as any token (a newer daemon may write others). */
export type TrailActor = Omit<AuditActor, 'busName' | 'auth'> & { readonly bus_name?: string; readonly auth?: string };

type FieldKind = 'time' | 'text' | 'count' | 'result' | 'values' | 'actor' | 'hash';

// The order of this table is the order of the keys on a line: the hash covers
// the text, so the order is part of the format.
const FIELDS: Record<keyof TrailEntry, FieldKind> = {
  ts: 'time',
  boot: 'text',
  seq: 'count',
  op: 'text',
  origin: 'text',
  cause: 'text',
  uuid: 'text',
  name: 'text',
  ifindex: 'count',
  iface: 'text',
  args: 'text',
  changed: 'text',
  before: 'values',
  after: 'values',
  pid: 'count',
  uid: 'count',
  result: 'result',
  reason: 'text',
  cut: 'text',
  actor: 'actor',
  tx: 'count',
  prev: 'hash',
  hash: 'hash',
};
const KEYS = Object.keys(FIELDS);
const REQUIRED: ReadonlySet<string> = new Set(['ts', 'boot', 'seq', 'op', 'result', 'prev', 'hash']);
// The actor's keys in the order written: any of them may be absent, not all.
const ACTOR_FIELDS: Readonly<Record<keyof TrailActor, 'text' | 'count'>> = {
  bus_name: 'text',
  exe: 'text',
  auth: 'text',
  attribution: 'text',
  comm: 'text',
  auid: 'count',
  ses: 'count',
  portid: 'count',
  file: 'text',
};
const ACTOR_KEYS = Object.keys(ACTOR_FIELDS);

const HEX_HASH = /^[0-9a-f]{64}$/;
const HASH_SUFFIX_PREFIX = ',"hash":"';
// Every line ends in ,"hash":"<64 hex>"}
const HASH_SUFFIX_LENGTH = HASH_SUFFIX_PREFIX.length + 64 + 2;

// Characters that JSON.stringify leaves raw but that split or reorder a line for a reader of the
// trail: DEL and C1 controls (U+0085 is a line break for some), the line and paragraph
// separators, the bidirectional controls, the byte order mark. A fixed list, not a Unicode
// property: the form of a line, which the hash covers, must not change with the Unicode version.
const LINE_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** The trail's JSON: JSON.stringify, with LINE_UNSAFE characters as \u escapes. */
function trailJson(value: unknown): string {
  return JSON.stringify(value).replace(LINE_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The actor under its trail names, in trail order; undefined when it has none of them. */
function trailActor(actor: AuditActor | undefined): TrailActor | undefined {
  if (actor === undefined) return undefined;
  const out: TrailActor = {
    bus_name: actor.busName,
    exe: actor.exe,
    auth: actor.auth,
    attribution: actor.attribution,
    comm: actor.comm,
    auid: actor.auid,
    ses: actor.ses,
    portid: actor.portid,
    file: actor.file,
  };
  return Object.values(out).some((v) => v !== undefined) ? out : undefined;
}

export function formatTrailLine(record: AuditRecord, prev: string): { line: string; hash: string } {
  const actor = trailActor(record.actor);
  const { pid, uid } = actingProcess(record);
  // JSON.stringify drops keys whose value is undefined: absent fields are omitted.
  const text = trailJson({
    ts: new Date(record.ts).toISOString(),
    boot: record.boot,
    seq: record.seq,
    op: record.op,
    origin: record.origin,
    cause: record.cause,
    uuid: record.uuid,
    name: record.name,
    ifindex: record.ifindex,
    iface: record.iface,
    args: record.args,
    changed: record.changed?.join(','),
    before: record.before,
    after: record.after,
    pid,
    uid,
    result: record.result,
    reason: record.reason,
    cut: record.cut?.join(','),
    actor,
    tx: record.tx,
    prev,
  });
  const hash = sha256(text);
  return { line: `${text.slice(0, -1)}${HASH_SUFFIX_PREFIX}${hash}"}\n`, hash };
}

/** True when the line's hash matches its text; the line may keep its "\n". */
export function lineHashOk(line: string): boolean {
  const text = line.endsWith('\n') ? line.slice(0, -1) : line;
  const suffix = text.slice(-HASH_SUFFIX_LENGTH);
  const hash = suffix.slice(HASH_SUFFIX_PREFIX.length, -2);
  if (!suffix.startsWith(HASH_SUFFIX_PREFIX) || !suffix.endsWith('"}') || !HEX_HASH.test(hash)) return false;
  return sha256(`${text.slice(0, -HASH_SUFFIX_LENGTH)}}`) === hash;
}

function malformed(why: string): NetauditError {
  return new NetauditError('Failed', `not a trail record: ${why}`);
}

const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function validValue(key: string, kind: FieldKind, value: unknown): boolean {
  switch (kind) {
    case 'time':
      // The round trip rejects impossible dates such as 2026-02-30.
      return typeof value === 'string' && TIME.test(value) && !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value;
    case 'text':
      return typeof value === 'string';
    case 'count':
      return Number.isSafeInteger(value) && (value as number) >= (key === 'seq' ? 1 : 0);
    case 'result':
      return value === 'success' || value === 'fail';
    case 'hash':
      return typeof value === 'string' && HEX_HASH.test(value);
    case 'values':
      return isObject(value);
    case 'actor':
      return validActor(value);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validActor(value: unknown): boolean {
  if (!isObject(value)) return false;
  const keys = Object.keys(value);
  if (keys.length === 0) return false;
  let last = -1;
  for (const key of keys) {
    const index = ACTOR_KEYS.indexOf(key);
    if (index <= last) return false;
    last = index;
    const kind = ACTOR_FIELDS[key as keyof TrailActor];
    const field = value[key];
    if (kind === 'text' ? typeof field !== 'string' : !(Number.isSafeInteger(field) && (field as number) >= 0)) return false;
  }
  return true;
}

/**
 * Parses one line (with or without its "\n") and checks that it is a record
 * exactly as formatTrailLine writes it: known keys in trail order, required
 * ones present, typed values, and no other spelling of the same JSON
 * (whitespace, escapes, duplicate keys), so that what a reader shows is what
 * the hash covers. It does not check the hash: see lineHashOk.
 */
export function parseTrailLine(line: string): TrailEntry {
  const text = line.endsWith('\n') ? line.slice(0, -1) : line;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // V8's message quotes the input; the caller names the file and line instead.
    throw malformed('not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed('not a JSON object');
  let last = -1;
  for (const key of Object.keys(value)) {
    const index = KEYS.indexOf(key);
    if (index === -1) throw malformed(`unknown key ${quote(key)}`);
    if (index < last) throw malformed(`key ${quote(key)} is out of order`);
    last = index;
    const field = (value as Record<string, unknown>)[key];
    if (!validValue(key, FIELDS[key as keyof TrailEntry], field)) throw malformed(`${quote(key)} has an invalid value ${quote(field)}`);
  }
  for (const key of REQUIRED) if (!Object.hasOwn(value, key)) throw malformed(`key ${quote(key)} is missing`);
  if (trailJson(value) !== text) throw malformed('not in the form the daemon writes (whitespace, escapes or a repeated key)');
  return value as TrailEntry;
}
