// Trail retention (docs/record-format.md, the trail): day files older than
// `[audit] retention-days` are removed, at the daemon's start and shortly
// after each UTC midnight. Before removing, it checks the chain of what it
// removes and writes the retention anchor (anchor.ts), so that `audit verify`
// accepts the chain that now starts later and reports what was removed.
import { stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { NetauditError, quotePath } from '../../errors.js';
import { anchorStateFor, NOTHING_REMOVED, readAnchor, writeAnchor, type RemovedDayFile, type TrailAnchor } from './anchor.js';
import { dayFileName, listDayFiles } from './day-file.js';
import { readLines } from './reader.js';
import { lineHashOk, parseTrailLine } from './trail-line.js';

const DAY_MS = 24 * 3600 * 1000;
/** How long after 00:00 UTC the daily run starts: past midnight, whatever the timer's slack. */
const AFTER_MIDNIGHT_MS = 1000;

/**
 * The day files to remove, oldest first. A file goes once every record in it
 * is more than `retentionDays` days old, that is once its day ended that long
 * ago: with retention-days=1 today's and yesterday's files stay. 0 keeps
 * everything. The newest file is never removed, even when old: it holds the
 * chain's tail, which the next record links to; nor is `keep` (the file the
 * writer appends to) or any file after it.
 */
export function expiredDayFiles(files: readonly string[], retentionDays: number, now: number, keep: string | null = null): string[] {
  if (retentionDays === 0 || files.length === 0) return [];
  const newestExpired = dayFileName(now - (retentionDays + 1) * DAY_MS);
  const newest = files.at(-1);
  const expired: string[] = [];
  for (const file of [...files].sort()) {
    if (file > newestExpired || file === newest || file === keep) break;
    expired.push(file);
  }
  return expired;
}

export interface PruneOptions {
  readonly retentionDays: number;
  /** the current time, ms since the epoch */
  readonly now: number;
  /** the file the writer appends to, never removed */
  readonly keep?: string | null;
  /** called after each file is removed */
  readonly onRemoved?: (removed: RemovedDayFile) => void;
}

export interface PruneResult {
  /** the anchor written, or null when nothing was due */
  readonly anchor: TrailAnchor | null;
  readonly removed: readonly RemovedDayFile[];
}

function refuse(dir: string, why: string): NetauditError {
  return new NetauditError(
    'Failed',
    `audit trail ${quotePath(dir)}: retention removes nothing: ${why}; the evidence is kept (check it with netauditctl audit verify)`,
    'io-error',
  );
}

interface Walked {
  /** `prev` of the first record read, null when no file held one */
  readonly start: string | null;
  /** hash of the last record read, null when no file held one */
  readonly last: string | null;
  /** per file: its records and the hash of its last one (null: none) */
  readonly files: Array<{ readonly records: number; readonly lastHash: string | null }>;
}

// Reads the files to remove as verify would, so that retention never removes
// a break (a changed, removed or inserted record) along with the files.
async function walk(dir: string, files: readonly string[]): Promise<Walked> {
  let start: string | null = null;
  let last: string | null = null;
  const perFile: Array<{ records: number; lastHash: string | null }> = [];
  for (const file of files) {
    const path = join(dir, file);
    let count = 0;
    let end = 0;
    for await (const line of readLines(path)) {
      const where = `${file}:${line.number}`;
      let prev: string;
      let hash: string;
      try {
        ({ prev, hash } = parseTrailLine(line.text));
      } catch (error) {
        throw refuse(dir, `${where} is not a record (${(error as Error).message})`);
      }
      if (!lineHashOk(line.text)) throw refuse(dir, `${where} does not match its hash`);
      if (last === null) start = prev;
      else if (prev !== last) throw refuse(dir, `${where} does not link to the record before it`);
      last = hash;
      count++;
      end = line.offset + Buffer.byteLength(line.text, 'utf8') + 1;
    }
    if ((await stat(path)).size !== end) throw refuse(dir, `${file} ends without a newline, yet newer day files follow`);
    perFile.push({ records: count, lastHash: count > 0 ? last : null });
  }
  return { start, last, files: perFile };
}

/** The `prev` of the first record in files, or null when they hold none. */
async function firstPrev(dir: string, files: readonly string[]): Promise<string | null> {
  for (const file of files) {
    for await (const line of readLines(join(dir, file))) {
      try {
        return parseTrailLine(line.text).prev;
      } catch (error) {
        throw refuse(dir, `${file}:${line.number} is not a record (${(error as Error).message})`);
      }
    }
  }
  return null;
}

/**
 * Removes the expired day files of the trail in dir: checks their chain and
 * that the first file kept links to them, writes the anchor, then removes
 * them oldest first. A crash at any point leaves a trail that verifies: the
 * anchor lists every state the run passes through. Throws, removing nothing,
 * when the chain is already broken there or the anchor is damaged.
 */
export async function pruneTrail(dir: string, options: PruneOptions): Promise<PruneResult> {
  let files: string[];
  try {
    files = await listDayFiles(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { anchor: null, removed: [] };
    throw error;
  }
  const expired = expiredDayFiles(files, options.retentionDays, options.now, options.keep ?? null);
  if (expired.length === 0) return { anchor: null, removed: [] };
  const anchor = await readAnchor(dir);
  const walked = await walk(dir, expired);
  const next = await firstPrev(dir, files.slice(expired.length));
  if (walked.last !== null && next !== null && next !== walked.last) {
    throw refuse(dir, `the first record after ${expired.at(-1)} does not link to the last record of that file`);
  }
  // Where the chain starts now: 64 zeros, or a state of the last anchor.
  const start = walked.start ?? next ?? anchor?.hash ?? null;
  const previous = start === null ? NOTHING_REMOVED : anchorStateFor(anchor, start);
  if (previous === null) {
    throw refuse(dir, `the oldest record's prev is neither 64 zeros nor a hash the retention anchor accounts for: older records were already removed without it`);
  }
  const removed: RemovedDayFile[] = [];
  let hash = previous.hash;
  for (const [i, file] of expired.entries()) {
    const { records, lastHash } = walked.files[i]!;
    hash = lastHash ?? hash;
    removed.push({ file, records, lastHash: hash });
  }
  const total = removed.reduce((sum, r) => sum + r.records, 0);
  const written: TrailAnchor = {
    hash,
    lastRemovedFile: expired.at(-1)!,
    removedFiles: previous.removedFiles + removed.length,
    removedRecords: previous.removedRecords + total,
    prunedAt: new Date(options.now).toISOString(),
    previous,
    removed,
  };
  await writeAnchor(dir, written);
  for (const r of removed) {
    await unlink(join(dir, r.file));
    options.onRemoved?.(r);
  }
  return { anchor: written, removed };
}

export interface TrailRetentionOptions {
  readonly dir: string;
  /** read at each run: a reload's new value applies from the next run */
  readonly retentionDays: () => number;
  /** the file the writer appends to, if any */
  readonly keep: () => string | null;
  readonly log: { info(text: string): void; warn(text: string): void };
  readonly now?: () => number;
}

/**
 * Runs pruneTrail at start, shortly after each UTC midnight and when asked,
 * one run at a time; logs each removal and any refusal, never throws.
 */
export class TrailRetention {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: TrailRetentionOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Runs once now, in the background, and arms the daily timer. */
  start(): void {
    void this.run();
    this.arm();
  }

  /** Runs as soon as the run under way (if any) is done; resolves when it is. */
  run(): Promise<void> {
    this.running = this.running.then(() => (this.stopped ? undefined : this.prune()));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private arm(): void {
    if (this.stopped) return;
    const now = this.now();
    const midnight = (Math.floor(now / DAY_MS) + 1) * DAY_MS;
    // Recomputed after each run, so that a clock set forward or back is followed at the next midnight.
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run().then(() => this.arm());
    }, midnight + AFTER_MIDNIGHT_MS - now);
    this.timer.unref();
  }

  private async prune(): Promise<void> {
    const { dir, log } = this.options;
    const days = this.options.retentionDays();
    try {
      const result = await pruneTrail(dir, {
        retentionDays: days,
        now: this.now(),
        keep: this.options.keep(),
        onRemoved: (r) =>
          log.info(`audit trail ${quotePath(dir)}: retention (retention-days=${days}) removed ${r.file} (${r.records} record${r.records === 1 ? '' : 's'})`),
      });
      if (result.anchor !== null) {
        const a = result.anchor;
        log.info(
          `audit trail ${quotePath(dir)}: the chain now starts after ${a.lastRemovedFile}; retention has removed ${a.removedFiles} file(s), ${a.removedRecords} record(s) in all (audit-anchor.json)`,
        );
      }
    } catch (error) {
      log.warn(error instanceof NetauditError ? error.message : `audit trail ${quotePath(dir)}: retention failed: ${(error as Error).message}`);
    }
  }
}
