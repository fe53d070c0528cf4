// ResolvConfFile: DNS mode `file` (docs/dns.md). The DNS of the active
// connections is written to run-dir/resolv.conf, atomically and only when
// its content changes; `resolv-conf` (/etc/resolv.conf) is made a symlink to
// it, atomically too. What the path held before (a file's content, a
// symlink's target, or nothing) is kept in state-dir first, and put back
// when no connection gives DNS any more or the daemon stops managing DNS
// this way. A path the daemon may not replace (/etc read-only under the
// unit's ProtectSystem=strict) fails nothing: one warning says what the
// administrator can run, and the file in run-dir is kept up to date.
import { constants } from 'node:fs';
import { lstat, mkdir, open, readFile, readlink, rename, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { DomainLogger } from '../../log/logger.js';
import { syncDir, writeDurably } from '../durable-file.js';
import { NetauditError, quote } from '../errors.js';
import type { DnsBackend } from './dns-manager.js';
import type { LinkDns } from './link-dns.js';
import { emptyResolvConfText, resolvConfText } from './resolv-conf-text.js';

export interface ResolvConfFileOptions {
  /** where resolv.conf is written */
  readonly runDir: string;
  /** where what `path` held before is kept */
  readonly stateDir: string;
  /** the path made a symlink to run-dir/resolv.conf: [main] resolv-conf */
  readonly path: string;
  readonly log: DomainLogger;
}

/** What a path holds, as the daemon found it. */
type Found =
  | { readonly kind: 'ours' }
  | { readonly kind: 'absent' }
  | { readonly kind: 'symlink'; readonly target: string }
  | { readonly kind: 'file'; readonly content: Buffer; readonly mode: number }
  | { readonly kind: 'other' };

/** What the path held before the daemon linked it: state-dir/resolv.conf.orig.json (and the content in resolv.conf.orig). */
interface Saved {
  readonly version: 1;
  readonly path: string;
  readonly kind: 'absent' | 'symlink' | 'file';
  readonly target?: string;
  readonly mode?: number;
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** A refusal to change the path's directory: read-only (ProtectSystem=strict), or not ours to write. */
function isReadOnly(e: unknown): boolean {
  return ['EROFS', 'EACCES', 'EPERM'].includes(errno(e) ?? '');
}

export class ResolvConfFile implements DnsBackend {
  readonly name = 'file';
  /** run-dir/resolv.conf */
  readonly file: string;
  private readonly savedFile: string;
  private readonly savedContent: string;
  /** the warnings given in the current episode, so that each is given once */
  private readonly warned = new Set<string>();

  constructor(private readonly options: ResolvConfFileOptions) {
    this.file = join(options.runDir, 'resolv.conf');
    this.savedFile = join(options.stateDir, 'resolv.conf.orig.json');
    this.savedContent = join(options.stateDir, 'resolv.conf.orig');
  }

  async apply(links: readonly LinkDns[]): Promise<void> {
    const text = resolvConfText(links);
    if (text === null) {
      await this.release();
      return;
    }
    await this.write(text);
    await this.link();
  }

  async close(restore: boolean): Promise<void> {
    // A daemon that stops leaves both: the active connections stay configured and the next daemon adopts them.
    if (!restore) return;
    await this.putBack();
    if (!(await this.pointsHere())) await this.removeFile();
  }

  /**
   * At a start in another mode: what an earlier daemon in mode `file`
   * replaced is put back (it stopped managing DNS this way).
   */
  static async restoreLeftover(options: ResolvConfFileOptions): Promise<void> {
    await new ResolvConfFile(options).close(true);
  }

  /** No connection gives DNS: the path gets back what it held; a symlink made by hand keeps a file that says there is none. */
  private async release(): Promise<void> {
    await this.putBack();
    if (await this.pointsHere()) await this.write(emptyResolvConfText());
    else await this.removeFile();
  }

  private async pointsHere(): Promise<boolean> {
    return (await this.find(this.options.path)).kind === 'ours';
  }

  /** What `path` holds; a symlink to run-dir/resolv.conf, relative or not, is ours. */
  private async find(path: string): Promise<Found> {
    let stat;
    try {
      stat = await lstat(path);
    } catch (e) {
      if (errno(e) === 'ENOENT') return { kind: 'absent' };
      throw e;
    }
    if (stat.isSymbolicLink()) {
      const target = await readlink(path);
      return resolve(dirname(path), target) === this.file ? { kind: 'ours' } : { kind: 'symlink', target };
    }
    if (stat.isFile()) return { kind: 'file', content: await readFile(path), mode: stat.mode & 0o7777 };
    return { kind: 'other' };
  }

  /** Writes run-dir/resolv.conf through a rename, unless it holds `text` already. */
  private async write(text: string): Promise<void> {
    const current = await readFile(this.file, 'utf8').catch((e: unknown) => {
      if (errno(e) === 'ENOENT') return null;
      throw e;
    });
    if (current === text) return;
    const temp = join(this.options.runDir, '.resolv.conf.tmp');
    try {
      await mkdir(this.options.runDir, { recursive: true, mode: 0o755 });
      await unlink(temp).catch(() => undefined);
      const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      try {
        // Every user's resolver reads it, whatever the daemon's umask.
        await handle.chmod(0o644);
        await handle.writeFile(text, 'utf8');
      } finally {
        await handle.close();
      }
      // Not fsynced: run-dir is a tmpfs, and after a crash the DNS is written again from the active connections.
      await rename(temp, this.file);
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw new NetauditError('Failed', `netauditd could not write the DNS of its active connections to ${this.file}: ${(e as Error).message}; check that ${this.options.runDir} is writable.`, 'io-error');
    }
  }

  private async removeFile(): Promise<void> {
    await unlink(this.file).catch(() => undefined);
  }

  /** Makes the path a symlink to run-dir/resolv.conf, keeping what it held first. */
  private async link(): Promise<void> {
    const path = this.options.path;
    const saved = await this.readSaved();
    // resolv-conf= changed since that was kept: the old path gets its own back first.
    if (saved && saved.path !== path) await this.putBack();
    const found = await this.find(path);
    if (found.kind === 'ours') {
      this.warned.clear();
      return;
    }
    if (found.kind === 'other') {
      this.warnOnce('other', `${path} is neither a file nor a symlink, so netauditd leaves it; the DNS of its active connections is in ${this.file}.`);
      return;
    }
    // The symlink is made beside the path and renamed over it, so that the path is never missing.
    const temp = join(dirname(path), `.${basename(path)}.netauditd.tmp`);
    await unlink(temp).catch(() => undefined);
    try {
      await symlink(this.file, temp);
      await this.save(path, found);
      await rename(temp, path);
    } catch (e) {
      // Nothing fails for it: the file in run-dir is up to date, and the next change tries again.
      await unlink(temp).catch(() => undefined);
      if (isReadOnly(e) && !(e instanceof NetauditError)) {
        this.warnOnce(
          'read-only',
          `${path} cannot be replaced (${errno(e)}: ${dirname(path)} is read-only for netauditd; the unit's ProtectSystem=strict makes /etc so). The DNS of the active connections is kept in ${this.file}; to use it, run: ln -sf ${this.file} ${path}`,
        );
      } else {
        const why = e instanceof NetauditError ? e.message : `netauditd could not make ${path} a symlink to ${this.file}: ${(e as Error).message}.`;
        this.warnOnce('link', `${why} The DNS of the active connections is kept in ${this.file}; netauditd tries again at the next DNS change.`);
      }
      return;
    }
    await syncDir(dirname(path)).catch(() => undefined);
    this.warned.clear();
    this.options.log.info(`${path} now links to ${this.file}; what it held before (${describe(found)}) is kept in ${this.options.stateDir} and put back when no connection gives DNS or DNS is no longer managed as a file`);
  }

  /** Keeps what `path` holds (durably: it may be the only copy) before it is replaced. */
  private async save(path: string, found: Exclude<Found, { kind: 'ours' } | { kind: 'other' }>): Promise<void> {
    try {
      await mkdir(this.options.stateDir, { recursive: true, mode: 0o755 });
      if (found.kind === 'file') await writeDurably(this.savedContent, found.content);
      const saved: Saved = {
        version: 1,
        path,
        kind: found.kind,
        ...(found.kind === 'symlink' ? { target: found.target } : {}),
        ...(found.kind === 'file' ? { mode: found.mode } : {}),
      };
      await writeDurably(this.savedFile, `${JSON.stringify(saved)}\n`);
    } catch (e) {
      throw new NetauditError('Failed', `netauditd did not replace ${path}: it could not first keep what it holds in ${this.options.stateDir} (${(e as Error).message}).`, 'io-error');
    }
  }

  private async readSaved(): Promise<Saved | null> {
    let text: string;
    try {
      text = await readFile(this.savedFile, 'utf8');
    } catch (e) {
      if (errno(e) === 'ENOENT') return null;
      throw e;
    }
    let saved: Partial<Saved> | null = null;
    try {
      saved = JSON.parse(text) as Partial<Saved>;
    } catch {
      // reported below
    }
    if (saved?.version !== 1 || typeof saved.path !== 'string' || !['absent', 'symlink', 'file'].includes(saved.kind ?? '')) {
      throw new NetauditError('Failed', `${this.savedFile} is not what netauditd writes there: move it away once ${this.options.path} holds what it should.`);
    }
    return saved as Saved;
  }

  private async dropSaved(): Promise<void> {
    await unlink(this.savedFile).catch(() => undefined);
    await unlink(this.savedContent).catch(() => undefined);
    await syncDir(this.options.stateDir).catch(() => undefined);
  }

  /** Puts back what the path held before the daemon linked it, if it still links here; someone else's change stays. */
  private async putBack(): Promise<void> {
    const saved = await this.readSaved();
    if (!saved) return;
    const found = await this.find(saved.path);
    if (found.kind !== 'ours') {
      this.options.log.info(`${saved.path} no longer links to ${this.file} (it was changed since): it is left as it is`);
      await this.dropSaved();
      return;
    }
    const path = saved.path;
    const dir = dirname(path);
    const temp = join(dir, `.${basename(path)}.netauditd.tmp`);
    try {
      await unlink(temp).catch(() => undefined);
      if (saved.kind === 'absent') {
        await unlink(path);
      } else {
        if (saved.kind === 'symlink') await symlink(saved.target!, temp);
        else await this.writeOriginal(temp, await readFile(this.savedContent), saved.mode ?? 0o644);
        await rename(temp, path);
      }
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      const how = saved.kind === 'absent' ? `rm ${path}` : saved.kind === 'symlink' ? `ln -sfn ${saved.target!} ${path}` : `cp ${this.savedContent} ${path}`;
      this.warnOnce('put-back', `${path} could not be put back as it was before netauditd linked it (${errno(e) ?? (e as Error).message}); netauditd tries again later, or run: ${how}`);
      return;
    }
    await syncDir(dir).catch(() => undefined);
    await this.dropSaved();
    this.warned.clear();
    this.options.log.info(`${path} is back as it was before netauditd linked it (${describe(saved)})`);
  }

  private async writeOriginal(temp: string, content: Buffer, mode: number): Promise<void> {
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    try {
      await handle.chmod(mode);
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  private warnOnce(what: string, text: string): void {
    if (this.warned.has(what)) return;
    this.warned.add(what);
    this.options.log.warn(text);
  }
}

function describe(found: { readonly kind: string; readonly target?: string }): string {
  if (found.kind === 'symlink') return `a symlink to ${quote(found.target ?? '')}`;
  return found.kind === 'file' ? 'a file' : 'nothing';
}
