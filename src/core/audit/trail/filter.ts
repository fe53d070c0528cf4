// Record filter of the audit commands (netauditctl(1): --since --until --op --uuid
// --name --uid --result --iface): which records match, which day files can
// be passed over unread, and a cheap test on a line's text that rules most
// non-matching lines out before they are parsed.
import { AUDIT_OPS as RECORD_OPS, type AuditOrigin, type AuditResult } from '../record.js';
import type { TrailEntry } from './trail-line.js';

const DAY_MS = 24 * 3600 * 1000;

/** Every op of the record (docs/record-format.md), in its order, as text a trail line may hold. */
export const AUDIT_OPS: readonly string[] = RECORD_OPS;

export interface FilterOptions {
  /** records at or after this moment (ms since the epoch) */
  readonly since?: number;
  /** records at or before this moment */
  readonly until?: number;
  /** ops (each an op name or a pattern with * and ?); any of them matches */
  readonly ops?: readonly string[];
  /** the connection's uuid, compared without regard to case */
  readonly uuid?: string;
  /** the connection's id: exact, or a pattern when it holds * or ? */
  readonly name?: string;
  readonly uid?: number;
  readonly result?: AuditResult;
  /** who acted; a record written before origins were recorded is a caller's */
  readonly origin?: AuditOrigin;
  /** the device's name: exact, or a pattern when it holds * or ? */
  readonly iface?: string;
}

export interface RecordFilter {
  readonly options: FilterOptions;
  /** true when the record passes every condition */
  matches(entry: TrailEntry): boolean;
  /**
   * false when the line (a trail line's text) cannot be a matching record;
   * true says only that it may be one: parse it and ask matches()
   */
  mayMatchLine(text: string): boolean;
  /**
   * the same test on the line's bytes, before they are decoded: a filter
   * that rules out most lines saves their decoding (the start-up replay)
   */
  mayMatchBytes?(bytes: Buffer): boolean;
  /** false when no record of the day file of this date (YYYY-MM-DD) can match */
  mayMatchDay(date: string): boolean;
}

/** True for a value that --name, --iface or --op take as a pattern. */
export function isPattern(value: string): boolean {
  return /[*?]/.test(value);
}

/** A whole-value matcher: exact, or a shell-like pattern where * is any run of characters and ? one character. */
export function valueMatcher(value: string): (candidate: string | undefined) => boolean {
  if (!isPattern(value)) return (candidate) => candidate === value;
  const source = [...value].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('');
  const re = new RegExp(`^${source}$`, 'su');
  return (candidate) => candidate !== undefined && re.test(candidate);
}

/**
 * A day file only holds records dated up to the end of its day: a record is
 * never in a file older than its date, though it may be in a newer one when
 * the clock was stepped back. So a file is passed over only when its whole
 * day comes before --since; a file dated after --until may still hold
 * records within the range, and is read.
 */
export function dayMayMatch(date: string, since: number | undefined): boolean {
  if (since === undefined) return true;
  const start = Date.parse(`${date}T00:00:00Z`);
  return Number.isNaN(start) || start + DAY_MS > since;
}

// A line written by the daemon starts {"ts":"<24 characters>".
const TS_START = '{"ts":"'.length;
const TS_END = TS_START + 24;

export function createFilter(options: FilterOptions): RecordFilter {
  const { since, until, uid, result, origin } = options;
  const sinceText = since === undefined ? undefined : new Date(since).toISOString();
  const untilText = until === undefined ? undefined : new Date(until).toISOString();
  const ops = options.ops?.map(valueMatcher);
  // Exact ops can be looked for in the text: the daemon writes "op":"NAME".
  const opTexts = options.ops !== undefined && !options.ops.some(isPattern) ? options.ops.map((op) => `"op":${JSON.stringify(op)},`) : undefined;
  // The daemon writes each value as JSON.stringify does, and uid, name and
  // iface come before result, which every record has: a comma follows them.
  const exactTexts = [
    uid === undefined ? null : `"uid":${uid},`,
    options.name === undefined || isPattern(options.name) ? null : `"name":${JSON.stringify(options.name)},`,
    options.iface === undefined || isPattern(options.iface) ? null : `"iface":${JSON.stringify(options.iface)},`,
  ].filter((text) => text !== null);
  const uuid = options.uuid?.toLowerCase();
  const name = options.name === undefined ? undefined : valueMatcher(options.name);
  const iface = options.iface === undefined ? undefined : valueMatcher(options.iface);
  return {
    options,
    matches(entry) {
      // RFC 3339 UTC with milliseconds, fixed width: the strings compare like the moments.
      if (sinceText !== undefined && entry.ts < sinceText) return false;
      if (untilText !== undefined && entry.ts > untilText) return false;
      if (ops !== undefined && !ops.some((match) => match(entry.op))) return false;
      if (uuid !== undefined && entry.uuid?.toLowerCase() !== uuid) return false;
      if (name !== undefined && !name(entry.name)) return false;
      if (uid !== undefined && entry.uid !== uid) return false;
      if (result !== undefined && entry.result !== result) return false;
      if (origin !== undefined && (entry.origin ?? 'caller') !== origin) return false;
      if (iface !== undefined && !iface(entry.iface)) return false;
      return true;
    },
    mayMatchLine(text) {
      if (sinceText !== undefined || untilText !== undefined) {
        const ts = text.slice(TS_START, TS_END);
        if (text.startsWith('{"ts":"') && text[TS_END] === '"') {
          if (sinceText !== undefined && ts < sinceText) return false;
          if (untilText !== undefined && ts > untilText) return false;
        }
      }
      if (opTexts !== undefined && !opTexts.some((op) => text.includes(op))) return false;
      if (result !== undefined && !text.includes(`"result":"${result}"`)) return false;
      // A caller's record may have no origin (one written before it was recorded).
      if (origin !== undefined && origin !== 'caller' && !text.includes(`"origin":"${origin}",`)) return false;
      return exactTexts.every((exact) => text.includes(exact));
    },
    mayMatchDay(date) {
      return dayMayMatch(date, since);
    },
  };
}
