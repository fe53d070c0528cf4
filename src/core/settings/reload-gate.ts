// ReloadGate: profile changes run side by side, each under its uuid's lock;
// a reload of the profiles directory waits for the changes under way and
// holds new ones until it is done. A reload compares the files with the
// daemon's view (docs/profile-edits.md): a change half done, its file
// written and its view not yet, would read as an edit made on disk.

export class ReloadGate {
  private changes = 0;
  private reloading: Promise<void> | null = null;
  private readonly idle: Array<() => void> = [];

  async change<T>(fn: () => Promise<T>): Promise<T> {
    while (this.reloading) await this.reloading;
    this.changes++;
    try {
      return await fn();
    } finally {
      if (--this.changes === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  async reload<T>(fn: () => Promise<T>): Promise<T> {
    while (this.reloading) await this.reloading;
    let done!: () => void;
    this.reloading = new Promise((resolve) => {
      done = resolve;
    });
    try {
      while (this.changes > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
      return await fn();
    } finally {
      this.reloading = null;
      done();
    }
  }
}
