// A model of the profiles directory's file system for the commit protocol's tests: what was
// written but not synced is lost by a crash (a file's data by its fsync, the directory's entries
// by the directory's), an append cut by a crash may leave part of its line, and any step can be
// made to fail (EIO) or to be where the machine stops.
import { holdsProfile, type ProfileDisk, type Unlink } from '../../../../src/core/commit/profile-disk.js';

interface Inode {
  data: string;
  durable: string;
}

/** One step of an operation, as the protocol's disk would make it. */
export type Step = 'append' | 'datasync' | 'write' | 'rename' | 'unlink' | 'fsync' | 'fsyncdir' | 'create';

/** What happens at a step: it fails with EIO, or the machine stops there (before the step takes effect). */
export type Fault = 'fail' | 'crash';

export class Crashed extends Error {
  constructor() {
    super('the machine stopped');
  }
}

/** Shared by the disk and the trail of one run: counts their steps and stops both at a crash. */
export class Machine {
  steps = 0;
  stopped = false;
  constructor(private readonly plan: (n: number, step: string) => Fault | undefined = () => undefined) {}

  /** Called before each step takes effect: throws for a failure or a crash. */
  step(step: string): void {
    if (this.stopped) throw new Crashed();
    const fault = this.plan(++this.steps, step);
    if (fault === 'crash') {
      this.stopped = true;
      throw new Crashed();
    }
    if (fault === 'fail') throw Object.assign(new Error(`EIO: i/o error (${step})`), { code: 'EIO' });
  }
}

export class FakeDisk implements ProfileDisk {
  readonly dir = '/profiles';
  private files = new Map<string, Inode>();
  private durableDir = new Map<string, Inode>();
  /** appends written but not yet synced when the machine stopped: part of them may be on disk */
  private unsynced = new Map<Inode, string>();

  constructor(readonly machine: Machine) {}

  /** What survives a crash: the durable entries with their durable data (and part of a torn append). */
  crashed(machine: Machine): FakeDisk {
    const disk = new FakeDisk(machine);
    const copies = new Map<Inode, Inode>();
    for (const [name, inode] of this.durableDir) {
      let copy = copies.get(inode);
      if (!copy) {
        const torn = this.unsynced.get(inode);
        const data = inode.durable + (torn !== undefined ? torn.slice(0, Math.ceil(torn.length / 2)) : '');
        copy = { data, durable: data };
        copies.set(inode, copy);
      }
      disk.files.set(name, copy);
      disk.durableDir.set(name, copy);
    }
    return disk;
  }

  private syncDir(): void {
    this.machine.step('fsyncdir');
    this.durableDir = new Map(this.files);
  }

  async append(name: string, text: string): Promise<void> {
    const inode = this.files.get(name);
    if (!inode) throw Object.assign(new Error(`ENOENT: ${name}`), { code: 'ENOENT' });
    const before = inode.data;
    this.machine.step('append');
    inode.data += text;
    this.unsynced.set(inode, text);
    try {
      this.machine.step('datasync');
    } catch (e) {
      // The worker cuts the file back after a failed sync; a crash leaves what it leaves.
      if (!(e instanceof Crashed)) {
        inode.data = before;
        this.unsynced.delete(inode);
      }
      throw e;
    }
    inode.durable = inode.data;
    this.unsynced.delete(inode);
  }

  async install(files: ReadonlyArray<{ readonly name: string; readonly content: string }>, unlinks: ReadonlyArray<Unlink>): Promise<void> {
    for (const f of files) {
      this.machine.step('write');
      const inode: Inode = { data: f.content, durable: '' };
      this.machine.step('rename');
      this.files.set(f.name, inode);
    }
    for (const { name, uuid } of unlinks) {
      const inode = this.files.get(name);
      if (!inode || !holdsProfile(inode.data, uuid)) continue;
      this.machine.step('unlink');
      this.files.delete(name);
    }
  }

  async sync(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const inode = this.files.get(name);
      if (!inode) continue;
      this.machine.step('fsync');
      inode.durable = inode.data;
    }
    this.syncDir();
  }

  async create(name: string, text: string): Promise<void> {
    if (this.files.has(name)) throw Object.assign(new Error(`EEXIST: ${name}`), { code: 'EEXIST' });
    this.machine.step('create');
    this.files.set(name, { data: text, durable: text });
    this.syncDir();
  }

  async remove(names: readonly string[]): Promise<void> {
    for (const name of names) {
      this.machine.step('unlink');
      this.files.delete(name);
    }
    this.syncDir();
  }

  async list(): Promise<string[]> {
    if (this.machine.stopped) throw new Crashed();
    return [...this.files.keys()];
  }

  async read(name: string): Promise<string | null> {
    if (this.machine.stopped) throw new Crashed();
    return this.files.get(name)?.data ?? null;
  }

  async writeDurably(name: string, content: string): Promise<void> {
    this.machine.step('write');
    const inode: Inode = { data: content, durable: '' };
    this.machine.step('fsync');
    inode.durable = content;
    this.machine.step('rename');
    this.files.set(name, inode);
    this.syncDir();
  }

  /** The profile files and their content (write-ahead segments left out). */
  profiles(): Map<string, string> {
    return new Map([...this.files].filter(([n]) => !n.startsWith('.')).map(([n, i]) => [n, i.data]));
  }

  /** The write-ahead segments left. */
  segments(): string[] {
    return [...this.files.keys()].filter((n) => n.startsWith('.netauditd-wal-')).sort();
  }
}
