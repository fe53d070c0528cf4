// The write-ahead log's lines (docs/commit.md): one JSON object per line,
// then a tab and the first 16 hex digits of its SHA-256, so that a line torn
// or garbled by a crash is told from a whole one. The first line of a
// segment is its header; every other line is one profile change.
import { createHash } from 'node:crypto';

export const WAL_VERSION = 1;

/** A segment's first line: the start it belongs to, and the first commit id it covers. */
export interface WalHeader {
  readonly wal: typeof WAL_VERSION;
  readonly boot: string;
  /**
   * Every change of this start whose tx is `from` or more is in this
   * segment or a later one, unless `done` names it: those were logged in an
   * earlier segment (their tx was given before this one was begun).
   */
  readonly from: number;
  readonly done: readonly number[];
  /** the segment's number within its start: segments are replayed in this order */
  readonly n: number;
  /** when it was begun (ms since the epoch): the records it covers are no older, but for a clock stepped back */
  readonly created: number;
}

/** A profile change: the file it writes, with its whole content, and the file it removes. */
export interface ProfileChange {
  readonly boot: string;
  readonly tx: number;
  /** the profile's uuid ('' for none): of two changes of one profile the later wins, and a remove takes away a file only while it holds this profile */
  readonly uuid: string;
  readonly write?: string;
  readonly content?: string;
  /** the file removed (deleted, or renamed away) */
  readonly remove?: string;
}

/** One line of the log: a change, and what commits it. */
export interface WalEntry extends ProfileChange {
  /**
   * True when the change's trail record is its commit point: recovery
   * replays it only if the trail holds that record, not overturned. False
   * when the line itself commits it (no trail, or a change with no record).
   */
  readonly recorded: boolean;
}

function digest(json: string): string {
  return createHash('sha256').update(json).digest('hex').slice(0, 16);
}

function line(value: object): string {
  const json = JSON.stringify(value);
  return `${json}\t${digest(json)}\n`;
}

export function formatHeader(header: WalHeader): string {
  return line(header);
}

export function formatEntry(entry: WalEntry): string {
  return line(entry);
}

/** A line's object when the line is whole (its digest matches), else null. */
function parseLine(text: string): unknown {
  const tab = text.lastIndexOf('\t');
  if (tab < 0) return null;
  const json = text.slice(0, tab);
  if (digest(json) !== text.slice(tab + 1)) return null;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return null;
  }
}

const isString = (v: unknown): v is string => typeof v === 'string';
const optionalString = (v: unknown): boolean => v === undefined || isString(v);

function asHeader(v: unknown): WalHeader | null {
  const h = v as Partial<WalHeader> | null;
  if (h === null || typeof h !== 'object' || h.wal !== WAL_VERSION || !isString(h.boot)) return null;
  if (!Number.isSafeInteger(h.from) || !Number.isSafeInteger(h.n)) return null;
  if (!Array.isArray(h.done) || !h.done.every((t) => Number.isSafeInteger(t)) || !Number.isSafeInteger(h.created)) return null;
  return { wal: WAL_VERSION, boot: h.boot, from: h.from!, done: h.done, n: h.n!, created: h.created! };
}

function asEntry(v: unknown): WalEntry | null {
  const e = v as Partial<WalEntry> | null;
  if (e === null || typeof e !== 'object' || !isString(e.boot) || !isString(e.uuid) || typeof e.recorded !== 'boolean') return null;
  if (!Number.isSafeInteger(e.tx) || !optionalString(e.write) || !optionalString(e.content) || !optionalString(e.remove)) return null;
  if ((e.write === undefined) !== (e.content === undefined)) return null;
  return e as WalEntry;
}

export interface ParsedSegment {
  readonly header: WalHeader;
  /** the whole entries, in the order written */
  readonly entries: readonly WalEntry[];
  /** bytes after the last whole line (a line a crash tore): never acknowledged */
  readonly tornBytes: number;
}

/**
 * A segment's text read back: null when even its header is not whole (the
 * segment was never made durable, so nothing was staged in it). Reading
 * stops at the first line that is not whole: an append is acknowledged only
 * once it and everything before it are on disk, so nothing after a torn line
 * was acknowledged.
 */
export function parseSegment(text: string): ParsedSegment | null {
  let at = 0;
  let header: WalHeader | null = null;
  const entries: WalEntry[] = [];
  while (at < text.length) {
    const end = text.indexOf('\n', at);
    if (end < 0) break;
    const value = parseLine(text.slice(at, end));
    if (header === null) {
      header = asHeader(value);
      if (header === null) return null;
    } else {
      const entry = asEntry(value);
      if (entry === null) break;
      entries.push(entry);
    }
    at = end + 1;
  }
  if (header === null) return null;
  return { header, entries, tornBytes: Buffer.byteLength(text.slice(at)) };
}
