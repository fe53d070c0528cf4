// Settings: the connection profiles and every operation on them (docs/api.md),
// each changing one audited through the AuditManager and committed through
// the commit protocol (src/core/commit/, docs/commit.md).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { DomainLogger } from '../../log/logger.js';
import type { AuditManager, AuditTransaction, CommitOptions } from '../audit/audit-manager.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { CallerRef } from '../caller.js';
import { KeyedMutex } from '../keyed-mutex.js';
import { ReloadGate } from './reload-gate.js';
import { NetauditError, quote } from '../errors.js';
import { authorize, fixedArgs, OPERATIONS, type Operation } from '../operations.js';
import { SettingsConnection } from './connection.js';
import { changedValues, profileValues } from './audit-values.js';
import { changedKeys } from './diff.js';
import { profileFileName } from './filename.js';
import type { RecordedProfile } from '../audit/trail/profile-history.js';
import { editsInFiles, editsSinceHeld, editsSinceRecorded, fileEditRecord, type DiskEdit, type DiskProfile, type HeldProfile } from './disk-edits.js';
import { isProfileFileName, listProfileFiles, readProfileFiles, readProfiles, type Reported, type Unreadable } from './profile-file.js';
import { RecordedFiles } from './recorded-files.js';
import type { ChangedFiles } from './profile-watch.js';
import { withoutKeptSecrets } from './kept-secrets.js';
import { updatedProfile } from './stored-profile.js';
import { toKeyfile } from './keyfile-writer.js';
import { commitProfileChange, commitUnrecorded, type ProfileCommitContext } from '../commit/commit-change.js';
import type { ProfileCommit } from '../commit/profile-commit.js';
import { clearSecrets, hasSecrets, keepSecrets, secretsOf, withoutSecrets } from './secrets.js';
import { validateSettings } from './validate.js';
import { refuseUnapplied, unappliedProperty } from './applicable.js';
import { getString, type Settings, type SettingsInput } from './value.js';

export type ConnectionProperty = 'unsaved' | 'fileName';

/** How many of the records found at start are made side by side. */
const LOAD_RECORD_GROUP = 64;

export interface SettingsEvents {
  added: [SettingsConnection];
  /** with the tx of the change that removed it, when it had one */
  removed: [SettingsConnection, number?];
  updated: [SettingsConnection];
  changed: [SettingsConnection, ConnectionProperty[]];
}

export interface SettingsOptions {
  /** the profiles directory, and how changes to it are made durable */
  readonly commit: ProfileCommit;
  readonly audit: AuditManager;
  readonly auth: () => Authorizer;
  readonly log: DomainLogger;
}

export class SettingsService extends EventEmitter<SettingsEvents> {
  private readonly byNumber = new Map<number, SettingsConnection>();
  private readonly byUuid = new Map<string, SettingsConnection>();
  /** file names promised to changes not yet applied */
  private readonly reservedNames = new Set<string>();
  private readonly locks = new KeyedMutex();
  private readonly gate = new ReloadGate();
  /** the files the last read of the directory skipped */
  private unreadable: Unreadable = { files: new Set(), uuids: new Set() };
  private lastNumber = 0;
  /** the file names of the profiles in memory, kept with them (a scan per change would grow with their number) */
  private readonly fileNames = new Set<string>();
  /** files whose edit is on record but not taken up (monitoring off: docs/profile-edits.md) */
  private readonly recordedFiles = new RecordedFiles();

  constructor(private readonly options: SettingsOptions) {
    super();
  }

  private get audit(): AuditManager {
    return this.options.audit;
  }

  private get committing(): ProfileCommitContext {
    return { audit: this.options.audit, commit: this.options.commit, log: this.options.log };
  }

  get profilesDir(): string {
    return this.options.commit.dir;
  }

  /** Every profile, or only the one of `uuid` (none when it has gone). */
  list(uuid?: string): SettingsConnection[] {
    if (uuid === undefined) return [...this.byNumber.values()];
    const conn = this.byUuid.get(uuid.toLowerCase());
    return conn ? [conn] : [];
  }

  byObjectNumber(number: number): SettingsConnection | undefined {
    return this.byNumber.get(number);
  }

  getByUuid(uuid: string): SettingsConnection {
    const conn = this.byUuid.get(uuid.toLowerCase());
    if (!conn) throw new NetauditError('UnknownConnection', `No connection has the uuid ${quote(uuid)}.`);
    return conn;
  }

  getSettings(number: number): Settings {
    return withoutSecrets(this.require(number).settings);
  }

  /**
   * Loads the profiles directory at start; a file that does not parse is
   * reported and skipped. With `recorded`, what the trail last recorded of
   * each profile and when it ended, each difference is recorded first
   * (cause=while-stopped), and a profile the trail has never seen gets a
   * snapshot (docs/profile-edits.md). A trail that refuses them is reported:
   * the files are there all the same, and the next start finds them again.
   */
  async load(recorded: { readonly profiles: ReadonlyMap<string, RecordedProfile>; readonly end: number | null } | null): Promise<void> {
    // As a reload: edits the watch sees meanwhile are compared once the view holds the files.
    await this.gate.reload(() => this.loadNow(recorded));
  }

  private async loadNow(recorded: { readonly profiles: ReadonlyMap<string, RecordedProfile>; readonly end: number | null } | null): Promise<void> {
    const disk = await this.readDisk();
    if (recorded) {
      const edits = await editsSinceRecorded(recorded.profiles, recorded.end, disk, this.options.commit.dir, this.unreadable.uuids);
      // In groups that share the trail's syncs (the records keep their order: each takes its seq
      // when it is made), small enough that the journal's and libaudit's queues keep up.
      for (let i = 0; i < edits.length; i += LOAD_RECORD_GROUP) {
        await Promise.all(edits.slice(i, i + LOAD_RECORD_GROUP).map((edit) => {
          const { origin, context, actor } = fileEditRecord(edit, { cause: 'while-stopped' });
          return this.audit.recordUnattended(origin, context, 'success', { actor });
        }));
      }
    }
    this.takeUp(disk);
  }

  async add(ref: CallerRef, input: SettingsInput, save: boolean): Promise<SettingsConnection> {
    const operation = OPERATIONS[save ? 'Settings.AddConnection' : 'Settings.AddConnectionUnsaved'];
    return this.audit.audited(ref, { op: operation.op, ...input.sent, ...fixedArgs(operation) }, async (tx) => {
      await authorize(this.options.auth(), tx, operation);
      return this.newConnection(tx, input, !save, async (conn) => {
        if (!save) return tx.commit(() => this.insert(conn));
        return this.saveNew(tx, conn);
      });
    });
  }

  /**
   * An add followed by more work under the same attempt and record
   * (AddAndActivateConnection: `operation`, whose actions are all asked):
   * after authorization and the add's validation, `run` gets the new
   * profile — not yet in
   * place — and `commit(then)`, which makes the record, saves the profile
   * and runs `then`. If `then` fails, the profile is removed again and the
   * record overturned (CommitOptions.kernelChange): the attempt left
   * nothing behind.
   */
  async addThen<T>(
    ref: CallerRef,
    input: SettingsInput,
    operation: Operation,
    run: (tx: AuditTransaction, conn: SettingsConnection, commit: (then: (conn: SettingsConnection) => Promise<T>) => Promise<T>) => Promise<T>,
  ): Promise<T> {
    return this.audit.audited(ref, { op: operation.op, ...input.sent }, async (tx) => {
      await authorize(this.options.auth(), tx, operation);
      return this.newConnection(tx, input, false, (conn) => {
        const commit = async (then: (conn: SettingsConnection) => Promise<T>): Promise<T> => {
          let result: T | undefined;
          await this.saveNew(tx, conn, async (inserted) => {
            try {
              result = await then(inserted);
            } catch (e) {
              await this.takeOut(inserted, tx.commitId());
              throw e;
            }
            return inserted;
          });
          return result as T;
        };
        return run(tx, conn, commit);
      });
    });
  }

  /**
   * A new profile from a caller's settings: validated, named in the record,
   * and handed to `fn` under its uuid's lock once no profile has that uuid.
   */
  private newConnection<T>(tx: AuditTransaction, input: SettingsInput, unsaved: boolean, fn: (conn: SettingsConnection) => Promise<T>): Promise<T> {
    const settings = validateSettings(input.decode(), { generateUuid: randomUUID });
    refuseUnapplied(settings);
    const uuid = requireString(settings, 'uuid');
    tx.describe({ uuid, name: requireString(settings, 'id'), ...(this.audit.isEnabled ? { after: profileValues(settings, new Map()) } : {}) });
    return this.gate.change(() => this.locks.run([uuid], async () => {
      if (this.byUuid.has(uuid)) {
        throw new NetauditError('UuidExists', `A connection with the uuid ${quote(uuid)} exists already; omit connection.uuid to have one generated.`);
      }
      return fn(new SettingsConnection(++this.lastNumber, settings, new Map(), null, unsaved));
    }));
  }

  /**
   * Writes a new profile to its file and puts it in memory, committed by
   * the record; `then` runs after, under the same record (a kernel change:
   * its failure overturns it).
   */
  private saveNew(tx: AuditTransaction, conn: SettingsConnection, then?: (inserted: SettingsConnection) => Promise<SettingsConnection>): Promise<SettingsConnection> {
    const fileName = this.chooseFileName(conn.id, conn.uuid, null);
    return this.persist(
      tx,
      { write: fileName, content: toKeyfile(conn.settings, conn.extra) },
      () => {
        this.setFileName(conn, fileName);
        return this.insert(conn);
      },
      [fileName],
      then ? { options: { kernelChange: true }, then } : undefined,
    );
  }

  /** Removes a profile whose attempt failed after it was put in place (its record is overturned). */
  private async takeOut(conn: SettingsConnection, tx: number): Promise<void> {
    const fileName = conn.fileName;
    this.removeFromMemory(conn);
    if (fileName === null) return;
    await commitUnrecorded(this.committing, { boot: this.audit.boot, tx, uuid: conn.uuid, remove: fileName }).catch((e: Error) => {
      this.options.log.err(`the profile ${this.options.commit.dir}/${fileName} of a failed attempt could not be removed: ${e.message}`);
    });
  }

  async update(ref: CallerRef, number: number, input: SettingsInput, save: boolean): Promise<void> {
    const sentName = input.sent.name;
    const operation = OPERATIONS[save ? 'Settings.Connection.Update' : 'Settings.Connection.UpdateUnsaved'];
    return this.withConnection(ref, number, { op: operation.op, ...(sentName !== undefined ? { name: sentName } : {}), ...fixedArgs(operation) }, operation, async (tx, conn) => {
      const { settings: validated, holds } = updatedProfile(input.decode(), conn.extra, conn.holds, { generateUuid: () => conn.uuid });
      // An unapplicable value the stored profile holds already (read from its file) may stay; a save may not introduce one.
      const unapplied = unappliedProperty(validated);
      if (unapplied && unappliedProperty(conn.settings)?.message !== unapplied.message) throw unapplied;
      if (requireString(validated, 'uuid') !== conn.uuid) {
        throw new NetauditError('InvalidArgument', `connection.uuid: a connection's uuid cannot change (it is ${quote(conn.uuid)}).`);
      }
      const next = hasSecrets(validated) ? validated : keepSecrets(validated, conn.settings);
      tx.describe({
        uuid: conn.uuid,
        name: requireString(next, 'id'),
        changed: changedKeys(conn.settings, next),
        // The values cost two keyfile renderings: made only when a record will carry them.
        ...(this.audit.isEnabled ? changedValues(profileValues(conn.settings, conn.extra), profileValues(next, conn.extra)) : {}),
      });
      const applyInMemory = (fileName: string | null): void => {
        const renamed = fileName !== conn.fileName;
        conn.settings = next;
        conn.holds = holds;
        this.setFileName(conn, fileName);
        const wasUnsaved = conn.unsaved;
        conn.unsaved = !save;
        this.emit('updated', conn);
        const props: ConnectionProperty[] = [];
        if (renamed) props.push('fileName');
        if (wasUnsaved !== conn.unsaved) props.push('unsaved');
        if (props.length) this.emit('changed', conn, props);
      };
      if (!save) return tx.commit(() => applyInMemory(conn.fileName));
      const fileName = this.chooseFileName(requireString(next, 'id'), conn.uuid, conn.fileName);
      return this.persist(
        tx,
        { write: fileName, content: toKeyfile(next, conn.extra), ...(conn.fileName && conn.fileName !== fileName ? { remove: conn.fileName } : {}) },
        () => applyInMemory(fileName),
        [fileName],
      );
    });
  }

  async save(ref: CallerRef, number: number): Promise<void> {
    const operation = OPERATIONS['Settings.Connection.Save'];
    return this.withConnection(ref, number, { op: operation.op, ...fixedArgs(operation) }, operation, async (tx, conn) => {
      if (!conn.unsaved) return;
      const fileName = this.chooseFileName(conn.id, conn.uuid, conn.fileName);
      return this.persist(
        tx,
        { write: fileName, content: toKeyfile(conn.settings, conn.extra), ...(conn.fileName && conn.fileName !== fileName ? { remove: conn.fileName } : {}) },
        () => {
          const props: ConnectionProperty[] = ['unsaved'];
          if (fileName !== conn.fileName) props.push('fileName');
          this.setFileName(conn, fileName);
          conn.unsaved = false;
          this.emit('changed', conn, props);
        },
        [fileName],
      );
    });
  }

  async delete(ref: CallerRef, number: number): Promise<void> {
    const operation = OPERATIONS['Settings.Connection.Delete'];
    return this.withConnection(ref, number, { op: operation.op }, operation, async (tx, conn) => {
      if (this.audit.isEnabled) tx.describe({ before: profileValues(conn.settings, conn.extra) });
      const remove = () => this.removeFromMemory(conn, tx.snapshot().tx);
      if (conn.fileName === null) return tx.commit(remove);
      return this.persist(tx, { remove: conn.fileName }, remove, []);
    });
  }

  async clearSecrets(ref: CallerRef, number: number): Promise<void> {
    const operation = OPERATIONS['Settings.Connection.ClearSecrets'];
    return this.withConnection(ref, number, { op: operation.op }, operation, async (tx, conn) => {
      const next = clearSecrets(conn.settings);
      const kept = withoutKeptSecrets(conn.extra);
      tx.describe({ changed: [...changedKeys(conn.settings, next), ...kept.removed] });
      const apply = () => {
        conn.settings = next;
        conn.extra = kept.extra;
        this.emit('updated', conn);
      };
      if (conn.fileName === null || conn.unsaved) return tx.commit(apply);
      return this.persist(tx, { write: conn.fileName, content: toKeyfile(next, kept.extra) }, apply, []);
    });
  }

  async getSecrets(ref: CallerRef, number: number, setting: string): Promise<Settings> {
    const operation = OPERATIONS['Settings.Connection.GetSecrets'];
    return this.withConnection(ref, number, { op: operation.op, args: setting }, operation, async (tx, conn) => {
      const secrets = secretsOf(conn.settings, setting);
      // Handed out only once the record of the disclosure is durable.
      return tx.commit(() => secrets);
    });
  }

  /**
   * ReloadConnections: re-reads the profiles directory (op reload,
   * args=connections). The reload gets a tx that the records of the edits
   * it finds carry; if they cannot be made, a `fail` record overturns it.
   */
  async reload(ref: CallerRef): Promise<void> {
    const operation = OPERATIONS['Settings.ReloadConnections'];
    return this.audit.audited(ref, { op: operation.op, ...fixedArgs(operation) }, async (tx) => {
      await authorize(this.options.auth(), tx, operation);
      const txId = tx.commitId();
      return tx.commit(() => this.rescan(txId), { kernelChange: true });
    });
  }

  private require(number: number): SettingsConnection {
    const conn = this.byNumber.get(number);
    if (!conn) throw new NetauditError('UnknownConnection', `The connection object ${number} does not exist (it may have been deleted); list them with ListConnections.`);
    return conn;
  }

  /**
   * An audited operation on an existing connection, authorized for `operation`
   * before the uuid lock is taken (a caller waiting for polkit holds no other
   * caller up); the lock is then held throughout, and the object is looked
   * up again once it is held, since a Delete may have run while this call
   * waited.
   */
  private async withConnection<T>(
    ref: CallerRef,
    number: number,
    context: Parameters<AuditManager['audited']>[1],
    operation: Operation,
    fn: (tx: AuditTransaction, conn: SettingsConnection) => Promise<T>,
  ): Promise<T> {
    const known = this.byNumber.get(number);
    const identity = known ? { uuid: known.uuid, name: known.id } : {};
    return this.audit.audited(ref, { ...identity, ...context }, async (tx) => {
      await authorize(this.options.auth(), tx, operation);
      const first = this.require(number);
      return this.gate.change(() => this.locks.run([first.uuid], async () => fn(tx, this.require(number))));
    });
  }

  /**
   * Commits a change to disk (docs/commit.md): its write-ahead line and its
   * record side by side, then the file put in place and the view changed.
   */
  private async persist<T>(
    tx: AuditTransaction,
    change: { write?: string; content?: string; remove?: string },
    applyInMemory: () => T,
    reserve: readonly string[],
    followUp?: { readonly then: (result: T) => Promise<T>; readonly options: CommitOptions },
  ): Promise<T> {
    const applied = async (): Promise<T> => {
      const result = applyInMemory();
      return followUp ? followUp.then(result) : result;
    };
    for (const name of reserve) this.reservedNames.add(name);
    try {
      const uuid = tx.snapshot().uuid ?? '';
      const result = await commitProfileChange(this.committing, tx, { uuid, ...change }, applied, followUp?.options);
      // The file now holds the daemon's view: what the watch recorded of it before is past.
      this.recordedFiles.forget(uuid);
      return result;
    } catch (e) {
      if (e instanceof NetauditError) throw e;
      throw new NetauditError('Failed', `The profile could not be written to ${this.options.commit.dir}: ${(e as Error).message}.`, 'io-error');
    } finally {
      for (const name of reserve) this.reservedNames.delete(name);
    }
  }

  private chooseFileName(id: string, uuid: string, current: string | null): string {
    const taken = (name: string): boolean => name !== current && (this.reservedNames.has(name) || this.fileNames.has(name));
    return profileFileName(id, uuid, taken);
  }

  private setFileName(conn: SettingsConnection, fileName: string | null): void {
    const inMemory = this.byNumber.get(conn.number) === conn;
    if (inMemory && conn.fileName !== null) this.fileNames.delete(conn.fileName);
    conn.fileName = fileName;
    if (inMemory && fileName !== null) this.fileNames.add(fileName);
  }

  private insert(conn: SettingsConnection): SettingsConnection {
    if (conn.fileName !== null) this.fileNames.add(conn.fileName);
    this.byNumber.set(conn.number, conn);
    this.byUuid.set(conn.uuid, conn);
    this.emit('added', conn);
    return conn;
  }

  private removeFromMemory(conn: SettingsConnection, tx?: number): void {
    if (conn.fileName !== null) this.fileNames.delete(conn.fileName);
    this.byNumber.delete(conn.number);
    this.byUuid.delete(conn.uuid);
    this.emit('removed', conn, tx);
  }

  /** Reads the files, and notes those it could not read (see leftAlone). */
  private async readDisk(reported?: Reported): Promise<DiskProfile[]> {
    const { dir } = this.options.commit;
    const { log } = this.options;
    const { profiles, unreadable } = await readProfiles(await listProfileFiles(dir, log, reported), dir, log, reported);
    this.unreadable = unreadable;
    return profiles;
  }

  /**
   * ReloadConnections, Reload and SIGHUP: each difference between the files
   * and the daemon's view is recorded (external, args=file, the reload's
   * `tx`) before the view takes it up; a trail that refuses a record leaves
   * the view as it was (docs/profile-edits.md).
   */
  async rescan(tx?: number): Promise<void> {
    await this.gate.reload(async () => {
      // The daemon's own changes are made durable in their files first: a recovery never replays them over what is read now.
      await this.options.commit.flush();
      const disk = await this.readDisk();
      const edits = editsSinceHeld(this.lastRecorded(), disk.filter((p) => !this.leftAloneUuid(p.uuid)));
      for (const edit of edits) await this.recordEdit(edit, tx !== undefined ? { tx } : {});
      this.takeUp(disk, tx);
      // What the view took up is the view's again; what it left alone keeps what was recorded of it.
      this.recordedFiles.forgetUnless((uuid, fileName) => this.leftAloneRecorded(uuid, fileName));
    });
  }

  /**
   * Profile files another process created, changed, renamed or removed,
   * seen by the watch (profile-watch.ts; null: any file). Each difference
   * from what was last recorded of them is recorded now (external,
   * args=file, no tx), as a reload would, and only once: with `load` the
   * view takes the files up; without, it stays until a reload, and what was
   * recorded is kept beside it (docs/profile-edits.md). A record the trail
   * refuses is reported, and what it is about stays as it was: the next
   * event or reload finds it again.
   */
  async examine(files: ChangedFiles, load: boolean): Promise<void> {
    const fileNames = files === null ? null : new Set(files.keys());
    await this.gate.reload(async () => {
      const disk = await this.readChanged(fileNames);
      const held = this.lastRecorded();
      const { scope, edits } = editsInFiles(held, disk.filter((p) => !this.leftAloneUuid(p.uuid)), fileNames);
      // As at a reload, the daemon's own changes are made durable in their files before an edit is
      // recorded, so that no recovery replays them over it; most events are the daemon's own, and
      // find no edit (a checkpoint each would hold every change up).
      if (edits.length > 0) await this.options.commit.flush();
      const recorded = new Set<string>();
      try {
        for (const edit of edits) {
          await this.recordEdit(edit, { by: edit.file !== undefined ? files?.get(edit.file) : null });
          recorded.add(edit.uuid);
        }
      } catch (e) {
        this.options.log.warn(`an edit of ${this.options.commit.dir} could not be recorded, and is looked at again at the next change or reload: ${(e as Error).message}`);
      }
      // Taken up (or noted) for what is on record, and the rest of the scope: a rename, no record, leaves the view's file name behind.
      const settled = new Set([...scope].filter((uuid) => recorded.has(uuid) || !edits.some((edit) => edit.uuid === uuid)));
      const inScope = disk.filter((p) => settled.has(p.uuid));
      if (load) {
        this.takeUp(inScope, undefined, settled);
        for (const uuid of settled) this.recordedFiles.forget(uuid);
        return;
      }
      // An edit on record, and a rename (no record, but the file is where the next comparison looks for it).
      for (const uuid of settled) {
        const now = inScope.find((p) => p.uuid === uuid);
        if (!recorded.has(uuid) && (now === undefined || held.get(uuid)?.fileName === now.fileName)) continue;
        this.recordedFiles.note(uuid, now ? { uuid, settings: now.read.settings, extra: now.read.extra, fileName: now.fileName } : null);
      }
    });
  }

  /**
   * The files a watched change names, read alone when that settles it (most
   * changes are one file's, in a directory of many). The whole directory is
   * read, reporting only those files, when events were lost, when a file
   * named cannot be read or could not before, when a profile they held is
   * in none of them now (removed, or renamed to a file not named), and when
   * one of them holds a profile known from another file (a rename, a copy).
   */
  private async readChanged(fileNames: ReadonlySet<string> | null): Promise<DiskProfile[]> {
    if (fileNames === null) return this.readDisk();
    const { dir } = this.options.commit;
    const { log } = this.options;
    const { profiles, unreadable } = await readProfiles(await readProfileFiles(dir, [...fileNames].filter(isProfileFileName).sort(), log), dir, log);
    const held = this.lastRecorded();
    const found = new Set(profiles.map((p) => p.uuid));
    const alone = unreadable.files.size === 0
      && ![...fileNames].some((f) => this.unreadable.files.has(f))
      && [...held.values()].every((h) => !fileNames.has(h.fileName) || found.has(h.uuid))
      && profiles.every((p) => (held.get(p.uuid)?.fileName ?? p.fileName) === p.fileName);
    return alone ? profiles : this.readDisk((fileName) => fileNames.has(fileName));
  }

  /** What the trail last said of each saved profile a reload compares: the view, with the edits recorded since and not taken up. */
  private lastRecorded(): Map<string, HeldProfile> {
    const held = new Map<string, HeldProfile>();
    for (const conn of this.byNumber.values()) {
      if (conn.fileName !== null) held.set(conn.uuid, { uuid: conn.uuid, settings: conn.settings, extra: conn.extra, fileName: conn.fileName });
    }
    const recorded = this.recordedFiles.over(held);
    for (const [uuid, profile] of recorded) if (this.leftAloneRecorded(uuid, profile.fileName)) recorded.delete(uuid);
    return recorded;
  }

  /** A profile left alone (see leftAlone), or one recorded but not loaded whose file cannot be read now. */
  private leftAloneRecorded(uuid: string, fileName: string | null): boolean {
    return this.leftAloneUuid(uuid) || this.unreadable.uuids.has(uuid) || (fileName !== null && this.unreadable.files.has(fileName));
  }

  private async recordEdit(edit: DiskEdit, fields: Parameters<typeof fileEditRecord>[1]): Promise<void> {
    const { origin, context, actor, process } = fileEditRecord(edit, fields);
    await this.audit.recordFound(origin, context, actor, process);
  }

  /**
   * A profile a reload leaves as it is: one with unsaved changes (Save
   * writes them over its file, on record), one whose committed change is
   * not on disk yet (docs/commit.md: it is retried), and one whose file is
   * there but cannot be read now (its edit is no delete).
   */
  private leftAlone(conn: SettingsConnection): boolean {
    if (conn.unsaved || conn.fileName === null || this.options.commit.isUnapplied(conn.uuid)) return true;
    return this.unreadable.files.has(conn.fileName) || this.unreadable.uuids.has(conn.uuid);
  }

  private leftAloneUuid(uuid: string): boolean {
    const conn = this.byUuid.get(uuid);
    return conn !== undefined && this.leftAlone(conn);
  }

  /**
   * Makes memory agree with the files read: new ones are added, changed
   * ones updated, vanished ones removed (with `tx`, the change that found
   * them gone; only those of `scope` when given). Unsaved profiles stay.
   */
  private takeUp(disk: readonly DiskProfile[], tx?: number, scope?: ReadonlySet<string>): void {
    const seen = new Set<string>();
    for (const { fileName, uuid, read } of disk) {
      seen.add(uuid);
      const existing = this.byUuid.get(uuid);
      if (!existing) {
        const conn = new SettingsConnection(++this.lastNumber, read.settings, read.extra, fileName, false);
        conn.holds = read.holds;
        this.insert(conn);
        continue;
      }
      if (this.leftAlone(existing)) continue;
      const changed = changedKeys(existing.settings, read.settings).length > 0;
      const renamed = existing.fileName !== fileName;
      existing.settings = read.settings;
      existing.extra = read.extra;
      existing.holds = read.holds;
      this.setFileName(existing, fileName);
      if (changed) this.emit('updated', existing);
      if (renamed) this.emit('changed', existing, ['fileName']);
    }
    for (const conn of [...this.byNumber.values()]) {
      if (!seen.has(conn.uuid) && (scope === undefined || scope.has(conn.uuid)) && !this.leftAlone(conn)) this.removeFromMemory(conn, tx);
    }
  }
}

function requireString(settings: Settings, prop: 'id' | 'uuid'): string {
  const v = getString(settings, 'connection', prop);
  if (v === undefined) throw new NetauditError('InvalidArgument', `connection.${prop} is missing.`);
  return v;
}


