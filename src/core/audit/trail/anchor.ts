// Retention anchor: the file audit-anchor.json in the trail's directory that
// retention writes before it removes old day files. It names the hash the
// chain may start at once they are gone (the `prev` of the first record kept)
// and how much was removed, so that `audit verify` accepts the shortened
// chain and says what retention took. It is not a secret and not signed: it
// makes no removal undetectable beyond what it states, and verify reports it.
import { constants, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { NetauditError, quote, quotePath } from '../../errors.js';
import { parseDayFileName } from './day-file.js';
import { ZERO_HASH } from './trail-line.js';

/** Not a day file's name (day-file.ts), so no reader takes it for one. */
export const ANCHOR_FILE = 'audit-anchor.json';
const ANCHOR_TEMP = `${ANCHOR_FILE}.tmp`;

/** Where the chain starts after some removals, and what they took in total. */
export interface AnchorState {
  /** the hash of the last record removed: the `prev` of the first record kept (ZERO_HASH: nothing removed) */
  readonly hash: string;
  /** the newest day file removed so far; null when none was */
  readonly lastRemovedFile: string | null;
  /** day files and records removed by retention since the trail began */
  readonly removedFiles: number;
  readonly removedRecords: number;
}

/** One day file removed by the retention run that wrote the anchor. */
export interface RemovedDayFile {
  readonly file: string;
  readonly records: number;
  /** the hash of its last record, or of the last record before it when it held none */
  readonly lastHash: string;
}

export interface TrailAnchor extends AnchorState {
  readonly lastRemovedFile: string;
  /** when the run that wrote it began, RFC 3339 */
  readonly prunedAt: string;
  /**
   * The state before that run and the files it removes, oldest first: a
   * crash may stop it after any removal, and each of those states must still
   * verify.
   */
  readonly previous: AnchorState;
  readonly removed: readonly RemovedDayFile[];
}

export const NOTHING_REMOVED: AnchorState = { hash: ZERO_HASH, lastRemovedFile: null, removedFiles: 0, removedRecords: 0 };

/**
 * The states the chain may start in according to the anchor, oldest first:
 * before the run, then after each file it removes. A chain starting at 64
 * zeros is always whole and needs no anchor.
 */
export function anchorStates(anchor: TrailAnchor): AnchorState[] {
  const states: AnchorState[] = [anchor.previous];
  let state = anchor.previous;
  for (const removed of anchor.removed) {
    state = {
      hash: removed.lastHash,
      lastRemovedFile: removed.file,
      removedFiles: state.removedFiles + 1,
      removedRecords: state.removedRecords + removed.records,
    };
    states.push(state);
  }
  return states;
}

/** The newest state whose hash is `prev`, NOTHING_REMOVED for 64 zeros, or null: the chain was cut. */
export function anchorStateFor(anchor: TrailAnchor | null, prev: string): AnchorState | null {
  if (prev === ZERO_HASH) return NOTHING_REMOVED;
  if (anchor === null) return null;
  return anchorStates(anchor).reverse().find((state) => state.hash === prev) ?? null;
}

const HASH = /^[0-9a-f]{64}$/;

function bad(path: string, why: string): NetauditError {
  return new NetauditError('Failed', `the retention anchor ${quotePath(path)} is damaged: ${why}`, 'io-error');
}

type Json = Record<string, unknown>;

function object(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

function count(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function dayFile(value: unknown): value is string {
  return typeof value === 'string' && parseDayFileName(value) !== null;
}

function state(path: string, value: unknown, what: string): AnchorState {
  const o = object(value);
  if (o === null) throw bad(path, `${what} is not an object`);
  const { hash, last_removed_file: last, removed_files: files, removed_records: records } = o;
  if (typeof hash !== 'string' || !HASH.test(hash)) throw bad(path, `${what} has no valid "hash"`);
  if (last !== null && !dayFile(last)) throw bad(path, `${what} has an invalid "last_removed_file" ${quote(last)}`);
  if (!count(files) || !count(records)) throw bad(path, `${what} has invalid counts`);
  return { hash, lastRemovedFile: last, removedFiles: files, removedRecords: records };
}

function stateJson(s: AnchorState): Json {
  return { hash: s.hash, last_removed_file: s.lastRemovedFile, removed_files: s.removedFiles, removed_records: s.removedRecords };
}

/** The anchor as JSON text (one object, a newline at the end). */
export function formatAnchor(anchor: TrailAnchor): string {
  return `${JSON.stringify({
    ...stateJson(anchor),
    pruned_at: anchor.prunedAt,
    previous: stateJson(anchor.previous),
    removed: anchor.removed.map((r) => ({ file: r.file, records: r.records, last_hash: r.lastHash })),
  }, null, 1)}\n`;
}

/** Parses an anchor's text; `path` names it in the error. Checks that its totals add up. */
export function parseAnchor(text: string, path: string): TrailAnchor {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad(path, 'not valid JSON');
  }
  const o = object(value);
  if (o === null) throw bad(path, 'not a JSON object');
  const current = state(path, o, 'it');
  const previous = state(path, o.previous, '"previous"');
  const prunedAt = o.pruned_at;
  if (typeof prunedAt !== 'string' || Number.isNaN(Date.parse(prunedAt))) throw bad(path, '"pruned_at" is not a time');
  if (!Array.isArray(o.removed) || o.removed.length === 0) throw bad(path, '"removed" is not a list of files');
  const removed = o.removed.map((item: unknown, i): RemovedDayFile => {
    const r = object(item);
    if (r === null || !dayFile(r.file) || !count(r.records) || typeof r.last_hash !== 'string' || !HASH.test(r.last_hash)) {
      throw bad(path, `"removed" item ${i + 1} is not {file, records, last_hash}`);
    }
    return { file: r.file, records: r.records, lastHash: r.last_hash };
  });
  const anchor: TrailAnchor = { ...current, lastRemovedFile: current.lastRemovedFile ?? '', prunedAt, previous, removed };
  const last = anchorStates(anchor).at(-1)!;
  if (last.hash !== current.hash || last.lastRemovedFile !== current.lastRemovedFile || last.removedFiles !== current.removedFiles || last.removedRecords !== current.removedRecords) {
    throw bad(path, 'its totals do not add up to "previous" plus the files in "removed"');
  }
  return anchor;
}

/** The anchor of the trail in dir, or null when there is none; throws when it cannot be read or is damaged. */
export async function readAnchor(dir: string): Promise<TrailAnchor | null> {
  const path = join(dir, ANCHOR_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new NetauditError('Failed', `cannot read the retention anchor ${quotePath(path)} (${code ?? String(error)})`, 'io-error');
  }
  return parseAnchor(text, path);
}

async function syncPath(path: string, flags: number): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces the anchor atomically: a temp file written and fsynced, renamed
 * over the old one, the directory fsynced. A crash leaves the old anchor or
 * the new one, never a part of either.
 */
export async function writeAnchor(dir: string, anchor: TrailAnchor): Promise<void> {
  const temp = join(dir, ANCHOR_TEMP);
  await unlink(temp).catch(() => undefined);
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o640);
  try {
    await handle.writeFile(formatAnchor(anchor), 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, join(dir, ANCHOR_FILE));
  await syncPath(dir, constants.O_RDONLY | constants.O_DIRECTORY);
}
