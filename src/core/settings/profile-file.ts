// Profile file: one keyfile profile read as NetworkManager 1.42 reads it
// (values its reader drops are dropped with a warning, a profile it refuses
// is refused, values it accepts that netauditd refuses are kept as holds:
// stored-profile.ts), and the same reading of a profile rebuilt from a
// record's values (docs/profile-edits.md).
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyfileSyntaxError, parseKeyfile, serializeKeyfile } from '../../config/ini.js';
import type { DomainLogger } from '../../log/logger.js';
import { TimeSlice } from '../time-slice.js';
import type { AuditValues } from '../audit/record.js';
import type { DiskProfile } from './disk-edits.js';
import { fromKeyfile, type ExtraKeys } from './keyfile-reader.js';
import { storedProfile, type StoredProfile } from './stored-profile.js';
import { getString, value, type Value } from './value.js';

export const PROFILE_SUFFIX = '.nmconnection';

/** Whether a file of the profiles directory is a profile: hidden files (the daemon's own temp files and log) are not. */
export function isProfileFileName(name: string): boolean {
  return name.endsWith(PROFILE_SUFFIX) && !name.startsWith('.');
}

/** Which files' problems are logged: a watched edit reads the whole directory, and reports only the files it was about. */
export type Reported = (fileName: string) => boolean;

const EVERY_FILE: Reported = () => true;

/** What reading a file says about it; nothing, for a file not reported. */
type ReadLog = Pick<DomainLogger, 'warn' | 'info'>;

const QUIET: ReadLog = { warn: () => undefined, info: () => undefined };

export interface ProfileRead extends StoredProfile {
  readonly extra: ExtraKeys;
  /** one line per dropped value, never quoting a secret */
  readonly warnings: readonly string[];
}

/** Reads `text`, the file `fileName` at `path`; throws when the profile is refused (see profileProblem). */
export function readProfileText(text: string, path: string, fileName: string): ProfileRead {
  const read = fromKeyfile(parseKeyfile(text, path));
  // As NetworkManager does for hand-written files: the id defaults to the file name, and a
  // missing uuid is derived from the path so that it stays the same across reloads.
  const conn = read.settings.get('connection') ?? new Map<string, Value>();
  if (!conn.has('id')) conn.set('id', value('s', fileName.endsWith(PROFILE_SUFFIX) ? fileName.slice(0, -PROFILE_SUFFIX.length) : fileName));
  read.settings.set('connection', conn);
  const stored = storedProfile(read.settings, read.extra, { generateUuid: () => uuidFromPath(path) });
  return { ...stored, extra: read.extra, warnings: read.warnings };
}

/** Files skipped as unreadable: their names, and the uuids of those whose uuid could be read. */
export interface Unreadable {
  readonly files: ReadonlySet<string>;
  readonly uuids: ReadonlySet<string>;
}

/** The uuid a profile file names, if its syntax lets it be read. */
function uuidIn(text: string, path: string): string | undefined {
  try {
    const group = parseKeyfile(text, path).groups.find((g) => g.name === 'connection');
    return group?.entries.find((e) => e.key === 'uuid')?.value.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * The profile files listed, read: one that does not parse, or repeats the
 * uuid of one before it, is reported and skipped; what the reader dropped
 * and the values kept as holds are logged. An unreadable file is still
 * there: its profile is not taken for deleted (docs/profile-edits.md).
 * The event loop gets a turn every few milliseconds: at start thousands of
 * profiles are read, and timers and the bus connection must not wait for
 * all of them.
 */
export async function readProfiles(
  files: readonly ProfileFile[],
  dir: string,
  log: DomainLogger,
  reported: Reported = EVERY_FILE,
): Promise<{ profiles: DiskProfile[]; unreadable: Unreadable }> {
  const reading = new ProfilesRead(dir, log, reported);
  const slice = new TimeSlice();
  for (const file of files) {
    reading.add(file);
    await slice.check();
  }
  return reading.result();
}

/** The files of readProfiles, one at a time. */
class ProfilesRead {
  private readonly profiles: DiskProfile[] = [];
  private readonly unreadable = { files: new Set<string>(), uuids: new Set<string>() };
  private readonly seen = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly log: DomainLogger,
    private readonly reported: Reported,
  ) {}

  add(file: ProfileFile): void {
    const log: ReadLog = this.reported(file.fileName) ? this.log : QUIET;
    const path = `${this.dir}/${file.fileName}`;
    let read: ProfileRead;
    try {
      read = readProfileText(file.text, path, file.fileName);
    } catch (e) {
      log.warn(`skipping profile ${path}: ${profileProblem(e)}`);
      this.unreadable.files.add(file.fileName);
      const uuid = uuidIn(file.text, path);
      if (uuid !== undefined) this.unreadable.uuids.add(uuid);
      return;
    }
    for (const warning of read.warnings) log.warn(`profile ${warning}`);
    for (const hold of read.holds) log.info(`profile ${path} is kept but cannot be activated: ${hold.message}`);
    const uuid = getString(read.settings, 'connection', 'uuid') ?? '';
    if (this.seen.has(uuid)) {
      log.warn(`skipping profile ${path}: its uuid ${uuid} is used by another file`);
      return;
    }
    this.seen.add(uuid);
    this.profiles.push({ fileName: file.fileName, uuid, read, changedAt: file.changedAt });
  }

  result(): { profiles: DiskProfile[]; unreadable: Unreadable } {
    return { profiles: this.profiles, unreadable: this.unreadable };
  }
}

/** A profile file as listed: its name, its text, and its inode's last change (ctime, ms since the epoch). */
export interface ProfileFile {
  readonly fileName: string;
  readonly text: string;
  readonly changedAt: number;
}

/**
 * The profile files of `dir`, refusing those anyone but root could have
 * written (as NetworkManager does), for a start with thousands:
 * the stat and the read of each file are synchronous calls, and the event
 * loop gets a turn every few milliseconds (a local directory's files are in
 * the page cache or a disk read away: ~20 µs each, where each of the five
 * promise-based calls per file cost a trip through the thread pool).
 */
export async function listProfileFiles(dir: string, log: DomainLogger, reported: Reported = EVERY_FILE): Promise<ProfileFile[]> {
  return readProfileFiles(dir, (await readdir(dir)).filter(isProfileFileName).sort(), log, reported);
}

/** The profile files `names` (sorted) of `dir`, as listProfileFiles reads them; a name not there (any more) is no file, and no warning. */
export async function readProfileFiles(dir: string, names: readonly string[], log: DomainLogger, reported: Reported = EVERY_FILE): Promise<ProfileFile[]> {
  const out: ProfileFile[] = [];
  const uid = process.getuid?.();
  const slice = new TimeSlice();
  for (const fileName of names) {
    const path = join(dir, fileName);
    const warn = reported(fileName) ? (text: string) => log.warn(text) : () => undefined;
    try {
      const st = lstatSync(path);
      if (!st.isFile()) {
        warn(`ignoring ${path}: not a regular file`);
      } else if ((st.mode & 0o077) !== 0 || st.uid !== uid) {
        warn(`ignoring ${path}: it must be owned by uid ${uid} with mode 0600 (it is ${(st.mode & 0o777).toString(8)}, uid ${st.uid})`);
      } else {
        out.push({ fileName, text: readFileSync(path, 'utf8'), changedAt: st.ctimeMs });
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') warn(`ignoring ${path}: ${(e as Error).message}`);
    }
    await slice.check();
  }
  return out;
}

/**
 * The profile a record's values describe, read as its file would be: the
 * values are the keyfile writer's own lines (docs/record-format.md). Null
 * when they do not make a profile.
 */
export function profileFromValues(values: AuditValues, path: string): ProfileRead | null {
  try {
    const groups = Object.entries(values).map(([name, group]) => ({
      name,
      entries: Object.entries(group as Record<string, unknown>).map(([key, v]) => ({ key, value: String(v) })),
    }));
    return readProfileText(serializeKeyfile(groups), path, path);
  } catch {
    return null;
  }
}

/**
 * Why a profile file was skipped, for the log. A line that is not keyfile
 * syntax is named by its number only: its text could be a secret (a
 * "psk: …" typed for "psk=…"), and the syntax error would quote it.
 */
export function profileProblem(e: unknown): string {
  if (e instanceof KeyfileSyntaxError) {
    return `${e.file}:${e.line}: the line is not keyfile syntax ("[group]", "key=value" or a "#" comment); it is not quoted, as a profile line may hold a secret`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** A stable name-based uuid (RFC 4122 version 5 layout over SHA-256) for a profile file that has none. */
export function uuidFromPath(path: string): string {
  const h = createHash('sha256').update(`netauditd-profile:${path}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
