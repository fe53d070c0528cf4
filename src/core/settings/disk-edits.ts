// Disk edits: the differences between the profile files on disk and what the
// trail last recorded of them, one record each (docs/profile-edits.md). At a
// reload the daemon's view stands for the trail (every change to it went
// through a record); at start the trail's replay does (profile-history.ts).
import { TimeSlice } from '../time-slice.js';
import type { ActingProcess, UnattendedContext } from '../audit/audit-manager.js';
import type { AuditActor, AuditCause, AuditValues } from '../audit/record.js';
import type { RecordedProfile } from '../audit/trail/profile-history.js';
import { changedValues, profileValues } from './audit-values.js';
import { changedKeys } from './diff.js';
import type { ProcessView } from '../process-view.js';
import { withoutKeptSecrets } from './kept-secrets.js';
import type { ExtraKeys } from './keyfile-reader.js';
import { profileFromValues, type ProfileRead } from './profile-file.js';
import { withoutSecrets } from './secrets.js';
import { getString, type Settings } from './value.js';

/** A profile file as read now. */
export interface DiskProfile {
  readonly fileName: string;
  readonly uuid: string;
  readonly read: ProfileRead;
  /** the file's ctime, ms since the epoch */
  readonly changedAt: number;
}

/** A profile as the daemon holds it, saved to a file. */
export interface HeldProfile {
  readonly uuid: string;
  readonly settings: Settings;
  readonly extra: ExtraKeys;
  readonly fileName: string;
}

export type DiskEditOp = 'connection-add' | 'connection-update' | 'connection-delete' | 'connection-snapshot';

/** One difference: a record's fields. */
export interface DiskEdit {
  readonly op: DiskEditOp;
  readonly uuid: string;
  readonly name: string;
  /** the file added, changed or removed, when known */
  readonly file?: string;
  readonly changed?: readonly string[];
  readonly before?: AuditValues;
  readonly after?: AuditValues;
}

/** Keys kept verbatim from a file whose values differ, as GROUP.KEY. */
function changedExtraKeys(before: ExtraKeys, after: ExtraKeys): string[] {
  const out: string[] = [];
  const asMap = (entries: ReadonlyArray<{ key: string; value: string }> | undefined) => new Map((entries ?? []).map((e) => [e.key, e.value]));
  for (const group of new Set([...before.keys(), ...after.keys()])) {
    const b = asMap(before.get(group));
    const a = asMap(after.get(group));
    for (const key of new Set([...b.keys(), ...a.keys()])) if (b.get(key) !== a.get(key)) out.push(`${group}.${key}`);
  }
  return out;
}

/** The keys of a values difference, as GROUP.KEY: when the profiles cannot be compared as settings. */
function valueKeys(diff: { before?: AuditValues; after?: AuditValues }): string[] {
  const out = new Set<string>();
  for (const side of [diff.before, diff.after]) {
    for (const [group, keys] of Object.entries(side ?? {})) {
      const names = Object.keys(keys as Record<string, unknown>);
      if (names.length === 0) out.add(group);
      for (const key of names) out.add(`${group}.${key}`);
    }
  }
  return [...out];
}

function nameOf(settings: Settings): string {
  return getString(settings, 'connection', 'id') ?? '';
}

function recordedName(values: AuditValues): string {
  const conn = values['connection'] as Record<string, unknown> | undefined;
  return typeof conn?.['id'] === 'string' ? conn['id'] : '';
}

function added(profile: DiskProfile): DiskEdit {
  const { settings, extra } = profile.read;
  return { op: 'connection-add', uuid: profile.uuid, name: nameOf(settings), file: profile.fileName, after: profileValues(settings, extra) };
}

/**
 * At a reload: the files on disk against the daemon's saved profiles. A
 * changed secret is named in `changed` and has no value anywhere.
 */
export function editsSinceHeld(held: ReadonlyMap<string, HeldProfile>, disk: readonly DiskProfile[]): DiskEdit[] {
  const edits: DiskEdit[] = [];
  const seen = new Set<string>();
  for (const profile of disk) {
    seen.add(profile.uuid);
    const known = held.get(profile.uuid);
    if (!known) {
      edits.push(added(profile));
      continue;
    }
    const { settings, extra } = profile.read;
    const changed = [...changedKeys(known.settings, settings), ...changedExtraKeys(known.extra, extra)];
    if (changed.length === 0) continue;
    edits.push({
      op: 'connection-update',
      uuid: profile.uuid,
      name: nameOf(settings),
      file: profile.fileName,
      changed,
      ...changedValues(profileValues(known.settings, known.extra), profileValues(settings, extra)),
    });
  }
  for (const known of held.values()) {
    if (seen.has(known.uuid)) continue;
    edits.push({ op: 'connection-delete', uuid: known.uuid, name: nameOf(known.settings), file: known.fileName, before: profileValues(known.settings, known.extra) });
  }
  return edits;
}

/**
 * A watched change to the files `fileNames` (null: any file): the profiles
 * they held (in `held`) or hold now (in `disk`) are its scope, and its
 * edits are theirs (editsSinceHeld). A profile moved to a file not named
 * is still found where it is now: a rename is no delete and add.
 */
export function editsInFiles(
  held: ReadonlyMap<string, HeldProfile>,
  disk: readonly DiskProfile[],
  fileNames: ReadonlySet<string> | null,
): { readonly scope: ReadonlySet<string>; readonly edits: DiskEdit[] } {
  const named = (fileName: string): boolean => fileNames === null || fileNames.has(fileName);
  const scope = new Set<string>();
  for (const known of held.values()) if (named(known.fileName)) scope.add(known.uuid);
  for (const profile of disk) if (named(profile.fileName)) scope.add(profile.uuid);
  const heldInScope = new Map([...held].filter(([uuid]) => scope.has(uuid)));
  return { scope, edits: editsSinceHeld(heldInScope, disk.filter((p) => scope.has(p.uuid))) };
}

/**
 * At start: the files on disk against what the trail last recorded. A
 * profile the trail has never seen gets a snapshot, its baseline, unless
 * its file changed after the trail's last record (`trailEnd`, ms; null for
 * an empty trail): that file was made while no daemon ran, an add. A
 * profile whose file cannot be read (`unreadable`, uuids) is no delete. Secrets
 * are not in the trail, so a change to secrets alone is not seen here.
 */
export async function editsSinceRecorded(
  recorded: ReadonlyMap<string, RecordedProfile>,
  trailEnd: number | null,
  disk: readonly DiskProfile[],
  dir: string,
  unreadable: ReadonlySet<string> = new Set(),
): Promise<DiskEdit[]> {
  const edits: DiskEdit[] = [];
  const seen = new Set<string>();
  // Thousands of profiles, each rendered and compared: the event loop gets its turns meanwhile.
  const slice = new TimeSlice();
  for (const profile of disk) {
    await slice.check();
    seen.add(profile.uuid);
    const known = recorded.get(profile.uuid);
    const { settings, extra } = profile.read;
    const values = profileValues(settings, extra);
    if (!known && trailEnd !== null && profile.changedAt > trailEnd) {
      edits.push(added(profile));
      continue;
    }
    if (!known || known.state === 'unknown') {
      edits.push({ op: 'connection-snapshot', uuid: profile.uuid, name: nameOf(settings), file: profile.fileName, after: values });
      continue;
    }
    if (known.state === 'absent') {
      edits.push(added(profile));
      continue;
    }
    const diff = changedValues(known.values, values);
    if (diff.before === undefined && diff.after === undefined) continue;
    const previous = profileFromValues(known.values, `${dir}/${profile.fileName}`);
    const changed = previous
      ? [...changedKeys(withoutSecrets(previous.settings), withoutSecrets(settings)), ...changedExtraKeys(withoutKeptSecrets(previous.extra).extra, withoutKeptSecrets(extra).extra)]
      : [];
    edits.push({
      op: 'connection-update',
      uuid: profile.uuid,
      name: nameOf(settings),
      file: profile.fileName,
      changed: changed.length > 0 ? changed : valueKeys(diff),
      ...diff,
    });
  }
  for (const [uuid, known] of recorded) {
    // A file that is there but cannot be read now is not a delete.
    if (seen.has(uuid) || unreadable.has(uuid) || known.state !== 'present') continue;
    edits.push({ op: 'connection-delete', uuid, name: recordedName(known.values), ...(known.file !== undefined ? { file: known.file } : {}), before: known.values });
  }
  return edits;
}

/**
 * The record of an edit: external, `args=file`, the file in `actor.file`
 * and the process that made it when fanotify told it (`by`), else no
 * attribution (who edited it is not known); a snapshot is the daemon's
 * baseline, with no cause (it is no change, and when its file was made is
 * not known).
 */
export function fileEditRecord(
  edit: DiskEdit,
  fields: { readonly tx?: number; readonly cause?: AuditCause; readonly by?: ProcessView | null },
): { origin: 'external' | 'daemon'; context: UnattendedContext; actor: AuditActor; process?: ActingProcess } {
  const { op, file, ...rest } = edit;
  const values = { ...rest, ...(fields.tx !== undefined ? { tx: fields.tx } : {}) };
  const named = file !== undefined ? { file } : {};
  if (op === 'connection-snapshot') return { origin: 'daemon', context: { op, ...values }, actor: named };
  const context: UnattendedContext = { op, ...values, args: 'file', ...(fields.cause !== undefined ? { cause: fields.cause } : {}) };
  const by = fields.by;
  if (!by) return { origin: 'external', context, actor: { attribution: 'none', ...named } };
  const { pid, uid, ...seen } = by;
  return { origin: 'external', context, actor: { ...seen, attribution: 'fanotify', ...named }, process: { pid, uid } };
}
