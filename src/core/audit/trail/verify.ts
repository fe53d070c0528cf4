// Trail verification: walks every day file of the audit trail in date order,
// read-only and streaming, and checks what docs/record-format.md (the trail) promises:
// each line a record whose hash matches it, each `prev` the hash of the
// record before it across files and restarts, each record in the file of its
// day, seq counting on within a boot. The first record links to 64 zeros, or,
// once retention removed older files, to the hash its anchor (anchor.ts)
// names. It reports the first break precisely (file, line, what it means)
// for `netauditctl audit verify`.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { NetauditError, quote, quotePath } from '../../errors.js';
import { ANCHOR_FILE, anchorStateFor, readAnchor, type TrailAnchor } from './anchor.js';
import { listDayFiles, parseDayFileName } from './day-file.js';
import { lineHashOk, parseTrailLine, ZERO_HASH, type TrailEntry } from './trail-line.js';

/**
 * - torn-tail: bytes without a newline at the end of the newest file: a
 *   record cut short by a crash, not tampering (the daemon cuts it at start)
 * - unterminated: the same at the end of an older file, which the daemon
 *   never leaves behind
 * - unparseable: a complete line that is not a record as the daemon writes it
 * - bad-hash: a line whose content no longer matches its hash
 * - bad-link: a record whose prev is not the hash of the record before it
 * - wrong-file: a record dated later than the day of its file
 */
export type TrailBreakKind = 'torn-tail' | 'unterminated' | 'unparseable' | 'bad-hash' | 'bad-link' | 'wrong-file';

export interface TrailBreak {
  readonly kind: TrailBreakKind;
  /** the day file's name; join it with the result's dir for its path */
  readonly file: string;
  /** 1-based; for torn-tail and unterminated, the line the stray bytes would be */
  readonly line: number;
  /** byte offset of the line in its file */
  readonly offset: number;
  /** what is wrong and what it means, one sentence without the file and line */
  readonly detail: string;
}

/**
 * Records missing from the trail while the chain is intact: the daemon
 * counted them (seq) but the trail never got them, e.g. while it was full or
 * the file backend was off. `from`..`to` are the missing seq numbers.
 */
export interface SeqGap {
  readonly kind: 'seq-gap';
  readonly file: string;
  /** the record after the gap */
  readonly line: number;
  readonly boot: string;
  readonly from: number;
  readonly to: number;
}

/** A seq that does not grow within a boot although the chain is intact. */
export interface SeqRepeat {
  readonly kind: 'seq-repeat';
  readonly file: string;
  readonly line: number;
  readonly boot: string;
  readonly seq: number;
  /** the highest seq of that boot before this record */
  readonly after: number;
}

export type TrailWarning = SeqGap | SeqRepeat;

/** What retention removed before the first record, as its anchor states it. */
export interface PrunedByRetention {
  readonly files: number;
  readonly records: number;
  /** the newest day file removed, and its day */
  readonly lastFile: string;
  readonly through: string;
}

export interface VerifyProgress {
  /** the day file being read */
  readonly file: string;
  /** 1-based position of that file among `files` */
  readonly fileNumber: number;
  readonly files: number;
  /** bytes read so far over every file, and their total size when the walk began */
  readonly bytesRead: number;
  readonly bytesTotal: number;
  readonly records: number;
}

export interface VerifyOptions {
  /** called when a file is opened and after each block read */
  readonly onProgress?: (progress: VerifyProgress) => void;
  /** warnings kept in the result (default 100); the others are only counted */
  readonly maxWarnings?: number;
}

export interface VerifyResult {
  readonly dir: string;
  /**
   * intact: every record checks; empty: no record at all (no day file, or
   * only empty ones), which no hash chain can tell from a trail removed whole;
   * broken: see `problem`
   */
  readonly status: 'intact' | 'empty' | 'broken';
  /** day files read (on a break: up to and including its file) */
  readonly files: number;
  /** records checked and found intact (on a break: those before it) */
  readonly records: number;
  /** distinct boot ids among them: the daemon starts they span */
  readonly boots: number;
  /** the hash of the last intact record, ZERO_HASH when there is none */
  readonly lastHash: string;
  /** the first break; null unless status is broken */
  readonly problem: TrailBreak | null;
  readonly warnings: readonly TrailWarning[];
  /** warnings beyond maxWarnings, not kept */
  readonly warningsOmitted: number;
  /**
   * the chain starts after day files retention removed (its anchor accounts
   * for the first record's prev); null when it starts at 64 zeros
   */
  readonly pruned: PrunedByRetention | null;
}

const BLOCK = 256 * 1024;
const NEWLINE = 0x0a;
// A line is held in memory whole to be hashed. A record's caller values are
// bounded by the bus's 32 MiB message limit and JSON escaping at most
// sextuples them; a longer "line" cannot be a record and is not kept.
const MAX_LINE_BYTES = 256 * 1024 * 1024;
// How far back a bad link looks for the record it names, to tell an insertion.
const RECENT = 64;
const DAY_MS = 24 * 3600 * 1000;

interface Place {
  readonly file: string;
  readonly line: number;
}

interface Previous extends Place {
  readonly boot: string;
  readonly seq: number;
}

interface ScanEnd {
  /** complete lines */
  readonly lines: number;
  /** bytes up to the end of the last complete line */
  readonly completeLength: number;
  readonly size: number;
}

function errnoCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

function readError(path: string, error: unknown, what = 'audit trail file'): NetauditError {
  const code = errnoCode(error);
  let text = `cannot read the ${what} ${quotePath(path)} (${code})`;
  if (code === 'ENOENT' && what !== 'audit trail file') text = `the ${what} ${quotePath(path)} does not exist (ENOENT); netauditd creates it at its first start`;
  else if (code === 'ENOENT') text += ': it was removed while being read (by retention, or by hand)';
  else if (code === 'EACCES' || code === 'EPERM') text += ': reading the trail needs read access to its directory and files';
  return new NetauditError('Failed', text, 'io-error');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

/**
 * Calls onLine for each complete line of a file (its text, or null for a
 * line over MAX_LINE_BYTES), in order, without holding more than one line;
 * stops, returning null, when onLine returns false.
 */
async function scanLines(
  path: string,
  onLine: (text: string | null, number: number, offset: number) => boolean,
  onBlock: (bytes: number) => void,
): Promise<ScanEnd | null> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw readError(path, error);
  }
  try {
    const buffer = Buffer.alloc(BLOCK);
    let parts: Buffer[] = [];
    let partLength = 0;
    let tooLong = false;
    let lineStart = 0;
    let number = 0;
    for (let position = 0; ; ) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, BLOCK, position));
      } catch (error) {
        throw readError(path, error);
      }
      if (bytesRead === 0) return { lines: number, completeLength: lineStart, size: position };
      const block = buffer.subarray(0, bytesRead);
      let start = 0;
      for (let nl = block.indexOf(NEWLINE); nl !== -1; nl = block.indexOf(NEWLINE, start)) {
        const piece = block.subarray(start, nl);
        let text: string | null = null;
        if (!tooLong && partLength + piece.length <= MAX_LINE_BYTES) {
          text = (parts.length === 0 ? piece : Buffer.concat([...parts, piece])).toString('utf8');
        }
        if (!onLine(text, ++number, lineStart)) return null;
        lineStart = position + nl + 1;
        parts = [];
        partLength = 0;
        tooLong = false;
        start = nl + 1;
      }
      const rest = block.subarray(start);
      partLength += rest.length;
      if (partLength > MAX_LINE_BYTES) {
        tooLong = true;
        parts = [];
      } else if (rest.length > 0) {
        // The buffer is read into again: keep a copy.
        parts.push(Buffer.from(rest));
      }
      position += bytesRead;
      onBlock(bytesRead);
    }
  } finally {
    await handle.close();
  }
}

class Verifier {
  private prevHash = ZERO_HASH;
  private previous: Previous | null = null;
  /** hash → where it is and its index among the records, for the last RECENT records */
  private readonly recent = new Map<string, Place & { readonly index: number }>();
  private readonly lastSeq = new Map<string, number>();
  records = 0;
  problem: TrailBreak | null = null;
  pruned: PrunedByRetention | null = null;
  readonly warnings: TrailWarning[] = [];
  warningsOmitted = 0;

  /** anchor: the retention anchor, or what is wrong with it (a message) */
  constructor(
    private readonly maxWarnings: number,
    private readonly anchor: TrailAnchor | string | null,
  ) {}

  get boots(): number {
    return this.lastSeq.size;
  }

  get lastHash(): string {
    return this.prevHash;
  }

  /** Checks one complete line; false once the first break is found. */
  line(text: string | null, file: string, date: string, number: number, offset: number): boolean {
    const fail = (kind: TrailBreakKind, detail: string): false => {
      this.problem = { kind, file, line: number, offset, detail };
      return false;
    };
    if (text === null) {
      return fail('unparseable', `the line is longer than ${MAX_LINE_BYTES / (1024 * 1024)} MiB, which no record is: the file was damaged or changed`);
    }
    let entry: TrailEntry;
    try {
      entry = parseTrailLine(text);
    } catch (error) {
      return fail('unparseable', `${(error as Error).message}: the line was damaged or changed (netauditd writes only whole, well-formed records)`);
    }
    if (!lineHashOk(text)) {
      return fail('bad-hash', 'the line does not match its hash: its content was changed after netauditd wrote it');
    }
    if (this.previous === null && entry.prev !== ZERO_HASH) {
      const anchor = typeof this.anchor === 'string' ? null : this.anchor;
      const state = anchorStateFor(anchor, entry.prev);
      if (state === null || state.lastRemovedFile === null) return fail('bad-link', this.cut());
      this.pruned = {
        files: state.removedFiles,
        records: state.removedRecords,
        lastFile: state.lastRemovedFile,
        through: parseDayFileName(state.lastRemovedFile)!,
      };
      // The boot's earlier records went with the removed files: no seq gap to report.
      this.lastSeq.set(entry.boot, entry.seq - 1);
    } else if (entry.prev !== this.prevHash) {
      return fail('bad-link', this.badLink(entry, file, date));
    }
    const recordDate = entry.ts.slice(0, 10);
    if (recordDate > date) {
      // The writer puts a record whose clock stepped back into the newest
      // file (jsonl-file.ts), so an earlier date is allowed; a later one never happens.
      return fail(
        'wrong-file',
        `the record is dated ${recordDate}, later than its file's day ${date}: netauditd never writes a record into an earlier day's file, so the file was renamed or records were moved between files`,
      );
    }
    this.seq(entry, file, number);
    this.accept(entry, { file, line: number });
    return true;
  }

  // The first record does not start the chain and the anchor does not account for it.
  private cut(): string {
    const head = 'prev is not 64 zeros, as the first record of a trail has';
    const anchor = this.anchor;
    if (anchor === null) {
      return `${head}, and there is no retention anchor (${ANCHOR_FILE}): the chain was cut: older day files, or records at the start of this one, were removed, not by retention`;
    }
    if (typeof anchor === 'string') {
      return `${head}, and the retention anchor cannot vouch for it (${anchor}): the chain was cut, or the anchor damaged`;
    }
    return `${head}, nor a hash the retention anchor (${ANCHOR_FILE}, files removed up to ${anchor.lastRemovedFile}) names: the chain was cut: records were removed beyond what retention removed, or the anchor was replaced`;
  }

  private badLink(entry: TrailEntry, file: string, date: string): string {
    const previous = this.previous!;
    const head = `prev is not the hash of the record before it (${previous.file}:${previous.line})`;
    if (previous.file !== file) {
      // Consecutive days leave no room for a day file between them.
      const between = nextDay(parseDayFileName(previous.file)!) < date ? ', or day files between them were removed' : '';
      return `${head}: records were removed at the end of ${previous.file} or at the start of this file${between}`;
    }
    const linked = this.recent.get(entry.prev);
    if (linked !== undefined) {
      const back = this.records - linked.index;
      return `${head}; it links to ${linked.file}:${linked.line}, ${plural(back, 'record')} back, instead: records were inserted before it, or it was copied or moved here`;
    }
    if (entry.boot === previous.boot && entry.seq > previous.seq + 1) {
      return `${head}; seq jumps from ${previous.seq} to ${entry.seq}: records were removed here, or records were moved`;
    }
    return `${head}: a record was removed, inserted or moved here`;
  }

  private seq(entry: TrailEntry, file: string, line: number): void {
    const last = this.lastSeq.get(entry.boot) ?? 0;
    if (entry.seq > last + 1) this.warn({ kind: 'seq-gap', file, line, boot: entry.boot, from: last + 1, to: entry.seq - 1 });
    else if (entry.seq <= last) this.warn({ kind: 'seq-repeat', file, line, boot: entry.boot, seq: entry.seq, after: last });
    this.lastSeq.set(entry.boot, Math.max(last, entry.seq));
  }

  private warn(warning: TrailWarning): void {
    if (this.warnings.length < this.maxWarnings) this.warnings.push(warning);
    else this.warningsOmitted++;
  }

  private accept(entry: TrailEntry, place: Place): void {
    this.recent.set(entry.hash, { ...place, index: this.records });
    if (this.recent.size > RECENT) this.recent.delete(this.recent.keys().next().value!);
    this.prevHash = entry.hash;
    this.previous = { ...place, boot: entry.boot, seq: entry.seq };
    this.records++;
  }

  /** Bytes after the last newline of a file. */
  strayBytes(file: string, end: ScanEnd, newest: boolean): void {
    const length = end.size - end.completeLength;
    const at = { file, line: end.lines + 1, offset: end.completeLength };
    this.problem = newest
      ? {
          kind: 'torn-tail',
          ...at,
          detail: `${plural(length, 'byte')} after the last newline of the newest day file: a record cut short by a crash while it was written (or a write under way, if netauditd is running now), not tampering; no caller was told of that change, and netauditd cuts these bytes off at its next start`,
        }
      : {
          kind: 'unterminated',
          ...at,
          detail: `${plural(length, 'byte')} after the last newline of a day file that newer files follow: a crash can only tear the newest file, so this file was changed or cut short; netauditd refuses to start on such a trail`,
        };
  }
}

/** Verifies the trail in dir; throws (NetauditError, reason io-error) only when it cannot be read. */
export async function verifyTrail(dir: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  let files: string[];
  try {
    files = await listDayFiles(dir);
  } catch (error) {
    throw readError(dir, error, 'audit trail directory');
  }
  let bytesTotal = 0;
  for (const file of files) {
    try {
      bytesTotal += (await stat(join(dir, file))).size;
    } catch (error) {
      throw readError(join(dir, file), error);
    }
  }
  let anchor: TrailAnchor | string | null;
  try {
    anchor = await readAnchor(dir);
  } catch (error) {
    anchor = (error as Error).message;
  }
  const verifier = new Verifier(options.maxWarnings ?? 100, anchor);
  let bytesRead = 0;
  let filesRead = 0;
  for (const [index, file] of files.entries()) {
    filesRead++;
    const date = parseDayFileName(file)!;
    const progress = (): void =>
      options.onProgress?.({ file, fileNumber: index + 1, files: files.length, bytesRead, bytesTotal, records: verifier.records });
    progress();
    const end = await scanLines(
      join(dir, file),
      (text, number, offset) => verifier.line(text, file, date, number, offset),
      (bytes) => {
        bytesRead += bytes;
        progress();
      },
    );
    if (end !== null && end.size > end.completeLength) verifier.strayBytes(file, end, index === files.length - 1);
    if (verifier.problem !== null) break;
  }
  const status = verifier.problem !== null ? 'broken' : verifier.records === 0 ? 'empty' : 'intact';
  return {
    dir,
    status,
    files: filesRead,
    records: verifier.records,
    boots: verifier.boots,
    lastHash: verifier.lastHash,
    problem: verifier.problem,
    warnings: verifier.warnings,
    warningsOmitted: verifier.warningsOmitted,
    pruned: verifier.pruned,
  };
}

/** A warning as one line for people, without its file and line. */
export function describeWarning(warning: TrailWarning): string {
  if (warning.kind === 'seq-gap') {
    const range = warning.from === warning.to ? `seq ${warning.from} is` : `seq ${warning.from}–${warning.to} (${warning.to - warning.from + 1} records) are`;
    return `boot ${quote(warning.boot)}: ${range} not in the trail although the chain is intact: netauditd counted records the trail did not get (it was full or unavailable, or the file backend was off)`;
  }
  return `boot ${quote(warning.boot)}: seq ${warning.seq} comes after seq ${warning.after} although the chain is intact: netauditd never writes that, so the trail was rewritten and its hashes computed anew`;
}
