// Trail reader: reads the audit trail's day files without writing to them,
// for the daemon at start (where the chain resumes, which changes were
// committed) and for netauditctl (list, verify).
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { NetauditError, quotePath } from '../../errors.js';
import { readAnchor } from './anchor.js';
import { listDayFiles } from './day-file.js';
import { lineHashOk, parseTrailLine, ZERO_HASH, type TrailEntry } from './trail-line.js';

const BLOCK = 64 * 1024;
const NEWLINE = 0x0a;

export interface TrailLine {
  /** the line's text without its "\n" */
  readonly text: string;
  /** byte offset of the line in its file */
  readonly offset: number;
  /** 1-based */
  readonly number: number;
}

export interface TrailRecord extends TrailLine {
  readonly entry: TrailEntry;
}

export interface TrailTail {
  /**
   * what the next record chains onto: the last record's hash; for a trail
   * without records, the retention anchor's hash, or ZERO_HASH
   */
  readonly lastHash: string;
  /** the last complete record of the trail, wherever it is */
  readonly last: { readonly file: string; readonly offset: number; readonly entry: TrailEntry } | null;
  /** the newest day file (a name, not a path), where appending resumes; null when there is none */
  readonly newestFile: string | null;
  /** bytes of the newest file up to the end of its last complete line */
  readonly completeLength: number;
  /** bytes after that: a line torn by a crash, or a write still under way when the daemon runs */
  readonly tornLength: number;
}

/** What findRecords has read of one day file, for its stopWhen callback. */
export interface ScannedDayFile {
  readonly file: string;
  readonly records: number;
  /** the boots of its records, each once, in the order they first appear */
  readonly boots: readonly string[];
}

export interface FindOptions {
  /**
   * Called after each day file that held records, newest file first; true
   * means the older files need not be read.
   */
  readonly stopWhen?: (scanned: ScannedDayFile) => boolean;
}

function trailError(path: string, where: string, problem: string): NetauditError {
  return new NetauditError('Failed', `audit trail file ${quotePath(path)} ${where}: ${problem}`);
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  for (let done = 0; done < length; ) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) return buffer.subarray(0, done);
    done += bytesRead;
  }
  return buffer;
}

/**
 * The complete lines of a day file, in order. Bytes after the last "\n" are
 * not a record (yet): readTail reports them.
 */
export async function* readLines(path: string): AsyncGenerator<TrailLine> {
  const handle = await open(path, 'r');
  try {
    let parts: Buffer[] = [];
    let lineStart = 0;
    let number = 0;
    for (let position = 0; ; ) {
      const block = await readAt(handle, position, BLOCK);
      if (block.length === 0) return;
      position += block.length;
      let start = 0;
      for (let nl = block.indexOf(NEWLINE); nl !== -1; nl = block.indexOf(NEWLINE, start)) {
        parts.push(block.subarray(start, nl));
        const bytes = Buffer.concat(parts);
        yield { text: bytes.toString('utf8'), offset: lineStart, number: ++number };
        lineStart += bytes.length + 1;
        parts = [];
        start = nl + 1;
      }
      parts.push(block.subarray(start));
    }
  } finally {
    await handle.close();
  }
}

/** The records of a day file, in order; throws, naming file and line, at a line that is not a record. */
export async function* readRecords(path: string): AsyncGenerator<TrailRecord> {
  for await (const line of readLines(path)) {
    let entry: TrailEntry;
    try {
      entry = parseTrailLine(line.text);
    } catch (error) {
      throw trailError(path, `line ${line.number} (byte ${line.offset})`, (error as Error).message);
    }
    yield { ...line, entry };
  }
}

interface LastLine {
  readonly size: number;
  readonly completeLength: number;
  readonly line: { readonly offset: number; readonly text: string } | null;
}

// Reads backwards from the end, so finding where the chain resumes costs one
// line, not a day of records.
async function lastLine(path: string): Promise<LastLine> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    let end = -1;
    const parts: Buffer[] = [];
    for (let position = size; position > 0; ) {
      const length = Math.min(BLOCK, position);
      position -= length;
      let block = await readAt(handle, position, length);
      if (end === -1) {
        const nl = block.lastIndexOf(NEWLINE);
        if (nl === -1) continue;
        end = position + nl;
        block = block.subarray(0, nl);
      }
      const nl = block.lastIndexOf(NEWLINE);
      parts.unshift(block.subarray(nl + 1));
      if (nl !== -1) {
        return { size, completeLength: end + 1, line: { offset: position + nl + 1, text: Buffer.concat(parts).toString('utf8') } };
      }
    }
    if (end === -1) return { size, completeLength: 0, line: null };
    return { size, completeLength: end + 1, line: { offset: 0, text: Buffer.concat(parts).toString('utf8') } };
  } finally {
    await handle.close();
  }
}

/**
 * Where the trail ends: the last complete record (checked: well formed, hash
 * matching) and any torn bytes after it. Newer day files that hold no
 * complete line are passed over. Throws, changing nothing, when the last
 * record does not check or an older day file ends without a newline.
 */
export async function readTail(dir: string): Promise<TrailTail> {
  const files = await listDayFiles(dir);
  const newestFile = files.at(-1) ?? null;
  let completeLength = 0;
  let tornLength = 0;
  for (let i = files.length - 1; i >= 0; i--) {
    const file = files[i]!;
    const path = join(dir, file);
    const tail = await lastLine(path);
    if (file === newestFile) {
      completeLength = tail.completeLength;
      tornLength = tail.size - tail.completeLength;
    } else if (tail.size !== tail.completeLength) {
      // Only the newest file is appended to, so only it can be torn by a crash.
      throw trailError(path, `byte ${tail.completeLength}`, `${tail.size - tail.completeLength} bytes without a newline, yet newer day files follow; the trail is left as it is: check it with netauditctl audit verify`);
    }
    if (tail.line === null) continue;
    let entry: TrailEntry;
    try {
      entry = parseTrailLine(tail.line.text);
    } catch (error) {
      throw trailError(path, `byte ${tail.line.offset}`, `the last record is damaged (${(error as Error).message}); the trail is left as it is: check it with netauditctl audit verify`);
    }
    if (!lineHashOk(tail.line.text)) {
      throw trailError(path, `byte ${tail.line.offset}`, 'the last record does not match its hash; the trail is left as it is: check it with netauditctl audit verify');
    }
    return { lastHash: entry.hash, last: { file, offset: tail.line.offset, entry }, newestFile, completeLength, tornLength };
  }
  // No record left: retention may have removed them all (it keeps the newest
  // file, which may be empty); the chain then goes on from its anchor.
  const anchor = await readAnchor(dir);
  return { lastHash: anchor?.hash ?? ZERO_HASH, last: null, newestFile, completeLength, tornLength };
}

/**
 * The records for which predicate holds, in trail order. Reads day files
 * newest first and stops as soon as stopWhen says the older files need not
 * be read: at start the daemon only looks for the records of its last run.
 */
export async function findRecords(
  dir: string,
  predicate: (entry: TrailEntry) => boolean,
  options: FindOptions = {},
): Promise<TrailEntry[]> {
  const found: TrailEntry[][] = [];
  for (const file of (await listDayFiles(dir)).reverse()) {
    const matches: TrailEntry[] = [];
    const boots = new Set<string>();
    let records = 0;
    for await (const { entry } of readRecords(join(dir, file))) {
      records++;
      boots.add(entry.boot);
      if (predicate(entry)) matches.push(entry);
    }
    found.push(matches);
    if (records > 0 && options.stopWhen?.({ file, records, boots: [...boots] })) break;
  }
  return found.reverse().flat();
}
