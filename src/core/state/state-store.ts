// StateStore: a small piece of daemon state kept in one file (the device
// settings and switches in state-dir, sleep in run-dir), changed only through
// an audited change and committed by its trail record, as a profile is
// (docs/commit.md): the new state is written to a pending file first, the
// record is made, then the pending file is renamed into place. At start a
// pending file whose record is in the trail is rolled forward, any other is
// dropped: a recorded change is never silently undone by a crash.
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DomainLogger } from '../../log/logger.js';
import { renameDurably, writeDurably } from '../durable-file.js';

/** The audited change that committed a state: its daemon start and commit id. */
export interface StateCommit {
  readonly boot: string;
  readonly tx: number;
}

interface StateFileContent<S> extends StateCommit {
  readonly version: 1;
  readonly state: S;
}

export interface StateStoreOptions<S> {
  readonly path: string;
  readonly defaults: S;
  /** checks a state read from the file; throws to have it ignored */
  readonly parse: (value: unknown) => S;
  readonly log: DomainLogger;
  /** which of these changes have their success record in the trail */
  readonly committed: (changes: readonly StateCommit[]) => Promise<ReadonlySet<string>>;
}

export class StateStore<S> {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly options: StateStoreOptions<S>,
    private current: S,
  ) {}

  static async open<S>(options: StateStoreOptions<S>): Promise<StateStore<S>> {
    await mkdir(dirname(options.path), { recursive: true, mode: 0o755 });
    const pendingPath = `${options.path}.pending`;
    const pending = await readState(pendingPath, options);
    if (pending) {
      const key = `${pending.boot}-${pending.tx}`;
      const done = await options.committed([pending]);
      if (done.has(key)) {
        options.log.warn(`rolling forward the state change ${key} in ${options.path}: its audit record was committed before the daemon stopped`);
        await renameDurably(pendingPath, options.path);
      } else {
        options.log.warn(`dropping the state change ${key} in ${pendingPath}: it has no audit record, so no caller was told it succeeded`);
        await unlink(pendingPath);
      }
    }
    const saved = await readState(options.path, options);
    return new StateStore(options, saved ? saved.state : options.defaults);
  }

  get value(): S {
    return this.current;
  }

  /**
   * Changes the state to `mutate(current)` under the audited change `id`:
   * `run` makes the record and then calls `adopt`, which makes the new state
   * current, before it announces the change. The new state is durable in
   * its pending file before `run`, and in place after it; if `run` fails
   * before the record was committed (`committed()` false), the pending file
   * goes and nothing changed.
   */
  update<T>(mutate: (state: S) => S, id: StateCommit, committed: () => boolean, run: (adopt: () => void) => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      const state = mutate(this.current);
      const pendingPath = `${this.options.path}.pending`;
      const content: StateFileContent<S> = { version: 1, boot: id.boot, tx: id.tx, state };
      await writeDurably(pendingPath, `${JSON.stringify(content)}\n`);
      let result: T;
      try {
        result = await run(() => {
          this.current = state;
        });
      } catch (e) {
        if (committed()) await this.settle(state, pendingPath);
        else await unlink(pendingPath).catch(() => undefined);
        throw e;
      }
      await this.settle(state, pendingPath);
      return result;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async settle(state: S, pendingPath: string): Promise<void> {
    this.current = state;
    await renameDurably(pendingPath, this.options.path).catch((e: Error) => {
      // The pending file holds the committed state; the next start rolls it forward.
      this.options.log.err(`the committed state could not be put in place at ${this.options.path} (${e.message}); it stays in ${pendingPath} and is rolled forward at the next start`);
    });
  }
}

async function readState<S>(path: string, options: StateStoreOptions<S>): Promise<StateFileContent<S> | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const value = JSON.parse(text) as Partial<StateFileContent<unknown>>;
    if (value.version !== 1 || typeof value.boot !== 'string' || !Number.isSafeInteger(value.tx)) throw new Error('not a state file of this daemon');
    return { version: 1, boot: value.boot, tx: value.tx!, state: options.parse(value.state) };
  } catch (e) {
    options.log.err(`ignoring ${path}: ${(e as Error).message}; the defaults apply`);
    return null;
  }
}
