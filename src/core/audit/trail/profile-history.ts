// Profile history: what the trail last recorded of each connection profile
// on disk, replayed from its records (docs/profile-edits.md). The records
// are fed newest first, so that the replay can stop once every profile it
// is asked about is resolved: a profile is resolved at its newest record
// that carries the whole profile (an add, a snapshot) or says it is gone (a
// delete); the updates after that record are then applied to it in order.
// Pure: no file is read here (recorded-profiles.ts reads the trail).
import type { AuditValues } from '../record.js';
import type { TrailEntry } from './trail-line.js';

/** What the trail says of one profile's file. */
export type RecordedProfile =
  /** its file holds these values (the keyfile form, no secret) */
  | { readonly state: 'present'; readonly values: AuditValues; readonly file?: string }
  /** it has no file: deleted, or added unsaved and never saved */
  | { readonly state: 'absent'; readonly file?: string }
  /** named by records that do not say what it holds (written before before/after existed): never seen */
  | { readonly state: 'unknown' };

type Group = Readonly<Record<string, unknown>>;
type Values = Record<string, Record<string, unknown>>;
/** a side of the replay: values, no profile (null), or values nobody recorded */
type Side = Values | null | 'unknown';

const PROFILE_OPS = new Set(['connection-add', 'connection-add-activate', 'connection-snapshot', 'connection-update', 'connection-delete']);

const OP_PREFIX = '"op":"connection-';
const OP_RESTS = ['add', 'update"', 'delete"', 'snapshot"'];
const OP_PREFIX_BYTES = Buffer.from(OP_PREFIX);
const OP_RESTS_BYTES = OP_RESTS.map((rest) => Buffer.from(rest));

/** True when a line's text may be a record the replay needs: a cheap test before the line is parsed. */
export function mayBeProfileRecord(text: string): boolean {
  const at = text.indexOf(OP_PREFIX);
  return at !== -1 && OP_RESTS.some((rest) => text.startsWith(rest, at + OP_PREFIX.length));
}

/** The same test on a line's bytes: most lines fail it, and are never decoded. */
export function mayBeProfileRecordBytes(bytes: Buffer): boolean {
  const at = bytes.indexOf(OP_PREFIX_BYTES);
  if (at === -1) return false;
  const from = at + OP_PREFIX_BYTES.length;
  return OP_RESTS_BYTES.some((rest) => bytes.compare(rest, 0, rest.length, from, from + rest.length) === 0);
}

function isGroup(value: unknown): value is Group {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function copy(values: AuditValues | undefined): Values | 'unknown' {
  if (values === undefined) return 'unknown';
  const out: Values = {};
  for (const [name, group] of Object.entries(values)) {
    if (!isGroup(group)) return 'unknown';
    out[name] = { ...group };
  }
  return out;
}

/**
 * Applies an update's before/after (audit-values.ts `changedValues`): a
 * group only in `before` was removed, one only in `after` was added whole;
 * in a group on both sides the keys of `after` are set and those only in
 * `before` removed.
 */
export function applyChange(values: Values, before: AuditValues | undefined, after: AuditValues | undefined): Values {
  const out: Values = Object.fromEntries(Object.entries(values).map(([k, g]) => [k, { ...g }]));
  const b = before ?? {};
  const a = after ?? {};
  for (const [name, group] of Object.entries(b)) {
    if (!Object.hasOwn(a, name)) {
      delete out[name];
      continue;
    }
    const next = out[name];
    if (next && isGroup(group)) for (const key of Object.keys(group)) if (!Object.hasOwn(a[name] as Group, key)) delete next[key];
  }
  for (const [name, group] of Object.entries(a)) {
    if (!isGroup(group)) continue;
    if (!Object.hasOwn(b, name) || !out[name]) out[name] = { ...group };
    else Object.assign(out[name], group);
  }
  return out;
}

/** One record that bears on a profile, as much of it as the replay needs. */
interface Step {
  readonly op: string;
  readonly args?: string;
  /** absent in records written before origin, before and after existed */
  readonly origin?: string;
  readonly changed?: string;
  readonly before?: AuditValues;
  readonly after?: AuditValues;
  readonly file?: string;
}

function isAnchor(step: Step): boolean {
  return step.op !== 'connection-update';
}

/** Replays the steps of one profile, oldest first, the first one an anchor: what its file holds after them. */
function replay(steps: readonly Step[]): RecordedProfile {
  let disk: Side = null;
  let memory: Side = null;
  let file: string | undefined;
  for (const step of steps) {
    if (step.file !== undefined) file = step.file;
    const old = step.origin === undefined;
    switch (step.op) {
      case 'connection-delete':
        disk = memory = null;
        file = undefined;
        break;
      case 'connection-add':
      case 'connection-add-activate':
      case 'connection-snapshot':
        memory = old ? 'unknown' : copy(step.after);
        disk = step.args === 'unsaved' ? null : memory;
        break;
      default: {
        // connection-update: a caller's (Update, UpdateUnsaved, Save) or a file's.
        if (step.args === 'save') {
          disk = memory;
          break;
        }
        if (memory === null) break;
        if (old && step.changed !== undefined) memory = 'unknown';
        else if (memory !== 'unknown') memory = applyChange(memory, step.before, step.after);
        if (step.args !== 'unsaved') disk = memory;
      }
    }
  }
  if (disk === 'unknown') return { state: 'unknown' };
  if (disk === null) return file !== undefined ? { state: 'absent', file } : { state: 'absent' };
  return file !== undefined ? { state: 'present', values: disk, file } : { state: 'present', values: disk };
}

/**
 * The replay, fed records newest first. A `fail` record with a tx overturns
 * the `success` of the same start (or, written at a later start with
 * cause=restart, of the start its args name), tx, op and profile (docs/record-format.md):
 * being newer, it is fed first, and the success is then passed over.
 */
export class ProfileHistory {
  /** the steps seen of each unresolved profile, newest first */
  private readonly pending = new Map<string, Step[]>();
  private readonly resolved = new Map<string, RecordedProfile>();
  private readonly overturned = new Set<string>();

  /** Takes the next older record. */
  feed(entry: TrailEntry): void {
    if (!PROFILE_OPS.has(entry.op) || entry.uuid === undefined) return;
    const uuid = entry.uuid.toLowerCase();
    const key = `${entry.boot}:${entry.tx}:${entry.op}:${uuid}`;
    if (entry.result !== 'success') {
      // An overturn written at a later start names the start of the record it overturns in args.
      const boot = entry.cause === 'restart' && entry.origin === 'daemon' && entry.args !== undefined ? entry.args : entry.boot;
      if (entry.tx !== undefined) this.overturned.add(`${boot}:${entry.tx}:${entry.op}:${uuid}`);
      return;
    }
    if (entry.tx !== undefined && this.overturned.has(key)) return;
    if (this.resolved.has(uuid)) return;
    const step: Step = {
      op: entry.op,
      ...(entry.args !== undefined ? { args: entry.args } : {}),
      ...(entry.origin !== undefined ? { origin: entry.origin } : {}),
      ...(entry.changed !== undefined ? { changed: entry.changed } : {}),
      ...(entry.before !== undefined ? { before: entry.before } : {}),
      ...(entry.after !== undefined ? { after: entry.after } : {}),
      ...(entry.origin === 'external' && entry.actor?.file !== undefined ? { file: entry.actor.file } : {}),
    };
    const steps = this.pending.get(uuid) ?? [];
    steps.push(step);
    if (!isAnchor(step)) {
      this.pending.set(uuid, steps);
      return;
    }
    this.pending.delete(uuid);
    this.resolved.set(uuid, replay(steps.reverse()));
  }

  /** True once the newest anchor of `uuid` has been fed. */
  isResolved(uuid: string): boolean {
    return this.resolved.has(uuid.toLowerCase());
  }

  /** True when some profile has updates fed but not yet the record they build on. */
  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  /**
   * What the trail last recorded of each profile it names, once the oldest
   * record has been fed: a profile with updates but no anchor (retention
   * removed it, or it predates auditing) is unknown, as one never seen.
   */
  result(): Map<string, RecordedProfile> {
    const out = new Map(this.resolved);
    for (const uuid of this.pending.keys()) out.set(uuid, { state: 'unknown' });
    return out;
  }
}
