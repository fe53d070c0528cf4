// ProfileWatch: the profiles directory watched for files another process
// creates, changes, renames or removes, each recorded when it happens
// (docs/profile-edits.md). Events are coalesced per file (QuietWindow), then
// the files are compared with what was last recorded of them (SettingsService
// .examine): an editor's dance of temp files and renames is one change, and
// the daemon's own writes, equal to its view, are none. fanotify names the
// process when the daemon holds CAP_SYS_ADMIN; inotify (fs.watch) otherwise,
// and then no edit is attributed.
import { watch, type FSWatcher } from 'node:fs';
import type { DomainLogger } from '../../log/logger.js';
import { FanotifyDir, holdsSysAdmin } from '../../native/fanotify.js';
import type { Clock } from '../dhcp/clock.js';
import { readProcessView, sameProcess, type ProcessView } from '../process-view.js';
import { isProfileFileName } from './profile-file.js';
import { QuietWindow } from '../quiet-window.js';

/** The files a batch of events is about, each with the process that made them when it is known; null: any file. */
export type ChangedFiles = ReadonlyMap<string, ProcessView | null> | null;

export interface ProfileExaminer {
  examine(files: ChangedFiles, load: boolean): Promise<void>;
}

/** A directory's events: a file name (null: events were lost) and the process, when the source tells it. */
export interface DirEvents {
  readonly attribution: 'fanotify' | 'none';
  close(): void;
}

export type OpenDirEvents = (dir: string, onEvent: (fileName: string | null, actor: ProcessView | null) => void, onError: (reason: string) => void) => DirEvents;

export interface ProfileWatchOptions {
  readonly dir: string;
  readonly settings: ProfileExaminer;
  /** [main] monitor-connection-files: load an edited file at once, not at the next reload */
  readonly load: () => boolean;
  readonly clock: Clock;
  readonly log: DomainLogger;
  readonly open?: OpenDirEvents;
  /** how long a file must be quiet to be compared; default 200 ms */
  readonly quietMs?: number;
  /** how long after its first event a busy file is compared all the same; default 2 s */
  readonly maxMs?: number;
}

export class ProfileWatch {
  private events: DirEvents | null = null;
  private readonly window: QuietWindow<string>;
  /** the process of each file's events so far (null: unknown, or more than one) */
  private readonly actors = new Map<string, ProcessView | null>();
  /** files quiet and waiting to be compared; null when events were lost */
  private ready: Map<string, ProcessView | null> | null = new Map();
  private anyReady = false;
  private running: Promise<void> | null = null;

  constructor(private readonly options: ProfileWatchOptions) {
    this.window = new QuietWindow({
      clock: options.clock,
      quietMs: options.quietMs ?? 200,
      maxMs: options.maxMs ?? 2000,
      ready: (fileName) => this.quiet(fileName),
    });
  }

  get watching(): boolean {
    return this.events !== null;
  }

  /** Starts or stops watching ([audit] watch=profiles); an edit made while not watched is found at the next reload. */
  setWatching(on: boolean): void {
    if (on === this.watching) return;
    if (!on) return this.stop();
    const open = this.options.open ?? openDirEvents(this.options.log);
    try {
      this.events = open(this.options.dir, (fileName, actor) => this.event(fileName, actor), (reason) => {
        this.options.log.warn(`the watch of ${this.options.dir} failed (${reason}); profile edits are found at the next reload`);
        this.stop();
      });
      this.options.log.info(`watching ${this.options.dir} for profile edits (attribution ${this.events.attribution})`);
    } catch (e) {
      this.options.log.warn(`${this.options.dir} cannot be watched (${(e as Error).message}); profile edits are found at the next reload`);
    }
  }

  /** Stops watching; events not yet compared are dropped (a reload finds their edits). */
  stop(): void {
    this.events?.close();
    this.events = null;
    this.window.close();
    this.actors.clear();
  }

  /** Resolves once every file that is quiet has been compared (for tests and stop). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  private event(fileName: string | null, actor: ProcessView | null): void {
    if (fileName === null) {
      this.ready = null;
      this.anyReady = true;
      return this.drain();
    }
    if (!isProfileFileName(fileName)) return;
    this.actors.set(fileName, this.actors.has(fileName) ? sameProcess(this.actors.get(fileName)!, actor) : actor);
    this.window.touch(fileName);
  }

  private quiet(fileName: string): void {
    const actor = this.actors.get(fileName) ?? null;
    this.actors.delete(fileName);
    if (this.ready !== null) this.ready.set(fileName, this.ready.has(fileName) ? sameProcess(this.ready.get(fileName)!, actor) : actor);
    this.anyReady = true;
    this.drain();
  }

  /** Compares the files that are ready, one batch at a time. */
  private drain(): void {
    if (this.running) return;
    this.running = (async () => {
      while (this.anyReady && this.watching) {
        const files = this.ready;
        this.ready = new Map();
        this.anyReady = false;
        await this.options.settings.examine(files, this.options.load()).catch((e: Error) => {
          this.options.log.warn(`profile edits in ${this.options.dir} could not be compared: ${e.message}`);
        });
      }
    })().finally(() => {
      this.running = null;
    });
  }
}

/**
 * fanotify when the daemon holds CAP_SYS_ADMIN (it tells the process), else
 * inotify. The daemon's own events are left out under fanotify: they are its
 * commits (docs/commit.md), and the comparison would find them equal anyway.
 */
function openDirEvents(log: DomainLogger): OpenDirEvents {
  return (dir, onEvent, onError) => {
    if (holdsSysAdmin()) {
      try {
        const fan = new FanotifyDir(dir, (e) => {
          if (e.pid !== process.pid) onEvent(e.fileName, readProcessView(e.pid));
        }, onError);
        return { attribution: 'fanotify', close: () => fan.close() };
      } catch (e) {
        log.warn(`fanotify cannot watch ${dir} (${(e as Error).message}); inotify it is, and edits are not attributed`);
      }
    }
    const watcher: FSWatcher = watch(dir, { persistent: false }, (_type, fileName) => onEvent(fileName ?? null, null));
    watcher.on('error', (e) => onError(e.message));
    return { attribution: 'none', close: () => watcher.close() };
  };
}
