// ProfileStore: the profiles directory on disk. Every change goes through an
// intent file so that the trail record is its commit point (docs/commit.md):
//   temp + intent written and fsynced → record appended and fsynced →
//   temp renamed into place (or the old file removed) → reply;
// the intents of applied changes are removed later, in batches, after an
// fsync of the directory has made the renames durable. A committed change
// whose rename fails is retried until it lands or a newer change of the same
// profile supersedes it. At start, intents whose record exists are rolled
// forward (only the newest of each profile), the others back. See
// docs/commit.md.
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { DomainLogger } from '../../log/logger.js';
import { FileJobs } from './file-jobs.js';

const PROFILE_SUFFIX = '.nmconnection';
const INTENT_PREFIX = '.netauditd-';

export interface ProfileFile {
  readonly fileName: string;
  readonly text: string;
  /** its inode's last change (ctime), ms since the epoch */
  readonly changedAt: number;
}

export interface Intent {
  readonly boot: string;
  readonly tx: number;
  /** the connection changed: recovery removes a file only if it still holds this connection */
  readonly uuid: string;
  /** the profile file the temp file becomes */
  readonly write?: string;
  /** a profile file removed by the change (deleted, or renamed away) */
  readonly remove?: string;
}

export interface PendingChange {
  readonly intent: Intent;
  readonly tempPath?: string;
  readonly intentPath: string;
}

async function fsyncPath(path: string, flags: number): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Delays between attempts to apply a committed change whose move failed. */
const RETRY_MS = [1000, 2000, 5000, 10_000, 30_000, 60_000];

export class ProfileStore {
  /** names the temp files of direct writes, which may run side by side */
  private directWrites = 0;
  /** committed changes not on disk yet, by profile uuid, with their retry timer */
  private readonly unapplied = new Map<string, { change: PendingChange; timer: NodeJS.Timeout | null; attempts: number }>();
  private appliedIntents: string[] = [];
  private flushing: Promise<void> | null = null;
  private readonly jobs = new FileJobs();

  constructor(
    readonly dir: string,
    private readonly log: DomainLogger,
  ) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
  }

  private base(boot: string, tx: number): string {
    return join(this.dir, `${INTENT_PREFIX}${boot}-${tx}`);
  }

  /** Writes the new content to a temp file and the intent, fsynced with their directory entries: nothing visible changes yet. */
  async prepare(intent: Intent, content?: string): Promise<PendingChange> {
    const base = this.base(intent.boot, intent.tx);
    const tempPath = content === undefined ? undefined : `${base}.tmp`;
    const intentPath = `${base}.intent`;
    const files = [{ path: intentPath, content: `${JSON.stringify(intent)}\n` }];
    if (tempPath !== undefined && content !== undefined) files.push({ path: tempPath, content });
    await this.jobs.run({ kind: 'write', dir: this.dir, files });
    return { intent, tempPath, intentPath };
  }

  /**
   * Makes a committed change visible. The intent stays until a later fsync
   * of the directory has made this rename durable (see flushIntents).
   */
  async apply(change: PendingChange): Promise<void> {
    const { intent } = change;
    const older = intent.uuid === '' ? undefined : this.unapplied.get(intent.uuid);
    if (older) {
      if (older.timer) clearTimeout(older.timer);
      this.unapplied.delete(intent.uuid);
    }
    try {
      await this.move(change);
    } catch (e) {
      // Committed all the same: kept, retried, and superseding any older one.
      if (intent.uuid !== '') this.retryLater(change, 0);
      if (older) await this.dropSuperseded(older.change);
      throw e;
    }
    // An older committed change of this profile still on disk must go before this intent does, or a
    // recovery would find it alone and put the older content back (docs/commit.md).
    if (older && !(await this.dropSuperseded(older.change))) return;
    this.appliedIntents.push(change.intentPath);
    this.flushIntents();
  }

  private async move(change: PendingChange): Promise<void> {
    const { intent, tempPath } = change;
    await this.jobs.run({
      kind: 'move',
      dir: this.dir,
      renames: tempPath !== undefined && intent.write !== undefined ? [[tempPath, join(this.dir, intent.write)]] : [],
      unlinks: intent.remove !== undefined && intent.remove !== intent.write ? [join(this.dir, intent.remove)] : [],
      syncDir: false,
    });
  }

  /** Removes the temp file and intent of a change a newer one replaced; false when they could not be removed. */
  private async dropSuperseded(change: PendingChange): Promise<boolean> {
    const unlinks = change.tempPath !== undefined ? [change.tempPath, change.intentPath] : [change.intentPath];
    try {
      await this.jobs.run({ kind: 'move', dir: this.dir, renames: [], unlinks, syncDir: true });
      return true;
    } catch (e) {
      this.log.warn(`could not remove the superseded change ${change.intent.boot}-${change.intent.tx}: ${(e as Error).message}; the newer change's intent is kept so that recovery applies the newer one`);
      return false;
    }
  }

  private retryLater(change: PendingChange, attempts: number): void {
    const delay = RETRY_MS[Math.min(attempts, RETRY_MS.length - 1)]!;
    const timer = setTimeout(() => void this.retry(change.intent.uuid), delay);
    timer.unref();
    this.unapplied.set(change.intent.uuid, { change, timer, attempts });
  }

  private async retry(uuid: string): Promise<void> {
    const entry = this.unapplied.get(uuid);
    if (!entry) return;
    entry.timer = null;
    const key = `${entry.change.intent.boot}-${entry.change.intent.tx}`;
    try {
      await this.move(entry.change);
    } catch (e) {
      if (this.unapplied.get(uuid) !== entry) return;
      this.log.warn(`committed change ${key} (${entry.change.intent.write ?? entry.change.intent.remove ?? ''}) still cannot be applied on disk (${(e as Error).message}); trying again`);
      this.retryLater(entry.change, entry.attempts + 1);
      return;
    }
    if (this.unapplied.get(uuid) !== entry) return;
    this.unapplied.delete(uuid);
    this.log.info(`committed change ${key} (${entry.change.intent.write ?? entry.change.intent.remove ?? ''}) is now on disk`);
    this.appliedIntents.push(entry.change.intentPath);
    this.flushIntents();
  }

  /** Committed changes whose files could not be moved into place yet. */
  get unappliedCount(): number {
    return this.unapplied.size;
  }

  private async applyFiles(intent: Intent, tempPath: string | undefined): Promise<void> {
    if (tempPath !== undefined && intent.write !== undefined) {
      await rename(tempPath, join(this.dir, intent.write)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
    if (intent.remove !== undefined && intent.remove !== intent.write) {
      await unlink(join(this.dir, intent.remove)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
  }

  /** Removes the intents of applied changes, one directory fsync for all that are waiting. */
  private flushIntents(): void {
    if (this.flushing) return;
    this.flushing = (async () => {
      while (this.appliedIntents.length > 0) {
        const batch = this.appliedIntents.splice(0);
        try {
          await this.jobs.run({ kind: 'sync-then-unlink', dir: this.dir, unlinks: batch });
        } catch (e) {
          // A stale intent is harmless: recovery finds its record and re-applies nothing twice.
          this.log.warn(`could not clear ${batch.length} applied intent(s): ${(e as Error).message}`);
        }
      }
      this.flushing = null;
    })();
  }

  /** True while a committed change of the profile `uuid` waits to land on disk. */
  isUnapplied(uuid: string): boolean {
    return this.unapplied.has(uuid);
  }

  /** Waits until no applied intent is left, then stops the file workers (at stop). */
  async settle(): Promise<void> {
    // What is still unapplied keeps its intent: the next start rolls it forward.
    for (const entry of this.unapplied.values()) if (entry.timer) clearTimeout(entry.timer);
    this.unapplied.clear();
    while (this.flushing) await this.flushing;
    this.jobs.close();
  }

  /** Drops an uncommitted change. */
  async abort(change: PendingChange): Promise<void> {
    const unlinks = change.tempPath !== undefined ? [change.tempPath, change.intentPath] : [change.intentPath];
    await this.jobs.run({ kind: 'move', dir: this.dir, renames: [], unlinks, syncDir: false }).catch(() => undefined);
  }

  /** Writes a profile directly (no trail to commit through: auditing off or no file backend). */
  async writeDirect(fileName: string, content: string, remove?: string): Promise<void> {
    const temp = join(this.dir, `${INTENT_PREFIX}direct-${process.pid}-${++this.directWrites}.tmp`);
    await this.jobs.run({ kind: 'write', dir: this.dir, files: [{ path: temp, content }] });
    await this.jobs.run({
      kind: 'move',
      dir: this.dir,
      renames: [[temp, join(this.dir, fileName)]],
      unlinks: remove !== undefined && remove !== fileName ? [join(this.dir, remove)] : [],
      syncDir: true,
    });
  }

  async removeDirect(fileName: string): Promise<void> {
    await this.jobs.run({ kind: 'move', dir: this.dir, renames: [], unlinks: [join(this.dir, fileName)], syncDir: true });
  }

  /**
   * Finishes what a previous run left half done. `committed` says which
   * (boot, tx) pairs have a success record in the trail.
   */
  async recover(committed: (intents: readonly Intent[]) => Promise<ReadonlySet<string>>): Promise<void> {
    const names = await readdir(this.dir);
    const intents: PendingChange[] = [];
    for (const name of names) {
      if (!name.startsWith(INTENT_PREFIX)) continue;
      const path = join(this.dir, name);
      if (name.endsWith('.intent')) {
        try {
          const intent = JSON.parse(await readFile(path, 'utf8')) as Intent;
          const base = this.base(intent.boot, intent.tx);
          intents.push({ intent, intentPath: path, tempPath: `${base}.tmp` });
        } catch {
          // An intent is fsynced before its record is written: a torn one was never committed.
          this.log.warn(`removing unreadable intent file ${path}, whose change was never committed`);
          await unlink(path).catch(() => undefined);
        }
      }
    }
    // `done` lists the committed ones in trail order: of several for one profile, only the last is applied.
    const done = await committed(intents.map((p) => p.intent));
    const order = [...done];
    const newest = new Map<string, string>();
    for (const pending of intents) {
      const key = `${pending.intent.boot}-${pending.intent.tx}`;
      if (!done.has(key) || pending.intent.uuid === '') continue;
      const current = newest.get(pending.intent.uuid);
      if (current === undefined || order.indexOf(key) > order.indexOf(current)) newest.set(pending.intent.uuid, key);
    }
    for (const pending of intents) {
      const key = `${pending.intent.boot}-${pending.intent.tx}`;
      if (done.has(key) && pending.intent.uuid !== '' && newest.get(pending.intent.uuid) !== key) {
        this.log.warn(`dropping change ${key} (${pending.intent.write ?? pending.intent.remove ?? ''}): a newer committed change of the same profile replaces it`);
        await this.abort(pending);
        continue;
      }
      if (done.has(key)) {
        this.log.warn(`rolling forward change ${key} (${pending.intent.write ?? pending.intent.remove ?? ''}): its audit record was committed before the daemon stopped`);
        const { intent } = pending;
        // An intent may outlive its change (it is cleared lazily): never remove a file that now holds another connection.
        const removable = intent.remove !== undefined && (await this.holds(intent.remove, intent.uuid));
        await this.applyFiles(removable ? intent : { ...intent, remove: undefined }, pending.tempPath);
        await this.syncDir();
        await unlink(pending.intentPath);
      } else {
        this.log.warn(`rolling back change ${key}: it has no audit record, so no caller was told it succeeded`);
        await this.abort(pending);
      }
    }
    // Temp files without an intent (direct writes, or a crash before the intent) never took effect.
    for (const name of await readdir(this.dir)) {
      if (name.startsWith(INTENT_PREFIX) && name.endsWith('.tmp')) await unlink(join(this.dir, name)).catch(() => undefined);
    }
    await this.syncDir();
  }

  /** True when `fileName` exists and is the profile of connection `uuid`. */
  private async holds(fileName: string, uuid: string): Promise<boolean> {
    const text = await readFile(join(this.dir, fileName), 'utf8').catch(() => null);
    return text !== null && new RegExp(`^uuid=${uuid}$`, 'mi').test(text);
  }

  /** Lists the profile files, refusing those anyone but root could have written (as NetworkManager does). */
  async list(): Promise<ProfileFile[]> {
    const out: ProfileFile[] = [];
    const names = (await readdir(this.dir)).filter((n) => n.endsWith(PROFILE_SUFFIX) && !n.startsWith('.')).sort();
    for (const fileName of names) {
      const path = join(this.dir, fileName);
      try {
        const st = await lstat(path);
        if (!st.isFile()) {
          this.log.warn(`ignoring ${path}: not a regular file`);
          continue;
        }
        if ((st.mode & 0o077) !== 0 || st.uid !== process.getuid?.()) {
          this.log.warn(`ignoring ${path}: it must be owned by uid ${process.getuid?.()} with mode 0600 (it is ${(st.mode & 0o777).toString(8)}, uid ${st.uid})`);
          continue;
        }
        out.push({ fileName, text: await readFile(path, 'utf8'), changedAt: st.ctimeMs });
      } catch (e) {
        this.log.warn(`ignoring ${path}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  private async syncDir(): Promise<void> {
    await fsyncPath(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
  }
}
