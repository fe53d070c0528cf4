// ProfileStore: the profiles directory on disk. Every change goes through an
// intent file so that the trail record is its commit point (SPEC §4):
//   temp + intent written and fsynced → record appended and fsynced →
//   temp renamed into place (or the old file removed) → intent removed.
// At start, intents whose record exists are rolled forward, the others back.
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { DomainLogger } from '../../log/logger.js';

const PROFILE_SUFFIX = '.nmconnection';
const INTENT_PREFIX = '.netauditd-';

export interface ProfileFile {
  readonly fileName: string;
  readonly text: string;
}

export interface Intent {
  readonly boot: string;
  readonly tx: number;
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

  /** Writes the new content to a temp file and the intent, both fsynced: nothing visible changes yet. */
  async prepare(intent: Intent, content?: string): Promise<PendingChange> {
    const base = this.base(intent.boot, intent.tx);
    const tempPath = content === undefined ? undefined : `${base}.tmp`;
    if (tempPath !== undefined && content !== undefined) await this.writeSynced(tempPath, content);
    const intentPath = `${base}.intent`;
    await this.writeSynced(intentPath, `${JSON.stringify(intent)}\n`);
    await this.syncDir();
    return { intent, tempPath, intentPath };
  }

  /** Makes a committed change visible. Safe to repeat (recovery uses it too). */
  async apply(change: PendingChange): Promise<void> {
    const { intent } = change;
    if (change.tempPath !== undefined && intent.write !== undefined) {
      await rename(change.tempPath, join(this.dir, intent.write)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
    if (intent.remove !== undefined && intent.remove !== intent.write) {
      await unlink(join(this.dir, intent.remove)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
    await this.syncDir();
    await unlink(change.intentPath);
  }

  /** Drops an uncommitted change. */
  async abort(change: PendingChange): Promise<void> {
    if (change.tempPath !== undefined) await unlink(change.tempPath).catch(() => undefined);
    await unlink(change.intentPath).catch(() => undefined);
  }

  /** Writes a profile directly (no trail to commit through: auditing off or no file backend). */
  async writeDirect(fileName: string, content: string, remove?: string): Promise<void> {
    const temp = join(this.dir, `${INTENT_PREFIX}direct-${process.pid}-${Date.now()}.tmp`);
    await this.writeSynced(temp, content);
    await rename(temp, join(this.dir, fileName));
    if (remove !== undefined && remove !== fileName) await unlink(join(this.dir, remove)).catch(() => undefined);
    await this.syncDir();
  }

  async removeDirect(fileName: string): Promise<void> {
    await unlink(join(this.dir, fileName)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await this.syncDir();
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
    const done = await committed(intents.map((p) => p.intent));
    for (const pending of intents) {
      const key = `${pending.intent.boot}-${pending.intent.tx}`;
      if (done.has(key)) {
        this.log.warn(`rolling forward change ${key} (${pending.intent.write ?? pending.intent.remove ?? ''}): its audit record was committed before the daemon stopped`);
        await this.apply(pending);
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
        out.push({ fileName, text: await readFile(path, 'utf8') });
      } catch (e) {
        this.log.warn(`ignoring ${path}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  private async writeSynced(path: string, content: string): Promise<void> {
    const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.chmod(0o600);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  private async syncDir(): Promise<void> {
    await fsyncPath(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
  }
}
