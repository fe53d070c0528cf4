// ProfileStore: the profiles directory made at start, and the recovery of
// changes an older version of the daemon left as intent files. Changes are
// made through the commit protocol (src/core/commit/, docs/commit.md). An intent file names a change whose temp file was
// written before its record: at start, intents whose record exists are
// rolled forward (only the newest of each profile), the others back.
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { DomainLogger } from '../../log/logger.js';
import { holdsProfile } from '../commit/profile-disk.js';

const INTENT_PREFIX = '.netauditd-';

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

export class ProfileStore {
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

  /** Drops a change that was never committed: its temp file and intent. */
  private async abort(change: PendingChange): Promise<void> {
    for (const path of change.tempPath !== undefined ? [change.tempPath, change.intentPath] : [change.intentPath]) {
      await unlink(path).catch(() => undefined);
    }
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
    return text !== null && holdsProfile(text, uuid);
  }

  private async syncDir(): Promise<void> {
    await fsyncPath(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
  }
}
